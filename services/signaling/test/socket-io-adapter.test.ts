import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { createRedisNamespace, redisUrl } from '@parley/testkit/vitest';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';
import { io as connect, type Socket } from 'socket.io-client';
import { afterAll, afterEach, expect, it } from 'vitest';
import { createLogger } from '../src/logger.ts';
import { createSocketIoRedisAdapter } from '../src/adapters/redis/socket-io-adapter.ts';

const namespace = createRedisNamespace();
const logger = createLogger({ level: 'silent', format: 'json', nodeId: 'test' });
const closers: Array<() => unknown> = [];

// The adapter's own decoder (the same module instance), to count the notes it decodes.
const notepack = createRequire(import.meta.resolve('@socket.io/redis-adapter'))('notepack.io') as { decode: (buffer: Buffer) => unknown };
const decode = notepack.decode;
const isNote = (buffer: Buffer) => buffer.includes('note');
let notesDecoded = 0;
notepack.decode = (buffer) => {
  if (isNote(buffer)) notesDecoded++;
  return decode(buffer);
};

afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});
afterAll(async () => {
  notepack.decode = decode;
  await namespace.cleanup();
});

/** A pod: a Socket.IO server on the shared adapter key, with its own Redis connections. */
async function pod(key: string) {
  const pub = new Redis(redisUrl());
  const sub = new Redis(redisUrl());
  const received = { any: 0, notes: 0 };
  sub.on('pmessageBuffer', (_pattern: Buffer, _channel: Buffer, message: Buffer) => {
    received.any++;
    if (isNote(message)) received.notes++;
  });
  const server = http.createServer();
  const io = new Server(server, { adapter: createSocketIoRedisAdapter({ pub, sub, key, logger }) });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => {
    pub.disconnect();
    sub.disconnect();
  });
  closers.push(() => new Promise((resolve) => io.close(resolve)));
  return { io, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received };
}

it('delivers other pods’ broadcasts and drops its own without decoding them', async () => {
  const key = `${namespace.prefix}socket.io`;
  const [sender, receiver] = [await pod(key), await pod(key)];
  // Each pod has a member of the room: a member on the sender's pod too, as in a chat channel.
  const clients: Socket[] = [];
  for (const { io, url } of [sender, receiver]) {
    io.on('connection', (socket) => void socket.join('room'));
    const client = connect(url, { transports: ['websocket'], forceNew: true });
    closers.push(() => client.close());
    await new Promise<void>((resolve) => client.once('connect', () => resolve()));
    clients.push(client);
  }
  await waitFor(() => sender.io.of('/').adapter.rooms.get('room')?.size === 1 && receiver.io.of('/').adapter.rooms.get('room')?.size === 1);
  const heard: unknown[][] = [[], []];
  clients.forEach((client, index) => client.on('note', (value: unknown) => heard[index]!.push(value)));

  // Both subscriptions are live once a probe came back to each pod.
  await waitFor(() => {
    sender.io.to('room').emit('probe');
    return sender.received.any > 0 && receiver.received.any > 0;
  });
  for (let i = 0; i < 20; i++) sender.io.to('room').emit('note', i);

  await waitFor(() => heard[1]!.length === 20 && sender.received.notes === 20);
  expect(heard).toEqual([Array.from({ length: 20 }, (_, i) => i), Array.from({ length: 20 }, (_, i) => i)]);
  expect(receiver.received.notes).toBe(20);
  // The receiver decoded the 20; the sender, which Redis sent them back to as well, none.
  expect(notesDecoded).toBe(20);
});

async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition did not hold within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
