import { describe, expect, it } from 'vitest';
import { AccessCache, type ChannelStanding } from './access-cache.ts';

const standing = (serverId: string, isMember = true): ChannelStanding => ({
  channel: { id: 'channel', server_id: serverId, type: 'text' },
  isMember,
  permissions: new Set(['view_channels', 'send_messages']),
  muted: false,
  muted_until: null,
});

/** A loader that counts its reads and returns what it is told. */
function loader(value: () => ChannelStanding | undefined) {
  const counter = { reads: 0, load: async () => (counter.reads++, value()) };
  return counter;
}

describe('AccessCache', () => {
  it('reads a member’s standing once and then answers from memory', async () => {
    const cache = new AccessCache({ ttlMs: 1000, maxEntries: 10 });
    const source = loader(() => standing('s1'));
    await cache.get('u', 'c', source.load);
    await cache.get('u', 'c', source.load);
    expect(source.reads).toBe(1);
  });

  it('keeps neither a non-member’s standing nor a missing channel (a join signals nothing)', async () => {
    const cache = new AccessCache({ ttlMs: 1000, maxEntries: 10 });
    const outsider = loader(() => standing('s1', false));
    await cache.get('u', 'c', outsider.load);
    await cache.get('u', 'c', outsider.load);
    const missing = loader(() => undefined);
    await cache.get('u', 'gone', missing.load);
    await cache.get('u', 'gone', missing.load);
    expect([outsider.reads, missing.reads]).toEqual([2, 2]);
  });

  it('reads again after its community changed, and only that community', async () => {
    const cache = new AccessCache({ ttlMs: 1000, maxEntries: 10 });
    const changed = loader(() => standing('s1'));
    const untouched = loader(() => standing('s2'));
    await cache.get('u', 'c1', changed.load);
    await cache.get('u', 'c2', untouched.load);
    cache.forgetServer('s1');
    await cache.get('u', 'c1', changed.load);
    await cache.get('u', 'c2', untouched.load);
    expect([changed.reads, untouched.reads]).toEqual([2, 1]);
  });

  it('does not reuse a read that was in flight when its community changed', async () => {
    const cache = new AccessCache({ ttlMs: 1000, maxEntries: 10 });
    let finishRead!: () => void;
    const slowRead = cache.get('u', 'c', () => new Promise((resolve) => (finishRead = () => resolve(standing('s1')))));
    cache.forgetServer('s1');
    finishRead();
    await slowRead;
    const next = loader(() => standing('s1'));
    await cache.get('u', 'c', next.load);
    expect(next.reads).toBe(1);
  });

  it('reads again once the TTL has passed', async () => {
    let now = 0;
    const cache = new AccessCache({ ttlMs: 1000, maxEntries: 10, now: () => now });
    const source = loader(() => standing('s1'));
    await cache.get('u', 'c', source.load);
    now = 999;
    await cache.get('u', 'c', source.load);
    now = 1000;
    await cache.get('u', 'c', source.load);
    expect(source.reads).toBe(2);
  });

  it('drops the least recently used standing beyond maxEntries', async () => {
    const cache = new AccessCache({ ttlMs: 1000, maxEntries: 2 });
    const source = loader(() => standing('s1'));
    await cache.get('u', 'a', source.load);
    await cache.get('u', 'b', source.load);
    await cache.get('u', 'a', source.load); // a is now the most recent
    await cache.get('u', 'c', source.load); // evicts b
    expect(cache.size).toBe(2);
    await cache.get('u', 'a', source.load);
    expect(source.reads).toBe(3);
    await cache.get('u', 'b', source.load);
    expect(source.reads).toBe(4);
  });

  it('reads through while untrusted (its pod could miss a change), and forgetAll drops everything', async () => {
    let trusted = false;
    const cache = new AccessCache({ ttlMs: 1000, maxEntries: 10, trusted: () => trusted });
    const source = loader(() => standing('s1'));
    await cache.get('u', 'c', source.load);
    await cache.get('u', 'c', source.load);
    expect(source.reads).toBe(2);
    trusted = true;
    await cache.get('u', 'c', source.load);
    await cache.get('u', 'c', source.load);
    expect(source.reads).toBe(3);
    cache.forgetAll();
    await cache.get('u', 'c', source.load);
    expect(source.reads).toBe(4);
  });

  it('with a TTL of 0, always reads', async () => {
    const cache = new AccessCache({ ttlMs: 0, maxEntries: 10 });
    const source = loader(() => standing('s1'));
    await cache.get('u', 'c', source.load);
    await cache.get('u', 'c', source.load);
    expect(source.reads).toBe(2);
  });
});
