import { chatFetchRequest, chatSendRequest } from '@parley/protocol';
import type { ChatService } from '../domain/chat/chat.service.ts';
import type { Metrics } from '../metrics.ts';
import type { RateLimiter } from '../rate-limit/rate-limiter.ts';
import { rooms } from '../realtime/rooms.ts';
import { actorOf, type EventHandler, type EventHandlers } from './event-handler.ts';

export function chatHandlers(deps: {
  chat: ChatService;
  metrics: Metrics;
  limiters: { chatSend: RateLimiter; chatFetch: RateLimiter };
}): EventHandlers {
  const send: EventHandler<'chat:send', typeof chatSendRequest> = {
    schema: chatSendRequest,
    limiter: deps.limiters.chatSend,
    async handle(socket, input) {
      const { message, created } = await deps.chat.send(actorOf(socket), input);
      if (created) {
        deps.metrics.chatMessagesPersisted.inc();
        // Everyone in the channel on every pod, the sender's other devices included; not this socket.
        socket.to(rooms.channel(message.conversationId)).emit('chat:new', message);
      }
      return { message };
    },
  };

  const fetch: EventHandler<'chat:fetch', typeof chatFetchRequest> = {
    schema: chatFetchRequest,
    limiter: deps.limiters.chatFetch,
    handle: (socket, input) => deps.chat.fetch(actorOf(socket), input),
  };

  return { 'chat:send': send, 'chat:fetch': fetch };
}
