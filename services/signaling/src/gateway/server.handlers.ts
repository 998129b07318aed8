import { serverJoinRequest, serverRefRequest } from '@parley/protocol';
import type { CommunityService } from '../domain/communities/community.service.ts';
import type { MembershipService } from '../domain/communities/membership/membership.service.ts';
import type { RateLimiter } from '../rate-limit/rate-limiter.ts';
import { actorOf, type EventHandler, type EventHandlers } from './event-handler.ts';

export interface ServerLimiters {
  serverJoin: RateLimiter;
  serverLeave: RateLimiter;
  /** `server:details` and `server:info` together. */
  serverRead: RateLimiter;
}

/** The Gryt seed's community events: join, leave, details, info. Each also emits the seed's reply event. */
export function serverHandlers(deps: {
  communities: CommunityService;
  membership: MembershipService;
  limiters: ServerLimiters;
}): EventHandlers {
  const join: EventHandler<'server:join', typeof serverJoinRequest> = {
    schema: serverJoinRequest,
    limiter: deps.limiters.serverJoin,
    async handle(socket, input) {
      const joined = await deps.membership.join(actorOf(socket), input, { ip: socket.data.address });
      socket.emit('server:joined', joined);
      return joined;
    },
    onError(socket, error) {
      socket.emit('server:error', {
        error: error.code,
        message: error.message,
        ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }),
        ...(error.canReapply === undefined ? {} : { canReapply: error.canReapply }),
      });
    },
  };

  const leave: EventHandler<'server:leave', typeof serverRefRequest> = {
    schema: serverRefRequest,
    limiter: deps.limiters.serverLeave,
    async handle(socket, input) {
      await deps.membership.leave(actorOf(socket), deps.communities.resolveServerId(input.serverId));
      return {};
    },
  };

  const details: EventHandler<'server:details', typeof serverRefRequest> = {
    schema: serverRefRequest,
    limiter: deps.limiters.serverRead,
    async handle(socket, input) {
      const result = await deps.membership.details(actorOf(socket), deps.communities.resolveServerId(input.serverId));
      socket.emit('server:details', result);
      return result;
    },
  };

  const info: EventHandler<'server:info', typeof serverRefRequest> = {
    schema: serverRefRequest,
    limiter: deps.limiters.serverRead,
    async handle(socket, input) {
      const preview = await deps.membership.info(deps.communities.resolveServerId(input.serverId));
      socket.emit('server:info', preview);
      return preview;
    },
  };

  return { 'server:join': join, 'server:leave': leave, 'server:details': details, 'server:info': info };
}
