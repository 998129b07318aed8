import { type ParleyError, ParleyHttpClient } from '@parley/client';
import { describe, expect, it } from 'vitest';
import { startTestNode } from './support/test-node.ts';
import { registerUser } from './support/users.ts';

// Each test starts a node with the limits it is about.
describe('rate limits', () => {
  it('limits login and register per client IP with 429 and Retry-After', async () => {
    const limited = await startTestNode({ RATE_LIMIT_AUTH: '3/1m' });
    try {
      const http = new ParleyHttpClient(limited.url);
      const attempts = await Promise.allSettled(
        Array.from({ length: 5 }, () => http.login({ username: 'nobody', password: 'whatever1' })),
      );
      const codes = attempts.map((attempt) => (attempt.status === 'rejected' ? (attempt.reason as ParleyError).code : 'ok'));
      expect(codes.filter((code) => code === 'invalid_credentials')).toHaveLength(3);
      expect(codes.filter((code) => code === 'rate_limited')).toHaveLength(2);

      const response = await fetch(`${limited.url}/api/users/login`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: '{"username":"nobody","password":"whatever1"}',
      });
      expect(response.status).toBe(429);
      expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
      const body = (await response.json()) as { error: { retryAfterMs: number } };
      expect(body.error.retryAfterMs).toBeGreaterThan(0);
    } finally {
      await limited.stop();
    }
  });

  it('limits community writes per credential (reads are free) and public discovery per client IP', async () => {
    const limited = await startTestNode({ RATE_LIMIT_COMMUNITY_WRITE: '3/1m', RATE_LIMIT_DISCOVERY: '2/1m' });
    try {
      const { http } = await registerUser(limited.url);
      const { http: other } = await registerUser(limited.url);
      const server = await http.createServer({ name: 'busy' });
      for (let i = 0; i < 2; i++) await http.request('PUT', `/api/servers/${server.id}`, { name: `busy ${i}` });
      await expect(http.request('PUT', `/api/servers/${server.id}`, { name: 'one too many' })).rejects.toMatchObject({
        code: 'rate_limited',
        status: 429,
      });
      await expect(http.request('GET', `/api/servers/${server.id}/roles`)).resolves.toMatchObject({ items: expect.any(Array) });
      // Another account has its own budget.
      await expect(other.createServer({ name: 'mine' })).resolves.toMatchObject({ name: 'mine' });
      const rows = await limited.database.db.selectFrom('servers').select('name').where('id', '=', server.id).executeTakeFirstOrThrow();
      expect(rows.name).toBe('busy 1');

      const anonymous = new ParleyHttpClient(limited.url);
      await anonymous.request('GET', '/api/servers');
      await anonymous.request('GET', '/api/servers/trending');
      await expect(anonymous.request('GET', '/api/servers/search?q=busy')).rejects.toMatchObject({ code: 'rate_limited' });
    } finally {
      await limited.stop();
    }
  });
});
