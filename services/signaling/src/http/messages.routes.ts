import { messagesQuery } from '@parley/protocol';
import { Router } from 'express';
import { z } from 'zod';
import type { Authenticator } from '../domain/accounts/authenticator.ts';
import type { ChatService } from '../domain/chat/chat.service.ts';
import { parsePayload } from '../validation.ts';
import { actorOf, requireActor } from './middleware.ts';

const params = z.object({ conversationId: z.uuid({ error: 'must be a UUID' }) });

/** `/api/messages`: history over REST, as in the Gryt seed. Messages are created over Socket.IO only. */
export function messagesRoutes(deps: { authenticator: Authenticator; chat: ChatService }): Router {
  const router = Router();

  router.get('/:conversationId', requireActor(deps.authenticator), async (req, res) => {
    const { conversationId } = parsePayload(params, req.params);
    const query = parsePayload(messagesQuery, req.query);
    res.json(await deps.chat.fetch(actorOf(res), { conversationId, ...query }));
  });

  return router;
}
