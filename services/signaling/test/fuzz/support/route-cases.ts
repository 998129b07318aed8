import {
  addDeviceTokenRequest,
  channelOverrideRequest,
  createBanRequest,
  createChannelRequest,
  createInviteRequest,
  createJoinRequestRequest,
  createRoleRequest,
  createServerRequest,
  decideJoinRequestRequest,
  loginRequest,
  registerRequest,
  updateChannelRequest,
  updateMeRequest,
  updateMemberRequest,
  updateRoleRequest,
  updateServerRequest,
} from '@parley/protocol';
import type { z } from 'zod';
import type { Labelled } from './hostile-values.ts';
import type { UploadSample } from './multipart-hostility.ts';
import { TEST_PASSWORD, type RestWorld } from './rest-world.ts';
import { uploadRouteCases } from './upload-route-cases.ts';

/** A valid request: path parameters by name, query, body, and the bearer token (none for public routes). */
export interface RouteSample {
  params?: Record<string, string>;
  query?: Record<string, string>;
  body?: unknown;
  /** The fields and file of a multipart route (which then has no JSON body). */
  upload?: UploadSample;
  token?: string;
}

export interface RouteCase {
  /** The protocol schema of the body, when the route takes one: a body it refuses must be refused. */
  bodySchema?: z.ZodType;
  /** A fresh valid request (destructive routes get a fresh target each time). */
  sample(world: RestWorld): Promise<RouteSample>;
  /**
   * Requests that are well-formed but ask for what the caller may not have
   * (another user's file, an upload already completed, a spent quota): each
   * tried once, then at random in place of the sample.
   */
  situations?: Record<string, (world: RestWorld) => Promise<RouteSample>>;
  /** Query strings tried on this route besides the generic hostile ones. */
  queries?: readonly string[];
  /** Bodies tried on this route besides the mutations of its sample. */
  bodies?: readonly Labelled[];
  /** The route reads or writes object storage: its cases are checked against the bucket too. */
  storage?: boolean;
  /** The route answers with a file's bytes, or a redirect to them: where it leads and the Content-Disposition are checked. */
  download?: boolean;
  /**
   * A refusal may remove the pending upload named by `:fileId`, row and
   * object, as documented (an upload larger than announced, an empty one, an
   * avatar that is not an image); nothing else.
   */
  refusalRemovesTarget?: boolean;
}

const owner = (world: RestWorld) => world.ownerAccount.token;
const inServer = (world: RestWorld, extra: Record<string, string> = {}) => ({ serverId: world.server.id, ...extra });

/**
 * Every route of docs/protocol.md, keyed `METHOD /path/:param` as the
 * document names it; a documented route without a case fails the coverage test.
 */
export const routeCases: Record<string, RouteCase> = {
  'POST /api/users/register': {
    bodySchema: registerRequest,
    sample: async (world) => ({ body: { username: world.unique('reg_'), password: TEST_PASSWORD, displayName: 'Registered' } }),
  },
  'POST /api/users/login': {
    bodySchema: loginRequest,
    sample: async (world) => ({ body: { username: world.ownerAccount.username, password: TEST_PASSWORD } }),
  },
  'POST /api/users/logout': { sample: async (world) => ({ token: await world.freshSession() }) },
  'GET /api/users/me': { sample: async (world) => ({ token: owner(world) }) },
  'PATCH /api/users/me': {
    bodySchema: updateMeRequest,
    sample: async (world) => ({ token: (await world.freshUser()).token, body: { displayName: 'Fuzzed name' } }),
  },
  'GET /api/users/device-tokens': { sample: async (world) => ({ token: owner(world) }) },
  'POST /api/users/device-tokens': {
    bodySchema: addDeviceTokenRequest,
    sample: async (world) => ({ token: (await world.freshUser()).token, body: { platform: 'fcm', token: world.unique('push-') } }),
  },
  'DELETE /api/users/device-tokens/:id': {
    sample: async (world) => {
      const user = await world.freshUser();
      const device = await world.call<{ id: string }>('POST', '/api/users/device-tokens', { platform: 'web', token: world.unique('push-') }, user.token);
      return { token: user.token, params: { id: device.id } };
    },
  },
  'GET /api/users/me/blocks': { sample: async (world) => ({ token: owner(world) }) },
  'PUT /api/users/me/blocks/:userId': {
    sample: async (world) => ({ token: (await world.freshUser()).token, params: { userId: world.member.id } }),
  },
  'DELETE /api/users/me/blocks/:userId': {
    sample: async (world) => {
      const user = await world.freshUser();
      await world.call('PUT', `/api/users/me/blocks/${world.member.id}`, undefined, user.token);
      return { token: user.token, params: { userId: world.member.id } };
    },
  },
  'GET /.well-known/jwks.json': { sample: async () => ({}) },
  'POST /api/servers': {
    bodySchema: createServerRequest,
    sample: async (world) => ({ token: owner(world), body: { name: 'Fuzz made this', description: 'made by the fuzzer' } }),
  },
  'PUT /api/servers/:serverId': {
    bodySchema: updateServerRequest,
    sample: async (world) => ({ token: owner(world), params: inServer(world), body: { name: 'Fuzz community', description: 'renamed', discoverable: true } }),
  },
  'DELETE /api/servers/:serverId': {
    sample: async (world) => {
      const server = await world.call<{ id: string }>('POST', '/api/servers', { name: 'Doomed' });
      return { token: owner(world), params: { serverId: server.id } };
    },
  },
  'GET /api/servers/:serverId/channels': { sample: async (world) => ({ token: owner(world), params: inServer(world) }) },
  'POST /api/servers/:serverId/channels': {
    bodySchema: createChannelRequest,
    sample: async (world) => ({ token: owner(world), params: inServer(world), body: { name: 'fuzz-channel', type: 'text' } }),
  },
  'PUT /api/servers/:serverId/channels/:channelId': {
    bodySchema: updateChannelRequest,
    sample: async (world) => ({
      token: owner(world),
      params: inServer(world, { channelId: world.textChannelId }),
      body: { name: 'general', position: 0 },
    }),
  },
  'DELETE /api/servers/:serverId/channels/:channelId': {
    sample: async (world) => {
      const channel = await world.call<{ id: string }>('POST', `/api/servers/${world.server.id}/channels`, { name: 'doomed', type: 'voice' });
      return { token: owner(world), params: inServer(world, { channelId: channel.id }) };
    },
  },
  'PUT /api/servers/:serverId/channels/:channelId/overrides/:roleId': {
    bodySchema: channelOverrideRequest,
    sample: async (world) => ({
      token: owner(world),
      params: inServer(world, { channelId: world.textChannelId, roleId: world.roleId }),
      body: { allow: ['send_messages'], deny: ['manage_messages'] },
    }),
  },
  'DELETE /api/servers/:serverId/channels/:channelId/overrides/:roleId': {
    sample: async (world) => {
      const path = `/api/servers/${world.server.id}/channels/${world.textChannelId}/overrides/${world.roleId}`;
      await world.call('PUT', path, { allow: ['speak'] });
      return { token: owner(world), params: inServer(world, { channelId: world.textChannelId, roleId: world.roleId }) };
    },
  },
  'GET /api/servers/:serverId/roles': { sample: async (world) => ({ token: owner(world), params: inServer(world) }) },
  'POST /api/servers/:serverId/roles': {
    bodySchema: createRoleRequest,
    sample: async (world) => ({
      token: owner(world),
      params: inServer(world),
      body: { name: world.unique('role '), rank: 20, permissions: ['send_messages'] },
    }),
  },
  'PUT /api/servers/:serverId/roles/:roleId': {
    bodySchema: updateRoleRequest,
    sample: async (world) => ({
      token: owner(world),
      params: inServer(world, { roleId: world.roleId }),
      body: { name: 'Fuzz role', rank: 50, permissions: ['speak'] },
    }),
  },
  'DELETE /api/servers/:serverId/roles/:roleId': {
    sample: async (world) => {
      const role = await world.call<{ id: string }>('POST', `/api/servers/${world.server.id}/roles`, { name: world.unique('doomed '), rank: 5 });
      return { token: owner(world), params: inServer(world, { roleId: role.id }) };
    },
  },
  'GET /api/servers/:serverId/members': { sample: async (world) => ({ token: owner(world), params: inServer(world), query: { limit: '10' } }) },
  'PUT /api/servers/:serverId/members/:userId': {
    bodySchema: updateMemberRequest,
    sample: async (world) => ({ token: owner(world), params: inServer(world, { userId: world.member.id }), body: { nickname: 'Nick', muted: false } }),
  },
  'DELETE /api/servers/:serverId/members/:userId': {
    sample: async (world) => ({ token: owner(world), params: inServer(world, { userId: (await world.freshMember()).id }) }),
  },
  'GET /api/servers/:serverId/bans': { sample: async (world) => ({ token: owner(world), params: inServer(world) }) },
  'POST /api/servers/:serverId/bans': {
    bodySchema: createBanRequest,
    sample: async (world) => ({
      token: owner(world),
      params: inServer(world),
      body: { userId: (await world.freshMember()).id, reason: 'fuzzing', expiresInMs: 60_000, purge: false },
    }),
  },
  'DELETE /api/servers/:serverId/bans/:userId': {
    sample: async (world) => {
      const banned = await world.freshMember();
      await world.call('POST', `/api/servers/${world.server.id}/bans`, { userId: banned.id });
      return { token: owner(world), params: inServer(world, { userId: banned.id }) };
    },
  },
  'GET /api/servers/:serverId/audit-log': { sample: async (world) => ({ token: owner(world), params: inServer(world), query: { limit: '5' } }) },
  'GET /api/servers': { sample: async () => ({ query: { limit: '5' } }) },
  'GET /api/servers/search': { sample: async () => ({ query: { q: 'Fuzz', limit: '5' } }) },
  'GET /api/servers/featured': { sample: async () => ({ query: { limit: '5' } }) },
  'GET /api/servers/trending': { sample: async () => ({ query: { limit: '5' } }) },
  'GET /api/servers/:serverId': { sample: async (world) => ({ params: inServer(world) }) },
  'GET /api/servers/:serverId/invites': { sample: async (world) => ({ token: owner(world), params: inServer(world), query: { limit: '5' } }) },
  'POST /api/servers/:serverId/invites': {
    bodySchema: createInviteRequest,
    sample: async (world) => ({ token: owner(world), params: inServer(world), body: { maxUses: 5, expiresInMs: 3_600_000, note: 'fuzz' } }),
  },
  'DELETE /api/servers/:serverId/invites/:code': {
    sample: async (world) => {
      const invite = await world.call<{ code: string }>('POST', `/api/servers/${world.server.id}/invites`, {});
      return { token: owner(world), params: inServer(world, { code: invite.code }) };
    },
  },
  'POST /api/servers/:serverId/requests': {
    bodySchema: createJoinRequestRequest,
    sample: async (world) => ({
      token: (await world.freshUser()).token,
      params: { serverId: world.requestServerId },
      body: { message: 'please let me in' },
    }),
  },
  'GET /api/servers/:serverId/requests': {
    sample: async (world) => ({ token: owner(world), params: { serverId: world.requestServerId }, query: { status: 'pending' } }),
  },
  'PUT /api/requests/:id': {
    bodySchema: decideJoinRequestRequest,
    sample: async (world) => {
      const requester = await world.freshUser();
      const request = await world.call<{ id: string }>('POST', `/api/servers/${world.requestServerId}/requests`, {}, requester.token);
      return { token: owner(world), params: { id: request.id }, body: { status: 'rejected' } };
    },
  },
  'GET /api/messages/:conversationId': {
    sample: async (world) => ({ token: owner(world), params: { conversationId: world.textChannelId }, query: { limit: '10', before: '100' } }),
  },
  ...uploadRouteCases,
  'GET /health': { sample: async () => ({}) },
  'GET /ready': { sample: async () => ({}) },
  'GET /metrics': { sample: async () => ({}) },
};

export const routeNames = Object.keys(routeCases);

/** `METHOD /path` of every REST endpoint docs/protocol.md documents (`###` and `####` headings, and the discovery table). */
export function documentedRoutes(doc: string): string[] {
  const headings = [...doc.matchAll(/^#{3,4} `((?:GET|POST|PUT|PATCH|DELETE) [^`?]+)(?:\?[^`]*)?`/gm)].map((match) => match[1]!);
  const rows = [...doc.matchAll(/^\| `((?:GET|POST|PUT|PATCH|DELETE) [^`?]+)(?:\?[^`]*)?` \| [^|]*[a-z]/gm)].map((match) => match[1]!);
  return [...new Set([...headings, ...rows])];
}
