import net from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestNode, type TestNode } from './support/test-node.ts';
import { registerUser, type TestUser } from './support/users.ts';

// Malformed HTTP is the client's mistake: a 4xx with the error body, logged at warn without a stack, and nothing written.
const lines: Array<Record<string, unknown>> = [];
let node: TestNode;
let owner: TestUser;

beforeAll(async () => {
  node = await startTestNode(
    { RATE_LIMIT_AUTH: '1000/1m', CORS_ALLOWLIST: 'https://app.example' },
    { logLevel: 'info', logDestination: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) } },
  );
  owner = await registerUser(node.url);
});
afterAll(() => node.stop());

async function call(method: string, path: string, init: { body?: string | Buffer; headers?: Record<string, string> } = {}) {
  const response = await fetch(`${node.url}${path}`, {
    method,
    body: init.body,
    headers: { Authorization: `Bearer ${owner.session.token}`, 'Content-Type': 'application/json', ...init.headers },
  });
  return { status: response.status, body: (await response.json()) as { error?: { code: string; message: string } } };
}

/** Log lines at error level or above, or carrying a stack, since `from`. */
const alarming = (from: number) =>
  lines.slice(from).filter((line) => Number(line.level) >= 50 || JSON.stringify(line).includes('"stack"'));

describe('malformed requests answer 4xx, never 500', () => {
  it.each([
    ['a malformed percent-encoding in a path id', 'GET', '/api/servers/%ZZ'],
    ['a truncated percent-encoding', 'GET', '/api/servers/%E0%A4%A/members'],
    ['a malformed percent-encoding under /api/messages', 'GET', '/api/messages/%C0%AF'],
  ])('%s', async (_label, method, path) => {
    const from = lines.length;
    const reply = await call(method, path);
    expect(reply.status).toBe(400);
    expect(reply.body.error?.code).toBe('invalid_payload');
    expect(alarming(from)).toEqual([]);
  });

  it('a body that claims gzip and is not', async () => {
    const from = lines.length;
    const reply = await call('POST', '/api/servers', { body: '{"name":"plain"}', headers: { 'Content-Encoding': 'gzip' } });
    expect(reply).toMatchObject({ status: 400, body: { error: { code: 'invalid_payload' } } });
    expect(alarming(from)).toEqual([]);
  });

  it('a gzip body that is gzip is accepted; an unknown encoding is refused', async () => {
    const gzipped = await call('POST', '/api/servers', { body: gzipSync('{"name":"zipped"}'), headers: { 'Content-Encoding': 'gzip' } });
    expect(gzipped.status).toBe(201);
    const unknown = await call('POST', '/api/servers', { body: '{"name":"x"}', headers: { 'Content-Encoding': 'zstd-ish' } });
    expect(unknown).toMatchObject({ status: 400, body: { error: { code: 'invalid_payload' } } });
  });

  it('a request body cut off half-way is logged at warn, without a stack', async () => {
    const from = lines.length;
    const socket = net.connect(node.node.port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(
      'POST /api/users/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"username":"abc',
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    socket.destroy();
    const deadline = Date.now() + 5000;
    while (!lines.slice(from).some((line) => (line.req as { path?: string } | undefined)?.path === '/api/users/login')) {
      if (Date.now() > deadline) throw new Error('the aborted request was not logged');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const logged = lines.slice(from).find((line) => (line.req as { path?: string } | undefined)?.path === '/api/users/login')!;
    expect(logged.level).toBe(40);
    expect(alarming(from)).toEqual([]);
  });
});

/** Writes raw bytes to the node and resolves with everything it answers until it closes the connection. */
async function rawExchange(bytes: string): Promise<string> {
  const socket = net.connect(node.node.port, '127.0.0.1');
  let answer = '';
  socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.write(bytes);
  await new Promise((resolve) => socket.once('close', resolve));
  return answer;
}

describe('requests Node’s HTTP parser or the body limit refuse', () => {
  it('answers bytes that are not HTTP (left over after a short Content-Length) with the error body, not a bare 400', async () => {
    const answer = await rawExchange(
      'POST /api/users/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}garbage that is not a request\r\n\r\n',
    );
    const replies = answer.split(/(?=HTTP\/1\.1 )/);
    expect(replies.at(-1)).toMatch(/^HTTP\/1\.1 400 /);
    expect(JSON.parse(replies.at(-1)!.split('\r\n\r\n')[1]!)).toMatchObject({ error: { code: 'invalid_payload' } });
  });

  it('refuses a body announced larger than the limit at once, without waiting for it, and closes the connection', async () => {
    const answer = await rawExchange(
      'POST /api/users/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000000000000\r\n\r\n{"a"',
    );
    expect(answer).toMatch(/^HTTP\/1\.1 413 /);
    expect(JSON.parse(answer.split('\r\n\r\n')[1]!)).toMatchObject({ error: { code: 'payload_too_large' } });
  });
});

describe('text is well-formed Unicode without NUL, refused not rewritten', () => {
  it.each([
    ['NUL in a display name', 'PATCH', '/api/users/me', { displayName: 'a\u0000b' }],
    ['a lone surrogate in a display name', 'PATCH', '/api/users/me', { displayName: 'a\ud800b' }],
    ['NUL in a community name', 'POST', '/api/servers', { name: 'x\u0000' }],
    ['a lone surrogate in a community description', 'POST', '/api/servers', { name: 'ok', description: '\udc00' }],
    ['NUL in a search', 'GET', `/api/servers/search?q=${encodeURIComponent('a\u0000')}`, undefined],
  ])('%s', async (_label, method, path, body) => {
    const before = await node.database.db.selectFrom('servers').select('id').execute();
    const reply = await call(method, path, body === undefined ? {} : { body: JSON.stringify(body) });
    expect(reply.status).toBe(400);
    expect(reply.body.error?.code).toBe('invalid_payload');
    expect(await node.database.db.selectFrom('servers').select('id').execute()).toEqual(before);
  });

  it('a lone surrogate in a channel rename changes nothing and writes no audit row', async () => {
    const server = await owner.http.createServer({ name: 'renames' });
    const channelId = server.channels[0]!.id;
    const audit = () => node.database.db.selectFrom('audit_log').select('id').where('server_id', '=', server.id).execute();
    const before = { audit: await audit(), channel: await node.database.db.selectFrom('channels').selectAll().where('id', '=', channelId).execute() };
    const reply = await call('PUT', `/api/servers/${server.id}/channels/${channelId}`, { body: JSON.stringify({ name: 'new\ud83d' }) });
    expect(reply).toMatchObject({ status: 400, body: { error: { code: 'invalid_payload' } } });
    expect({ audit: await audit(), channel: await node.database.db.selectFrom('channels').selectAll().where('id', '=', channelId).execute() }).toEqual(before);
  });

  it('a deeply nested body is refused before its schema runs', async () => {
    const deep = `${'['.repeat(5000)}${']'.repeat(5000)}`;
    const reply = await call('POST', '/api/servers', { body: `{"name":"deep","description":${deep}}` });
    expect(reply).toMatchObject({ status: 400, body: { error: { code: 'invalid_payload' } } });
  });
});

describe('CORS', () => {
  it('refuses a request from a foreign Origin with 403 origin_not_allowed, and does nothing', async () => {
    const before = await node.database.db.selectFrom('servers').select('id').execute();
    const reply = await call('POST', '/api/servers', { body: '{"name":"csrf"}', headers: { Origin: 'https://evil.example' } });
    expect(reply).toMatchObject({ status: 403, body: { error: { code: 'origin_not_allowed' } } });
    expect(await node.database.db.selectFrom('servers').select('id').execute()).toEqual(before);
    const preflight = await fetch(`${node.url}/api/servers`, {
      method: 'OPTIONS',
      headers: { Origin: 'https://evil.example', 'Access-Control-Request-Method': 'POST' },
    });
    expect(preflight.status).toBe(403);
  });

  it('serves an allowed Origin with the CORS headers, and requests without one (native apps)', async () => {
    const allowed = await fetch(`${node.url}/api/users/me`, {
      headers: { Origin: 'https://app.example', Authorization: `Bearer ${owner.session.token}` },
    });
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect((await call('GET', '/api/users/me')).status).toBe(200);
  });
});
