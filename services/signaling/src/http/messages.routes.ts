import { messagesQuery } from '@parley/protocol';
import { Router } from 'express';
import type { Authenticator } from '../domain/accounts/authenticator.ts';
import type { ChatService } from '../domain/chat/chat.service.ts';
import { parsePayload } from '../validation.ts';
import { actorOf, requireActor } from './middleware.ts';
import { pathId } from './path-params.ts';

/** `/api/messages`: history over REST, as in the Gryt seed. Messages are created over Socket.IO only. */
export function messagesRoutes(deps: { authenticator: Authenticator; chat: ChatService }): Router {
  const router = Router();

  router.get('/:conversationId', requireActor(deps.authenticator), async (req, res) => {
    const conversationId = pathId(req.params.conversationId, 'channel_not_found');
    const query = parsePayload(messagesQuery, req.query);
    res.json(await deps.chat.fetch(actorOf(res), { conversationId, ...query }));
  });

  return router;
}
