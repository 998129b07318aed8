import type { Database } from '@parley/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseKinds, type DatabaseUnderTest } from './support/databases.ts';
import { addMember } from './support/communities.ts';
import { RecordingRealtime } from './support/recording-realtime.ts';
import type { Actor } from '../src/domain/accounts/actor.ts';
import { ChatService } from '../src/domain/chat/chat.service.ts';
import { ChannelAccess } from '../src/domain/communities/access/channel-access.ts';
import { CommunityService } from '../src/domain/communities/community.service.ts';
import { Store } from '../src/domain/store.ts';
import { systemClock } from '../src/clock.ts';

describe.each(databaseKinds)('ChatService on %s', (_kind, open) => {
  let underTest: DatabaseUnderTest;
  let database: Database;
  let chat: ChatService;
  let communities: CommunityService;
  let store: Store;

  async function createActor(username: string): Promise<Actor> {
    const user = await store.repos.users.create({ username, displayName: username, passwordHash: null });
    return { userId: user!.id, sessionId: crypto.randomUUID(), username, displayName: username, expiresAt: Infinity };
  }

  async function createChannel(owner: Actor, members: Actor[] = []): Promise<string> {
    const server = await communities.createServer(owner, { name: 'test' });
    for (const member of members) await addMember(database, server.id, member.userId);
    return server.channels[0]!.id;
  }

  beforeAll(async () => {
    underTest = await open();
    database = underTest.database;
    store = new Store(database.db);
    communities = new CommunityService({ store, realtime: new RecordingRealtime() });
    chat = new ChatService({ store, access: new ChannelAccess({ store, clock: systemClock }), realtime: new RecordingRealtime() });
  });
  afterAll(() => underTest.close());

  describe('contract', () => {
    it('gives concurrent senders in one channel a gapless seq', async () => {
      const owner = await createActor('seq_owner');
      const others = await Promise.all(Array.from({ length: 9 }, (_, i) => createActor(`seq_${i}`)));
      const channelId = await createChannel(owner, others);
      const senders = [owner, ...others];

      const results = await Promise.all(
        Array.from({ length: 200 }, (_, i) => chat.send(senders[i % senders.length]!, { conversationId: channelId, text: `m${i}` })),
      );
      const seqs = results.map((result) => result.message.seq).sort((a, b) => a - b);
      expect(seqs).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
      const channel = await store.repos.channels.get(channelId);
      expect(channel?.last_seq).toBe(200);
    });

    it('turns concurrent retries of one nonce into one row, and gives back the seqs they took', async () => {
      const author = await createActor('nonce_author');
      const channelId = await createChannel(author);

      const results = await Promise.all(
        Array.from({ length: 20 }, () => chat.send(author, { conversationId: channelId, text: 'once', nonce: 'same-nonce' })),
      );
      const ids = new Set(results.map((result) => result.message.id));
      expect(ids.size).toBe(1);
      expect(results.filter((result) => result.created)).toHaveLength(1);

      const rows = await database.db.selectFrom('messages').selectAll().where('channel_id', '=', channelId).execute();
      expect(rows).toHaveLength(1);
      expect(rows[0]?.seq).toBe(1);
      const next = await chat.send(author, { conversationId: channelId, text: 'next' });
      expect(next.message.seq).toBe(2);
    });

    it('scopes a nonce to its author and channel', async () => {
      const alice = await createActor('scope_alice');
      const bob = await createActor('scope_bob');
      const channelId = await createChannel(alice, [bob]);
      const otherChannelId = await createChannel(alice);

      const fromAlice = await chat.send(alice, { conversationId: channelId, text: 'a', nonce: 'n' });
      const fromBob = await chat.send(bob, { conversationId: channelId, text: 'b', nonce: 'n' });
      const elsewhere = await chat.send(alice, { conversationId: otherChannelId, text: 'c', nonce: 'n' });
      expect([fromAlice.created, fromBob.created, elsewhere.created]).toEqual([true, true, true]);
    });

    it('refuses a non-member and an unknown or voice channel without writing', async () => {
      const owner = await createActor('perm_owner');
      const stranger = await createActor('perm_stranger');
      const channelId = await createChannel(owner);
      const server = await store.repos.channels.get(channelId);
      const voice = await store.repos.channels.create({ serverId: server!.server_id, name: 'voice', type: 'voice', position: 1 });

      await expect(chat.send(stranger, { conversationId: channelId, text: 'hi' })).rejects.toMatchObject({ code: 'not_a_member' });
      await expect(chat.send(owner, { conversationId: voice.id, text: 'hi' })).rejects.toMatchObject({ code: 'channel_not_found' });
      await expect(
        chat.send(owner, { conversationId: '00000000-0000-4000-8000-000000000000', text: 'hi' }),
      ).rejects.toMatchObject({ code: 'channel_not_found' });
      const rows = await database.db.selectFrom('messages').select('id').where('channel_id', 'in', [channelId, voice.id]).execute();
      expect(rows).toEqual([]);
    });
  });
});
