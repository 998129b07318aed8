import type { ServerToClientEvents } from '@parley/protocol';
import { Emitter } from '@socket.io/redis-emitter';
import type { Redis } from 'ioredis';
import type { Realtime } from '../../realtime/realtime.ts';
import { SocketIoRealtime } from './realtime.ts';

/**
 * `Realtime` for processes that hold no sockets (the admin CLI, workers):
 * room operations are published through the Socket.IO Redis adapter's
 * channels, and every pod carries them out on its own sockets.
 */
export function emitterRealtime(redis: Redis, keyPrefix: string): Realtime {
  return new SocketIoRealtime(new Emitter<ServerToClientEvents>(redis, { key: `${keyPrefix}socket.io` }));
}
