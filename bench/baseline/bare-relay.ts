import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';

// The baseline the chat benchmarks measure Parley against: Socket.IO with the
// Redis adapter and nothing else. No authentication, no persistence, no
// validation. A client connects with `auth: { room }` and is put in that room;
// `send` (any payload, optional acknowledgement) is broadcast as `message` to
// the room on every process except the sender, then acknowledged `{ ok: true }`;
// `echo` is only acknowledged `{ ok: true }` (a request's bare round trip).
// Configured by PORT (default 0: any free port), HOST (default 127.0.0.1),
// REDIS_URL and REDIS_KEY_PREFIX; prints {"msg":"listening","port":…} when ready.

const env = process.env;
const redisUrl = env.REDIS_URL;
if (!redisUrl) {
  process.stderr.write('bare-relay: REDIS_URL is required\n');
  process.exit(2);
}
const pub = new Redis(redisUrl);
const sub = pub.duplicate();
const io = new Server({
  serveClient: false,
  adapter: createAdapter(pub, sub, { key: `${env.REDIS_KEY_PREFIX ?? 'bare-relay:'}socket.io` }),
});

io.on('connection', (socket) => {
  const room: unknown = (socket.handshake.auth as { room?: unknown }).room;
  if (typeof room === 'string') void socket.join(room);
  socket.on('send', (payload: unknown, ack?: unknown) => {
    if (typeof room === 'string') socket.to(room).emit('message', payload);
    if (typeof ack === 'function') ack({ ok: true });
  });
  socket.on('echo', (_payload: unknown, ack?: unknown) => {
    if (typeof ack === 'function') ack({ ok: true });
  });
});

const httpServer = createServer();
io.attach(httpServer);
httpServer.listen(Number(env.PORT ?? 0), env.HOST ?? '127.0.0.1', () => {
  const { port } = httpServer.address() as AddressInfo;
  process.stdout.write(`${JSON.stringify({ msg: 'listening', port })}\n`);
});

const stop = () => {
  void io.close().finally(() => {
    pub.disconnect();
    sub.disconnect();
    process.exit(0);
  });
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
