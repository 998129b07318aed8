import type { Database } from '@parley/db';
import { CompactSign, compactVerify, createLocalJWKSet } from 'jose';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Clock } from '../src/clock.ts';
import { Store } from '../src/domain/store.ts';
import { KeyRing } from '../src/domain/voice/key-ring.ts';
import { KeySealer } from '../src/domain/voice/key-sealer.ts';
import { createLogger, type Logger } from '../src/logger.ts';
import { databaseKinds, type DatabaseUnderTest } from './support/databases.ts';
import { eventually } from './support/users.ts';

const HOUR = 3_600_000;
const TTL_SECONDS = 120;
const SKEW_MS = 60_000;
/** 25 minutes into slot SLOT of a one-hour rotation. */
const SLOT = 491_234;
const T0 = SLOT * HOUR + 25 * 60_000;

/** A clock the test moves by hand. */
function manualClock(start = T0): Clock & { set(ms: number): void } {
  let now = start;
  return { now: () => new Date(now), set: (ms) => (now = ms) };
}

const silent = createLogger({ level: 'silent', format: 'json', nodeId: 'test' });

describe.each(databaseKinds)('KeyRing on %s', (_kind, open) => {
  let underTest: DatabaseUnderTest;
  let database: Database;
  const rings: KeyRing[] = [];

  function keyRing(clock: Clock, options: { rotationMs?: number; store?: Store; logger?: Logger; sealer?: KeySealer } = {}): KeyRing {
    const ring = new KeyRing({
      store: options.store ?? new Store(database.db),
      clock,
      rotationMs: options.rotationMs ?? HOUR,
      tokenTtlSeconds: TTL_SECONDS,
      logger: options.logger ?? silent,
      ...(options.sealer ? { sealer: options.sealer } : {}),
    });
    rings.push(ring);
    return ring;
  }

  async function storedKeys() {
    return database.db.selectFrom('signing_keys').selectAll().orderBy('slot').execute();
  }

  beforeAll(async () => {
    underTest = await open();
    database = underTest.database;
  });
  beforeEach(async () => {
    await database.db.deleteFrom('signing_keys').execute();
  });
  afterEach(() => {
    for (const ring of rings.splice(0)) ring.stop();
  });
  afterAll(() => underTest.close());

  it('with a sealer, stores sealed keys that sign; a ring with another secret, or none, refuses to start', async () => {
    const sealer = new KeySealer('one-secret-of-at-least-32-characters');
    const ring = keyRing(manualClock(), { sealer });
    await ring.start();
    const { kid } = await ring.signingKey();
    expect((await storedKeys()).map((row) => Object.keys(row.private_jwk as object).sort())).toEqual([
      ['data', 'iv', 'sealed', 'tag'],
      ['data', 'iv', 'sealed', 'tag'],
    ]);
    const token = await new CompactSign(new TextEncoder().encode('payload')).setProtectedHeader({ alg: 'ES256', kid }).sign((await ring.signingKey()).privateKey);
    await compactVerify(token, createLocalJWKSet(ring.jwks()));
    await expect(keyRing(manualClock(), { sealer: new KeySealer('another-secret-of-at-least-32-chars') }).start()).rejects.toThrow(/does not open/);
    await expect(keyRing(manualClock()).start()).rejects.toThrow(/VOICE_KEY_ENCRYPTION_SECRET is not set/);
  });

  it('after start, holds keys for the current and the next slot, signs with the current one and publishes both', async () => {
    const ring = keyRing(manualClock());
    await ring.start();

    const rows = await storedKeys();
    expect(rows.map((row) => row.slot)).toEqual([SLOT, SLOT + 1]);
    const [current, next] = rows;
    expect(current).toMatchObject({
      algorithm: 'ES256',
      not_before: new Date(SLOT * HOUR),
      retires_at: new Date((SLOT + 1) * HOUR + TTL_SECONDS * 1000 + SKEW_MS),
    });
    expect(next).toMatchObject({ not_before: new Date((SLOT + 1) * HOUR), retires_at: new Date((SLOT + 2) * HOUR + TTL_SECONDS * 1000 + SKEW_MS) });
    expect((await ring.signingKey()).kid).toBe(current!.kid);

    const { keys } = ring.jwks();
    expect(keys.map((key) => key.kid)).toEqual([current!.kid, next!.kid]);
    for (const key of keys) {
      expect(key).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig', x: expect.any(String), y: expect.any(String) });
      // Never the private part.
      expect(key).not.toHaveProperty('d');
    }
    expect(current!.private_jwk).toHaveProperty('d');
  });

  it('signs with a private key whose public half is the one published under its kid', async () => {
    const ring = keyRing(manualClock());
    await ring.start();
    const { kid, privateKey } = await ring.signingKey();
    const jws = await new CompactSign(new TextEncoder().encode('hello')).setProtectedHeader({ alg: 'ES256', kid }).sign(privateKey);
    const { payload } = await compactVerify(jws, createLocalJWKSet(ring.jwks()));
    expect(new TextDecoder().decode(payload)).toBe('hello');
  });

  it('ends with exactly one key per slot when several pods start at once, and they all sign with it', async () => {
    const clock = manualClock();
    const pods = Array.from({ length: 5 }, () => keyRing(clock));
    await Promise.all(pods.map((pod) => pod.start()));

    const rows = await storedKeys();
    expect(rows.map((row) => row.slot)).toEqual([SLOT, SLOT + 1]);
    const signing = await Promise.all(pods.map(async (pod) => (await pod.signingKey()).kid));
    expect(new Set(signing)).toEqual(new Set([rows[0]!.kid]));
    for (const pod of pods) expect(pod.jwks().keys.map((key) => key.kid)).toEqual(rows.map((row) => row.kid));
  });

  it('at a slot boundary, signs with the key it published a rotation before, and publishes the one after', async () => {
    const clock = manualClock();
    const ring = keyRing(clock);
    await ring.start();
    const [current, next] = ring.jwks().keys.map((key) => key.kid);

    clock.set((SLOT + 1) * HOUR - 1);
    expect((await ring.signingKey()).kid).toBe(current);
    clock.set((SLOT + 1) * HOUR);
    expect((await ring.signingKey()).kid).toBe(next);

    await ring.refresh();
    const rows = await storedKeys();
    expect(rows.map((row) => row.slot)).toEqual([SLOT, SLOT + 1, SLOT + 2]);
    // The previous key stays published: tokens it signed a moment ago are still valid.
    expect(ring.jwks().keys.map((key) => key.kid)).toEqual([current, next, rows[2]!.kid]);
  });

  it('retires a key ttl + skew after its slot ends: it leaves the JWKS and its row is deleted', async () => {
    const clock = manualClock();
    const ring = keyRing(clock);
    await ring.start();
    const retired = ring.jwks().keys[0]!.kid;
    const retiresAt = (SLOT + 1) * HOUR + TTL_SECONDS * 1000 + SKEW_MS;

    clock.set(retiresAt - 1);
    await ring.refresh();
    expect(ring.jwks().keys.map((key) => key.kid)).toContain(retired);
    expect((await storedKeys()).map((row) => row.kid)).toContain(retired);

    // Left out of the JWKS at once, even before the next refresh; deleted by it.
    clock.set(retiresAt);
    expect(ring.jwks().keys.map((key) => key.kid)).not.toContain(retired);
    await ring.refresh();
    const rows = await storedKeys();
    expect(rows.map((row) => row.kid)).not.toContain(retired);
    expect(rows.map((row) => row.slot)).toEqual([SLOT + 1, SLOT + 2]);
  });

  it('refreshes before signing when its keys lag behind the clock', async () => {
    const clock = manualClock();
    const ring = keyRing(clock);
    await ring.start();

    clock.set(T0 + 5 * HOUR);
    const { kid } = await ring.signingKey();
    const rows = await storedKeys();
    expect(rows.find((row) => row.kid === kid)?.slot).toBe(SLOT + 5);
    // Everything of the slots long gone was retired on the way.
    expect(rows.map((row) => row.slot)).toEqual([SLOT + 5, SLOT + 6]);
  });

  it('sees a key another pod created', async () => {
    const clock = manualClock();
    const first = keyRing(clock);
    const second = keyRing(clock);
    await first.start();
    await second.start();
    clock.set((SLOT + 1) * HOUR);
    await first.refresh();
    const created = (await storedKeys()).find((row) => row.slot === SLOT + 2)!;

    expect(second.jwks().keys.map((key) => key.kid)).not.toContain(created.kid);
    await second.refresh();
    expect(second.jwks().keys.map((key) => key.kid)).toContain(created.kid);
  });

  it('refreshes on its own timer, every quarter rotation at most', async () => {
    const rotationMs = 400;
    const clock = manualClock(1_000 * rotationMs);
    const ring = keyRing(clock, { rotationMs });
    await ring.start();
    expect((await storedKeys()).map((row) => row.slot)).toEqual([1000, 1001]);

    clock.set(1001 * rotationMs);
    await eventually(() => ring.jwks().keys.length === 3, 3000, 'a timed refresh');
    expect((await storedKeys()).map((row) => row.slot)).toEqual([1000, 1001, 1002]);
  });

  it('keeps signing and publishing what it has when a refresh fails', async () => {
    const clock = manualClock();
    const { store, fail } = failingStore(database);
    const ring = keyRing(clock, { store });
    await ring.start();
    const { kid } = await ring.signingKey();
    const published = ring.jwks();

    fail(true);
    clock.set(T0 + 60_000);
    await expect(ring.refresh()).rejects.toThrow('database away');
    expect((await ring.signingKey()).kid).toBe(kid);
    expect(ring.jwks()).toEqual(published);

    fail(false);
    await ring.refresh();
    expect((await ring.signingKey()).kid).toBe(kid);
  });

  it('logs a failed timed refresh without the row the database quoted', async () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'warn', format: 'json', nodeId: 'test', destination: { write: (line: string) => void lines.push(line) } });
    const { store, fail } = failingStore(database);
    const rotationMs = 400;
    const ring = keyRing(manualClock(1_000 * rotationMs), { rotationMs, store, logger });
    await ring.start();

    fail(true);
    await eventually(() => lines.length > 0, 3000, 'a warning');
    expect(JSON.parse(lines[0]!)).toMatchObject({ msg: 'signing key refresh failed; retrying on the next tick', err: { message: 'database away', code: '08006' } });
    expect(lines.join('\n')).not.toContain('private-key-material');
  });
});

/** Shaped like a pg error, which may quote the failing row. */
function databaseError(): Error {
  return Object.assign(new Error('database away'), { code: '08006', detail: 'Failing row contains (private-key-material)' });
}

/** A Store whose signing-key queries fail on demand, as when Postgres is away. */
function failingStore(database: Database): { store: Store; fail(on: boolean): void } {
  const real = new Store(database.db);
  let failing = false;
  const signingKeys = new Proxy(real.repos.signingKeys, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property);
      if (typeof value !== 'function') return value;
      return failing ? () => Promise.reject(databaseError()) : value.bind(target);
    },
  });
  const store = { repos: { ...real.repos, signingKeys } } as unknown as Store;
  return { store, fail: (on) => (failing = on) };
}
