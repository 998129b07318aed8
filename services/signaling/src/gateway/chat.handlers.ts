import {
  chatDeleteRequest,
  chatEditRequest,
  chatFetchRequest,
  chatReactRequest,
  chatResumeRequest,
  chatSendRequest,
  chatTypingRequest,
} from '@parley/protocol';
import type { ChatService } from '../domain/chat/chat.service.ts';
import type { MessageActions } from '../domain/chat/message-actions.service.ts';
import type { Metrics } from '../metrics.ts';
import type { RateLimiter } from '../rate-limit/rate-limiter.ts';
import { rooms } from '../realtime/rooms.ts';
import { actorOf, type EventHandler, type EventHandlers } from './event-handler.ts';

export interface ChatLimiters {
  chatSend: RateLimiter;
  chatFetch: RateLimiter;
  chatEdit: RateLimiter;
  chatDelete: RateLimiter;
  chatReact: RateLimiter;
  chatTyping: RateLimiter;
  chatResume: RateLimiter;
}

/**
 * The chat events. Every broadcast goes to the channel's room on every pod,
 * the actor's other devices included, not back to the acting socket (it has the ack).
 */
export function chatHandlers(deps: {
  chat: ChatService;
  messageActions: MessageActions;
  metrics: Metrics;
  limiters: ChatLimiters;
}): EventHandlers {
  const send: EventHandler<'chat:send', typeof chatSendRequest> = {
    schema: chatSendRequest,
    limiter: deps.limiters.chatSend,
    async handle(socket, input) {
      const { message, created } = await deps.chat.send(actorOf(socket), input);
      if (created) {
        deps.metrics.chatMessagesPersisted.inc();
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

  const edit: EventHandler<'chat:edit', typeof chatEditRequest> = {
    schema: chatEditRequest,
    limiter: deps.limiters.chatEdit,
    async handle(socket, input) {
      const message = await deps.messageActions.edit(actorOf(socket), input);
      // Reactions are the viewer's own view; the broadcast carries none, as chat:new does.
      socket.to(rooms.channel(message.conversationId)).emit('chat:edited', { ...message, reactions: [] });
      return { message };
    },
  };

  const remove: EventHandler<'chat:delete', typeof chatDeleteRequest> = {
    schema: chatDeleteRequest,
    limiter: deps.limiters.chatDelete,
    async handle(socket, input) {
      const deleted = await deps.messageActions.delete(actorOf(socket), input);
      socket.to(rooms.channel(deleted.conversationId)).emit('chat:deleted', deleted);
      return {};
    },
  };

  const react: EventHandler<'chat:react', typeof chatReactRequest> = {
    schema: chatReactRequest,
    limiter: deps.limiters.chatReact,
    async handle(socket, input) {
      const reaction = await deps.messageActions.react(actorOf(socket), input);
      socket.to(rooms.channel(reaction.conversationId)).emit('chat:reaction', reaction);
      return reaction;
    },
  };

  const typing: EventHandler<'chat:typing', typeof chatTypingRequest> = {
    schema: chatTypingRequest,
    limiter: deps.limiters.chatTyping,
    async handle(socket, input) {
      const indicator = await deps.messageActions.typing(actorOf(socket), input.conversationId);
      // Ephemeral, at most once: not to the typist's own devices.
      socket.to(rooms.channel(indicator.conversationId)).except(rooms.user(indicator.userId)).emit('chat:typing', indicator);
      return {};
    },
  };

  const resume: EventHandler<'chat:resume', typeof chatResumeRequest> = {
    schema: chatResumeRequest,
    limiter: deps.limiters.chatResume,
    handle: (socket, input) => deps.chat.resume(actorOf(socket), input.channels),
  };

  return {
    'chat:send': send,
    'chat:fetch': fetch,
    'chat:edit': edit,
    'chat:delete': remove,
    'chat:react': react,
    'chat:typing': typing,
    'chat:resume': resume,
  };
}
