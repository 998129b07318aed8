import { presenceUpdateRequest } from '@parley/protocol';
import type { PresenceService } from '../domain/presence/presence.service.ts';
import type { RateLimiter } from '../rate-limit/rate-limiter.ts';
import type { EventHandler, EventHandlers } from './event-handler.ts';

/** A connection declares online, idle or dnd. */
export function presenceHandlers(deps: { presence: PresenceService; limiters: { presence: RateLimiter } }): EventHandlers {
  const update: EventHandler<'presence:update', typeof presenceUpdateRequest> = {
    schema: presenceUpdateRequest,
    limiter: deps.limiters.presence,
    async handle(socket, input) {
      return { status: await deps.presence.update(socket.data.userId, socket.id, input.status) };
    },
  };
  return { 'presence:update': update };
}
