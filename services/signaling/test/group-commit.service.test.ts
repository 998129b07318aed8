import { isTransientDatabaseError, type Database } from '@parley/db';
import { sql } from 'kysely';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseKinds, type DatabaseUnderTest } from './support/databases.ts';
import { addMember } from './support/communities.ts';
import { RecordingRealtime } from './support/recording-realtime.ts';
import type { Actor } from '../src/domain/accounts/actor.ts';
import { ChatService } from '../src/domain/chat/chat.service.ts';
import { AccessCache } from '../src/domain/communities/access/access-cache.ts';
import { ChannelAccess } from '../src/domain/communities/access/channel-access.ts';
import { CommunityService } from '../src/domain/communities/community.service.ts';
import { Store } from '../src/domain/store.ts';
import { reportError } from '../src/errors.ts';
import { systemClock } from '../src/clock.ts';

/**
 * Group commit through the chat service, on both databases. With the access
 * cache warm, sends made in one turn of the event loop reach the batcher in
 * that turn, so they are written as one batch; batch boundaries must not be
 * visible in what the senders get back or in what is stored.
 */
describe.each(databaseKinds)('chat group commit on %s', (kind, open) => {
  let underTest: DatabaseUnderTest;
  let database: Database;
  let store: Store;
  let communities: CommunityService;
  let access: ChannelAccess;
  let chat: ChatService;
  const batchSizes: number[] = [];

  async function createActor(username: string): Promise<Actor> {
    const user = await store.repos.users.create({ username, displayName: username, passwordHash: null });
    return { userId: user!.id, sessionId: crypto.randomUUID(), username, displayName: username, expiresAt: Infinity };
  }

  /** A community with one text channel, its owner and members; each has sent one message, so their access is cached. */
  async function warmChannel(owner: Actor, members: Actor[] = []): Promise<{ serverId: string; channelId: string }> {
    const server = await communities.createServer(owner, { name: 'batch' });
    for (const member of members) await addMember(database, server.id, member.userId);
    const channelId = server.channels[0]!.id;
    for (const actor of [owner, ...members]) await chat.send(actor, { conversationId: channelId, text: 'warm' });
    return { serverId: server.id, channelId };
  }

  async function storedSeqs(channelId: string): Promise<number[]> {
    const rows = await database.db.selectFrom('messages').select('seq').where('channel_id', '=', channelId).orderBy('seq').execute();
    return rows.map((row) => row.seq);
  }

  async function lastSeq(channelId: string): Promise<number> {
    return (await store.repos.channels.get(channelId))!.last_seq;
  }

  beforeAll(async () => {
    underTest = await open();
    database = underTest.database;
    store = new Store(database.db);
    communities = new CommunityService({ store, realtime: new RecordingRealtime() });
    access = new ChannelAccess({ store, clock: systemClock, cache: new AccessCache({ ttlMs: 600_000, maxEntries: 10_000 }) });
    chat = new ChatService({ store, access, realtime: new RecordingRealtime(), onCommitBatch: (size) => batchSizes.push(size) });
  });
  afterAll(() => underTest.close());

  it('answers a nonce already stored with the stored message, and gives the new ones the next seqs', async () => {
    const author = await createActor('dup_author');
    const { channelId } = await warmChannel(author);
    const first = await chat.send(author, { conversationId: channelId, text: 'first', nonce: 'n-1' });

    batchSizes.length = 0;
    const [before, retry, after] = await Promise.all([
      chat.send(author, { conversationId: channelId, text: 'before', nonce: 'n-2' }),
      chat.send(author, { conversationId: channelId, text: 'first, again', nonce: 'n-1' }),
      chat.send(author, { conversationId: channelId, text: 'after', nonce: 'n-3' }),
    ]);

    expect(batchSizes).toEqual([3]);
    expect(retry).toMatchObject({ created: false, message: { id: first.message.id, seq: first.message.seq, text: 'first' } });
    expect([before.created, after.created]).toEqual([true, true]);
    expect([before.message.seq, after.message.seq]).toEqual([first.message.seq + 1, first.message.seq + 2]);
    expect(await storedSeqs(channelId)).toEqual([1, 2, 3, 4]);
    expect(await lastSeq(channelId)).toBe(4);
  });

  it('stores a nonce repeated within one batch once, and answers both sends with it', async () => {
    const author = await createActor('repeat_author');
    const { channelId } = await warmChannel(author);

    batchSizes.length = 0;
    const [one, other, repeat] = await Promise.all([
      chat.send(author, { conversationId: channelId, text: 'once', nonce: 'same' }),
      chat.send(author, { conversationId: channelId, text: 'other', nonce: 'other' }),
      chat.send(author, { conversationId: channelId, text: 'once, again', nonce: 'same' }),
    ]);

    expect(batchSizes).toEqual([3]);
    expect(one.created).toBe(true);
    expect(repeat).toMatchObject({ created: false, message: { id: one.message.id, seq: one.message.seq } });
    expect([one.message.seq, other.message.seq]).toEqual([2, 3]);
    expect(await storedSeqs(channelId)).toEqual([1, 2, 3]);
  });

  it('writes one batch across several channels, each with its own gapless seqs in send order', async () => {
    const author = await createActor('span_author');
    const channels = [await warmChannel(author), await warmChannel(author), await warmChannel(author)];

    batchSizes.length = 0;
    const sends = Array.from({ length: 12 }, (_, index) => ({ channelId: channels[index % 3]!.channelId, text: `m${index}` }));
    const results = await Promise.all(sends.map((send) => chat.send(author, { conversationId: send.channelId, text: send.text })));

    expect(batchSizes).toEqual([12]);
    for (const { channelId } of channels) {
      const mine = results.filter((result) => result.message.conversationId === channelId);
      expect(mine.map((result) => result.message.seq)).toEqual([2, 3, 4, 5]);
      expect(await storedSeqs(channelId)).toEqual([1, 2, 3, 4, 5]);
      expect(await lastSeq(channelId)).toBe(5);
    }
  });

  it('answers a message whose channel was deleted while it waited with channel_not_found, and writes the others', async () => {
    const author = await createActor('gone_author');
    const kept = await warmChannel(author);
    const gone = await warmChannel(author);
    await database.db.deleteFrom('channels').where('id', '=', gone.channelId).execute();

    const [toGone, toKept] = await Promise.allSettled([
      chat.send(author, { conversationId: gone.channelId, text: 'into the void' }),
      chat.send(author, { conversationId: kept.channelId, text: 'kept' }),
    ]);
    expect(toGone).toMatchObject({ status: 'rejected', reason: { code: 'channel_not_found' } });
    expect(toKept).toMatchObject({ status: 'fulfilled', value: { created: true, message: { seq: 2 } } });
  });

  it('keeps seqs gapless and nonces unique when two pods batch into the same channels at once', async () => {
    const secondPod = new ChatService({ store, access, realtime: new RecordingRealtime() });
    const authors = await Promise.all(Array.from({ length: 4 }, (_, index) => createActor(`pods_${index}`)));
    const [owner, ...members] = authors;
    const channels = [await warmChannel(owner!, members), await warmChannel(owner!, members)];

    const sends = Array.from({ length: 160 }, (_, index) => {
      const pod = index % 2 === 0 ? chat : secondPod;
      const author = authors[index % authors.length]!;
      // Every message is sent twice with its nonce, once through each pod.
      const nonce = `n-${Math.floor(index / 2)}`;
      return { pod, author, channelId: channels[Math.floor(index / 2) % 2]!.channelId, nonce };
    });
    const results = await Promise.all(
      sends.map(({ pod, author, channelId, nonce }) => pod.send(author, { conversationId: channelId, text: nonce, nonce })),
    );

    for (const { channelId } of channels) {
      const stored = await storedSeqs(channelId);
      expect(stored).toEqual(Array.from({ length: stored.length }, (_, index) => index + 1));
      expect(await lastSeq(channelId)).toBe(stored.length);
    }
    const created = results.filter((result) => result.created);
    expect(new Set(created.map((result) => result.message.id)).size).toBe(created.length);
  });

  it('isolates a message the database refuses at commit: the rest of its batch is written, without a gap', async () => {
    await sql`
      create or replace function refuse_poison() returns trigger language plpgsql as $$
      begin
        if new.text = 'poison' then raise exception 'poison refused at commit'; end if;
        return null;
      end $$`.execute(database.db);
    await sql`
      create constraint trigger refuse_poison after insert on messages
      deferrable initially deferred for each row execute function refuse_poison()`.execute(database.db);
    try {
      const author = await createActor('poison_author');
      const { channelId } = await warmChannel(author);

      batchSizes.length = 0;
      const [before, poison, after] = await Promise.allSettled([
        chat.send(author, { conversationId: channelId, text: 'before', nonce: 'p-1' }),
        chat.send(author, { conversationId: channelId, text: 'poison', nonce: 'p-2' }),
        chat.send(author, { conversationId: channelId, text: 'after', nonce: 'p-3' }),
      ]);

      // The batch of three failed as a whole, then each was written alone.
      expect(batchSizes).toEqual([3]);
      expect(poison).toMatchObject({ status: 'rejected', reason: { message: expect.stringContaining('poison refused') } });
      expect(before).toMatchObject({ status: 'fulfilled', value: { message: { seq: 2, text: 'before' } } });
      expect(after).toMatchObject({ status: 'fulfilled', value: { message: { seq: 3, text: 'after' } } });
      expect(await storedSeqs(channelId)).toEqual([1, 2, 3]);
    } finally {
      await sql`drop trigger refuse_poison on messages`.execute(database.db);
    }
  });

  describe.runIf(kind === 'postgres')('while a batch waits on a channel lock', () => {
    /** Holds the channel's row lock in another transaction until the returned function is called. */
    async function holdChannelLock(channelId: string): Promise<{ release: () => Promise<void> }> {
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      let locked!: () => void;
      const isLocked = new Promise<void>((resolve) => (locked = resolve));
      const transaction = database.db.transaction().execute(async (trx) => {
        await sql`select id from channels where id = ${channelId} for update`.execute(trx);
        locked();
        await released;
      });
      await isLocked;
      return {
        release: async () => {
          release();
          await transaction;
        },
      };
    }

    /** The backend of the batch that waits for the lock, once it does. */
    async function waitingBatchPid(): Promise<number> {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const { rows } = await sql<{ pid: number }>`
          select pid from pg_stat_activity
          where datname = current_database() and wait_event_type = 'Lock' and query ilike '%for update%'`.execute(database.db);
        if (rows[0]) return rows[0].pid;
        if (Date.now() > deadline) throw new Error('no batch waited for the channel lock');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }

    it('answers every message of a batch whose transaction fails with a retryable error, and stores none of them', async () => {
      const author = await createActor('fail_author');
      const { channelId } = await warmChannel(author);
      const lock = await holdChannelLock(channelId);

      const sends = Promise.allSettled(['f-1', 'f-2', 'f-3'].map((nonce) => chat.send(author, { conversationId: channelId, text: nonce, nonce })));
      await sql`select pg_terminate_backend(${await waitingBatchPid()})`.execute(database.db);
      const outcomes = await sends;
      await lock.release();

      const logger = pino({ level: 'silent' });
      for (const outcome of outcomes) {
        expect(outcome.status).toBe('rejected');
        const reason = (outcome as PromiseRejectedResult).reason;
        expect(isTransientDatabaseError(reason)).toBe(true);
        expect(reportError(logger, reason, {})).toMatchObject({ code: 'unavailable', retryAfterMs: expect.any(Number) });
      }
      expect(await storedSeqs(channelId)).toEqual([1]);
      expect(await lastSeq(channelId)).toBe(1);

      // The client's retries, with the same nonces, are stored once each and without a gap.
      const retried = await Promise.all(['f-1', 'f-2', 'f-3'].map((nonce) => chat.send(author, { conversationId: channelId, text: nonce, nonce })));
      expect(retried.map((result) => [result.created, result.message.seq])).toEqual([
        [true, 2],
        [true, 3],
        [true, 4],
      ]);
    });

    it('refuses a queued message whose sender lost the permission before its batch was written', async () => {
      const owner = await createActor('revoke_owner');
      const member = await createActor('revoke_member');
      const { serverId, channelId } = await warmChannel(owner, [member]);
      const lock = await holdChannelLock(channelId);

      const inFlight = chat.send(owner, { conversationId: channelId, text: 'in flight' });
      await waitingBatchPid();
      const queued = chat.send(member, { conversationId: channelId, text: 'queued' });
      queued.catch(() => {}); // asserted below, once the batch is written
      await until(() => chat.queuedMessages === 1);
      // A server mute takes send_messages away; the change signal makes the pod forget the cached access.
      await database.db.updateTable('members').set({ muted: true }).where('server_id', '=', serverId).where('user_id', '=', member.userId).execute();
      access.forgetServer(serverId);
      await lock.release();

      await expect(inFlight).resolves.toMatchObject({ created: true, message: { seq: 3 } });
      await expect(queued).rejects.toMatchObject({ code: 'muted' });
      expect(await storedSeqs(channelId)).toEqual([1, 2, 3]);
    });
  });
});

async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
