import { createBanRequest, pageQuery, updateMemberRequest } from '@parley/protocol';
import { Router } from 'express';
import { parsePayload } from '../validation.ts';
import type { HttpAppDeps } from './http-deps.ts';
import { actorOf, requireActor } from './middleware.ts';
import { pathId } from './path-params.ts';

/** `/api/servers/:serverId/{members,bans,audit-log}`: moderation. The actor always comes from the token. */
export function membersRoutes(deps: Pick<HttpAppDeps, 'authenticator' | 'moderation'>): Router {
  const router = Router();
  const auth = requireActor(deps.authenticator);
  const { moderation } = deps;

  router.get('/:serverId/members', auth, async (req, res) => {
    const serverId = pathId(req.params.serverId, 'server_not_found');
    const page = parsePayload(pageQuery, req.query);
    res.json(await moderation.listMembers(actorOf(res), serverId, page));
  });

  router.put('/:serverId/members/:userId', auth, async (req, res) => {
    const serverId = pathId(req.params.serverId, 'server_not_found');
    const userId = pathId(req.params.userId, 'member_not_found');
    const input = parsePayload(updateMemberRequest, req.body);
    res.json(await moderation.updateMember(actorOf(res), serverId, userId, input));
  });

  router.delete('/:serverId/members/:userId', auth, async (req, res) => {
    const serverId = pathId(req.params.serverId, 'server_not_found');
    const userId = pathId(req.params.userId, 'member_not_found');
    await moderation.kick(actorOf(res), serverId, userId);
    res.status(204).end();
  });

  router.get('/:serverId/bans', auth, async (req, res) => {
    const serverId = pathId(req.params.serverId, 'server_not_found');
    const page = parsePayload(pageQuery, req.query);
    res.json(await moderation.listBans(actorOf(res), serverId, page));
  });

  router.post('/:serverId/bans', auth, async (req, res) => {
    const serverId = pathId(req.params.serverId, 'server_not_found');
    const input = parsePayload(createBanRequest, req.body);
    res.status(201).json(await moderation.ban(actorOf(res), serverId, input));
  });

  router.delete('/:serverId/bans/:userId', auth, async (req, res) => {
    const serverId = pathId(req.params.serverId, 'server_not_found');
    const userId = pathId(req.params.userId, 'ban_not_found');
    await moderation.unban(actorOf(res), serverId, userId);
    res.status(204).end();
  });

  router.get('/:serverId/audit-log', auth, async (req, res) => {
    const serverId = pathId(req.params.serverId, 'server_not_found');
    const page = parsePayload(pageQuery, req.query);
    res.json(await moderation.listAuditLog(actorOf(res), serverId, page));
  });

  return router;
}
