import type { ParleySocket } from '@parley/client';
import type { Role, ServerToClientEvents } from '@parley/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TestCluster } from './support/test-cluster.ts';
import { nextEvent, registerUser, type TestUser } from './support/users.ts';

const PODS = [0, 1, 2];

let cluster: TestCluster;

beforeAll(async () => {
  cluster = await TestCluster.start({ RATE_LIMIT_CHAT_SEND: '1000/10s' });
});
afterEach(() => cluster.closeSockets());
afterAll(() => cluster?.stop());

interface Scene {
  owner: TestUser;
  member: TestUser;
  serverId: string;
  channelId: string;
  /** The member's socket on each pod, each having sent a message (so every pod holds the member's access). */
  memberOn: ParleySocket[];
}

/** A community the member joined, and a message from the member through every pod. */
async function sceneWithWarmCaches(): Promise<Scene> {
  const owner = await registerUser(cluster.url(0));
  const server = await owner.http.createServer({ name: 'cached access' });
  await owner.http.request('PUT', `/api/servers/${server.id}`, { joinPolicy: 'open' });
  const member = await registerUser(cluster.url(1));
  const memberOn = await Promise.all(PODS.map((pod) => cluster.connect(pod, member)));
  await memberOn[0]!.request('server:join', { serverId: server.id });
  const channelId = server.channels[0]!.id;
  for (const [pod, socket] of memberOn.entries()) {
    await socket.request('chat:send', { conversationId: channelId, text: `warm on pod ${pod}` });
  }
  return { owner, member, serverId: server.id, channelId, memberOn };
}

async function memberRoleOf(scene: Scene): Promise<Role> {
  const { items } = (await scene.owner.http.request('GET', `/api/servers/${scene.serverId}/roles`)) as { items: Role[] };
  return items.find((role) => role.builtin === 'member')!;
}

/**
 * Makes the change, waits until the member's socket on every pod has heard
 * `announcement` (every pod forgets cached access before announcing), then
 * expects a send through every pod to be refused with `code`.
 */
async function expectRefusedEverywhere(
  scene: Scene,
  announcement: keyof ServerToClientEvents,
  change: () => Promise<unknown>,
  code: string,
): Promise<void> {
  const heard = scene.memberOn.map((socket) => nextEvent(socket, announcement, 10_000));
  await change();
  await Promise.all(heard);
  for (const [pod, socket] of scene.memberOn.entries()) {
    await expect(
      socket.request('chat:send', { conversationId: scene.channelId, text: `after the change, pod ${pod}` }),
    ).rejects.toMatchObject({ code });
  }
}

describe('cached channel access across 3 pods', () => {
  it('is dropped on every pod when a channel override takes send_messages away', async () => {
    const scene = await sceneWithWarmCaches();
    const role = await memberRoleOf(scene);
    await expectRefusedEverywhere(
      scene,
      'channel:updated',
      () =>
        scene.owner.http.request('PUT', `/api/servers/${scene.serverId}/channels/${scene.channelId}/overrides/${role.id}`, {
          deny: ['send_messages'],
        }),
      'forbidden',
    );
  });

  it('is dropped on every pod when a role loses send_messages', async () => {
    const scene = await sceneWithWarmCaches();
    const role = await memberRoleOf(scene);
    await expectRefusedEverywhere(
      scene,
      'role:updated',
      () =>
        scene.owner.http.request('PUT', `/api/servers/${scene.serverId}/roles/${role.id}`, {
          permissions: role.permissions.filter((permission) => permission !== 'send_messages'),
        }),
      'forbidden',
    );
  });

  it('is dropped on every pod when the member is banned', async () => {
    const scene = await sceneWithWarmCaches();
    await expectRefusedEverywhere(
      scene,
      'server:removed',
      () => scene.owner.http.request('POST', `/api/servers/${scene.serverId}/bans`, { userId: scene.member.session.id }),
      'not_a_member',
    );
  });

  it('is dropped on every pod when the member is muted, and restored when unmuted', async () => {
    const scene = await sceneWithWarmCaches();
    const memberPath = `/api/servers/${scene.serverId}/members/${scene.member.session.id}`;
    await expectRefusedEverywhere(
      scene,
      'server:member_updated',
      () => scene.owner.http.request('PUT', memberPath, { muted: true }),
      'muted',
    );

    const heard = scene.memberOn.map((socket) => nextEvent(socket, 'server:member_updated', 10_000));
    await scene.owner.http.request('PUT', memberPath, { muted: false });
    await Promise.all(heard);
    for (const socket of scene.memberOn) {
      await expect(socket.request('chat:send', { conversationId: scene.channelId, text: 'unmuted' })).resolves.toMatchObject({
        message: { text: 'unmuted' },
      });
    }
  });
});
