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

/** The chat events: each parses, delegates to the chat domain (which announces what happened), and answers. */
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
      if (created) deps.metrics.chatMessagesPersisted.inc();
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
      return { message: await deps.messageActions.edit(actorOf(socket), input) };
    },
  };

  const remove: EventHandler<'chat:delete', typeof chatDeleteRequest> = {
    schema: chatDeleteRequest,
    limiter: deps.limiters.chatDelete,
    async handle(socket, input) {
      await deps.messageActions.delete(actorOf(socket), input);
      return {};
    },
  };

  const react: EventHandler<'chat:react', typeof chatReactRequest> = {
    schema: chatReactRequest,
    limiter: deps.limiters.chatReact,
    handle: (socket, input) => deps.messageActions.react(actorOf(socket), input),
  };

  const typing: EventHandler<'chat:typing', typeof chatTypingRequest> = {
    schema: chatTypingRequest,
    limiter: deps.limiters.chatTyping,
    async handle(socket, input) {
      await deps.messageActions.typing(actorOf(socket), input.conversationId);
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
