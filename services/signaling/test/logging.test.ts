import { ParleyHttpClient } from '@parley/client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestNode, type TestNode } from './support/test-node.ts';
import { connect, nextEvent } from './support/users.ts';

// Secrets and message bodies never reach a log line, even at the most verbose level.
const lines: string[] = [];
let node: TestNode;

beforeAll(async () => {
  node = await startTestNode({}, { logLevel: 'trace', logDestination: { write: (line: string) => void lines.push(line) } });
});
afterAll(() => node.stop());

it('logs requests and connections without tokens, passwords or message text', async () => {
  const password = 'hunter2-very-secret';
  const http = new ParleyHttpClient(node.url);
  const session = await http.register({ username: 'logged', password });
  const second = await new ParleyHttpClient(node.url).login({ username: 'logged', password });
  await new ParleyHttpClient(node.url).login({ username: 'logged', password: `${password}-wrong` }).catch(() => undefined);
  const { channels } = await http.createServer({ name: 'logs' });
  await fetch(`${node.url}/api/servers`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${'e'.repeat(64)}`, 'Content-Type': 'application/json' },
    body: '{"name":"x"}',
  });
  const user = { session, http };
  const sender = await connect(node.url, user);
  const receiver = await connect(node.url, { session: second, http });
  const arrival = nextEvent(receiver, 'chat:new');
  await sender.request('chat:send', { conversationId: channels[0]!.id, text: 'the secret plan' });
  await arrival;
  await connect(node.url, { session: { ...session, token: 'f'.repeat(64) }, http }).catch(() => undefined);
  sender.close();
  receiver.close();

  const log = lines.join('');
  expect(lines.length).toBeGreaterThan(5);
  expect(log).toContain('request completed');
  expect(log).toMatch(/"reqId"|"req":\{"id"/);
  for (const secret of [password, session.token, second.token, 'e'.repeat(64), 'f'.repeat(64), 'the secret plan']) {
    expect(log).not.toContain(secret);
  }
});
