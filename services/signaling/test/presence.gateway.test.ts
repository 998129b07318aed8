import type { ParleySocket } from '@parley/client';
import type { MemberPage, PresenceStatus } from '@parley/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { addMember } from './support/communities.ts';
import { startTestNode, type TestNode } from './support/test-node.ts';
import { eventually, failureOf, OpenSockets, registerUser, type TestUser } from './support/users.ts';

let node: TestNode;
const sockets = new OpenSockets();

beforeAll(async () => {
  node = await startTestNode({ RATE_LIMIT_PRESENCE: '10/1m' });
});
afterEach(() => sockets.closeAll());
afterAll(() => node?.stop());

function online(user: TestUser, clientInstanceId?: string): Promise<ParleySocket> {
  return sockets.connect(node.url, user, clientInstanceId);
}

/** A watcher in a community with `subject`, recording every presence change of the subject it hears. */
async function watch(subject: TestUser): Promise<{ owner: TestUser; watcher: ParleySocket; serverId: string; heard: PresenceStatus[] }> {
  const owner = await registerUser(node.url);
  const server = await owner.http.createServer({ name: 'presence' });
  await addMember(node.database, server.id, subject.session.id);
  const watcher = await online(owner);
  const heard: PresenceStatus[] = [];
  watcher.on('presence:updated', (event) => {
    if (event.userId === subject.session.id) heard.push(event.status);
  });
  return { owner, watcher, serverId: server.id, heard };
}

describe('presence', () => {
  it('is per person: coming online and going offline are announced once, however many devices', async () => {
    const subject = await registerUser(node.url);
    const { watcher, serverId, heard } = await watch(subject);

    const laptop = await online(subject, 'laptop');
    await eventually(() => heard.length === 1, 5000, 'online announced');
    const phone = await online(subject, 'phone');
    const details = await watcher.request('server:details', { serverId });
    expect(details.presence[subject.session.id]).toBe('online');

    laptop.close();
    phone.close();
    await eventually(() => heard.length === 2, 5000, 'offline announced');
    expect(heard).toEqual(['online', 'offline']);
    expect((await watcher.request('server:details', { serverId })).presence[subject.session.id]).toBe('offline');
  });

  it('is listed with each page of members (how large communities read it)', async () => {
    const subject = await registerUser(node.url);
    const { owner, serverId, heard } = await watch(subject);
    const page = () => owner.http.request<MemberPage>('GET', `/api/servers/${serverId}/members`);
    expect((await page()).presence).toEqual({ [owner.session.id]: 'online', [subject.session.id]: 'offline' });
    const socket = await online(subject);
    await socket.request('presence:update', { status: 'dnd' });
    await eventually(() => heard.at(-1) === 'dnd');
    expect((await page()).presence[subject.session.id]).toBe('dnd');
  });

  it('aggregates the devices’ statuses: dnd over online over idle', async () => {
    const subject = await registerUser(node.url);
    const { heard } = await watch(subject);
    const laptop = await online(subject, 'laptop');
    const phone = await online(subject, 'phone');
    await eventually(() => heard.length === 1);

    expect(await laptop.request('presence:update', { status: 'idle' })).toEqual({ status: 'online' });
    expect(await phone.request('presence:update', { status: 'idle' })).toEqual({ status: 'idle' });
    expect(await laptop.request('presence:update', { status: 'dnd' })).toEqual({ status: 'dnd' });
    expect(await phone.request('presence:update', { status: 'online' })).toEqual({ status: 'dnd' });
    laptop.close();
    await eventually(() => heard.length === 4, 5000, 'back to online');
    expect(heard).toEqual(['online', 'idle', 'dnd', 'online']);
  });

  it('refuses unknown statuses and malformed payloads, and rate limits floods, changing nothing', async () => {
    const subject = await registerUser(node.url);
    const { watcher, serverId } = await watch(subject);
    const socket = await online(subject);
    for (const bad of [{ status: 'offline' }, { status: 'invisible' }, {}, null, 'idle', { status: 1 }]) {
      expect((await failureOf(socket.request('presence:update', bad as never))).code).toBe('invalid_payload');
    }
    expect((await watcher.request('server:details', { serverId })).presence[subject.session.id]).toBe('online');
    // The limiter counts every event, the malformed ones above included: 4 of these pass.
    const results = await Promise.allSettled(Array.from({ length: 15 }, () => socket.request('presence:update', { status: 'idle' })));
    const refused = results.filter((result) => result.status === 'rejected').map((result) => (result as PromiseRejectedResult).reason.code);
    expect(refused).toEqual(Array.from({ length: 11 }, () => 'rate_limited'));
  });
});
