import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseKinds, type DatabaseUnderTest } from './support/databases.ts';
import { addMember } from './support/communities.ts';
import { RecordingRealtime } from './support/recording-realtime.ts';
import { AccessCache } from '../src/domain/communities/access/access-cache.ts';
import { ChannelAccess } from '../src/domain/communities/access/channel-access.ts';
import { CommunityService } from '../src/domain/communities/community.service.ts';
import { Store } from '../src/domain/store.ts';

describe.each(databaseKinds)('ChannelAccess with its cache on %s', (_kind, open) => {
  let underTest: DatabaseUnderTest;
  let store: Store;
  let now = new Date('2026-12-05T12:00:00Z');
  let access: ChannelAccess;

  beforeAll(async () => {
    underTest = await open();
    store = new Store(underTest.database.db);
    access = new ChannelAccess({
      store,
      clock: { now: () => now },
      cache: new AccessCache({ ttlMs: 600_000, maxEntries: 100, now: () => now.getTime() }),
    });
  });
  afterAll(() => underTest.close());

  it('compares a cached timed mute with the clock at each check, so it runs out without a signal', async () => {
    const owner = await store.repos.users.create({ username: 'cache_owner', displayName: 'owner', passwordHash: null });
    const member = await store.repos.users.create({ username: 'cache_member', displayName: 'member', passwordHash: null });
    const server = await new CommunityService({ store, realtime: new RecordingRealtime() }).createServer(
      { userId: owner!.id, sessionId: crypto.randomUUID(), username: 'cache_owner', displayName: 'owner', expiresAt: Infinity },
      { name: 'mutes' },
    );
    await addMember(underTest.database, server.id, member!.id);
    await store.repos.members.update(server.id, member!.id, { muted: true, mutedUntil: new Date(now.getTime() + 60_000) });
    const channelId = server.channels[0]!.id;

    await expect(access.requireTextChannel(member!.id, channelId, 'send_messages')).rejects.toMatchObject({ code: 'muted' });
    now = new Date(now.getTime() + 61_000);
    await expect(access.requireTextChannel(member!.id, channelId, 'send_messages')).resolves.toMatchObject({ id: channelId });
  });
});
