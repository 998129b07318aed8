import {
  channelOverrideRequest,
  createChannelRequest,
  createRoleRequest,
  updateChannelRequest,
  updateRoleRequest,
  updateServerRequest,
} from '@parley/protocol';
import { Router, type Request } from 'express';
import { parsePayload } from '../validation.ts';
import type { HttpAppDeps } from './http-deps.ts';
import { actorOf, requireActor } from './middleware.ts';
import { pathId } from './path-params.ts';

const serverIdOf = (req: Request) => pathId(req.params.serverId, 'server_not_found');
const channelIdOf = (req: Request) => pathId(req.params.channelId, 'channel_not_found');
const roleIdOf = (req: Request) => pathId(req.params.roleId, 'role_not_found');

/** `/api/servers/:serverId`: a community's settings, channels (with their overrides) and roles. */
export function serverAdminRoutes(deps: HttpAppDeps): Router {
  const router = Router();
  const auth = requireActor(deps.authenticator);

  router.put('/:serverId', auth, async (req, res) => {
    const serverId = serverIdOf(req);
    const input = parsePayload(updateServerRequest, req.body);
    res.json(await deps.serverSettings.update(actorOf(res), serverId, input));
  });

  router.delete('/:serverId', auth, async (req, res) => {
    await deps.serverSettings.delete(actorOf(res), serverIdOf(req));
    res.status(204).end();
  });

  router.get('/:serverId/channels', auth, async (req, res) => {
    res.json({ items: await deps.channelAdmin.list(actorOf(res), serverIdOf(req)) });
  });

  router.post('/:serverId/channels', auth, async (req, res) => {
    const serverId = serverIdOf(req);
    const input = parsePayload(createChannelRequest, req.body);
    res.status(201).json(await deps.channelAdmin.create(actorOf(res), serverId, input));
  });

  router.put('/:serverId/channels/:channelId', auth, async (req, res) => {
    const [serverId, channelId] = [serverIdOf(req), channelIdOf(req)];
    const input = parsePayload(updateChannelRequest, req.body);
    res.json(await deps.channelAdmin.update(actorOf(res), serverId, channelId, input));
  });

  router.delete('/:serverId/channels/:channelId', auth, async (req, res) => {
    await deps.channelAdmin.delete(actorOf(res), serverIdOf(req), channelIdOf(req));
    res.status(204).end();
  });

  router.put('/:serverId/channels/:channelId/overrides/:roleId', auth, async (req, res) => {
    const [serverId, channelId, roleId] = [serverIdOf(req), channelIdOf(req), roleIdOf(req)];
    const input = parsePayload(channelOverrideRequest, req.body);
    res.json(await deps.channelAdmin.setOverride(actorOf(res), serverId, channelId, roleId, input));
  });

  router.delete('/:serverId/channels/:channelId/overrides/:roleId', auth, async (req, res) => {
    await deps.channelAdmin.deleteOverride(actorOf(res), serverIdOf(req), channelIdOf(req), roleIdOf(req));
    res.status(204).end();
  });

  router.get('/:serverId/roles', auth, async (req, res) => {
    res.json({ items: await deps.roles.list(actorOf(res), serverIdOf(req)) });
  });

  router.post('/:serverId/roles', auth, async (req, res) => {
    const serverId = serverIdOf(req);
    const input = parsePayload(createRoleRequest, req.body);
    res.status(201).json(await deps.roles.create(actorOf(res), serverId, input));
  });

  router.put('/:serverId/roles/:roleId', auth, async (req, res) => {
    const [serverId, roleId] = [serverIdOf(req), roleIdOf(req)];
    const input = parsePayload(updateRoleRequest, req.body);
    res.json(await deps.roles.update(actorOf(res), serverId, roleId, input));
  });

  router.delete('/:serverId/roles/:roleId', auth, async (req, res) => {
    await deps.roles.delete(actorOf(res), serverIdOf(req), roleIdOf(req));
    res.status(204).end();
  });

  return router;
}
