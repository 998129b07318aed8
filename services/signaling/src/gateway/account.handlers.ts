import { accountSyncRequest } from '@parley/protocol';
import type { RateLimiter } from '../rate-limit/rate-limiter.ts';
import { rooms } from '../realtime/rooms.ts';
import type { EventHandler, EventHandlers } from './event-handler.ts';

/** Events that keep one account's devices in step. */
export function accountHandlers(deps: { limiters: { accountSync: RateLimiter } }): EventHandlers {
  const accountSync: EventHandler<'account_sync', typeof accountSyncRequest> = {
    schema: accountSyncRequest,
    limiter: deps.limiters.accountSync,
    async handle(socket, input) {
      const { userId, clientInstanceId } = socket.data;
      // Every other connection of this user on every pod; never another user's.
      socket.to(rooms.user(userId)).emit('account_sync', { clientInstanceId, payload: input.payload, fromUserId: userId });
      return {};
    },
  };
  return { account_sync: accountSync };
}
