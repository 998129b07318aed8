import type { ChainableCommander, Redis } from 'ioredis';
import type { RateLimitRule } from '../../rate-limit/rate-limit-rule.ts';
import type { RateLimiter, RateLimiterFactory, RateLimitVerdict } from '../../rate-limit/rate-limiter.ts';
import type { RedisCircuit } from './circuit.ts';

/*
 * Adds a pod's new points to each key's count and answers, per key, the
 * cluster's total and the time left in its window (KEYS[i] gets ARGV[2i-1]
 * points, its window lasting ARGV[2i] ms). The window opens with the key's
 * first point and is Redis's TTL, so pods agree on it whatever their clocks
 * say. Same keys and layout as rate-limiter-flexible's RateLimiterRedis (an
 * integer with a TTL), so exact and reconciled pods count together during a
 * rollout. Several keys per call: the client's cost is per command, and most
 * keys carry a point or two per sync. (Keys of one call must share a slot,
 * should Redis Cluster ever be used.)
 */
const ADD_POINTS_LUA = `
local replies = {}
for i, key in ipairs(KEYS) do
  local total = redis.call('INCRBY', key, ARGV[2 * i - 1])
  local ttl = redis.call('PTTL', key)
  if ttl < 0 then
    redis.call('PEXPIRE', key, ARGV[2 * i])
    ttl = tonumber(ARGV[2 * i])
  end
  replies[2 * i - 1] = total
  replies[2 * i] = ttl
end
return replies
`;

/** Keys per script call, so that one call keeps Redis busy for a millisecond at most. */
const KEYS_PER_CALL = 500;

type ScriptedPipeline = ChainableCommander & {
  rateLimitAddPoints(keyCount: number, ...keysThenArgs: Array<string | number>): ScriptedPipeline;
};

/** Keys one limiter remembers at most; past it the oldest window is forgotten (and counts from Redis again). */
const DEFAULT_MAX_KEYS = 100_000;

/** One key's window as this pod sees it. */
interface Window {
  readonly redisKey: string;
  readonly windowMs: number;
  /** `performance.now()` when the window closes: Redis's TTL once synced, the first point's plus the duration before. */
  resetsAt: number;
  /** The cluster's total at the last sync, this pod's synced points included. */
  clusterTotal: number;
  /** Points being sent to Redis right now. */
  syncing: number;
  /** Points admitted since, not yet sent. */
  unsynced: number;
  /** False once the window has closed or was forgotten: a late sync reply must not touch it. */
  live: boolean;
}

const ALLOWED: RateLimitVerdict = Object.freeze({ allowed: true });

/**
 * Limits shared by all pods without a Redis round trip per event. Each pod
 * decides from the cluster's total last read from Redis plus the points it
 * admitted since, and every `syncIntervalMs` sends what it admitted (one
 * script call per 500 keys with new points, pipelined) and reads the totals back.
 *
 * Tolerance: a pod cannot see what the other pods admitted since it last
 * read the total, so across the cluster a key may get `points` plus what the
 * other pods it is used on admitted within about two sync intervals (the
 * others' unsent points, and those sent after this pod's last read), each
 * pod at most `points`. A key used on one pod only is limited exactly. While Redis is unreachable (see
 * `RedisCircuit`) each pod keeps counting on its own, so limits hold per pod,
 * and the unsent points are sent once Redis answers again.
 *
 * For socket events, where a round trip per event is the cost that matters;
 * anything guarding passwords or tokens keeps `RedisRateLimiterFactory`.
 */
export class ReconciledRateLimiterFactory implements RateLimiterFactory {
  readonly #redis: Redis;
  readonly #keyPrefix: string;
  readonly #circuit: RedisCircuit;
  readonly #syncIntervalMs: number;
  readonly #maxKeys: number;
  readonly #unsynced = new Set<Window>();
  #timer: NodeJS.Timeout | undefined;
  #sync: Promise<void> | undefined;

  constructor(options: {
    redis: Redis;
    keyPrefix: string;
    circuit: RedisCircuit;
    syncIntervalMs: number;
    /** Per limiter; 100,000 unless set. */
    maxKeys?: number;
  }) {
    options.redis.defineCommand('rateLimitAddPoints', { lua: ADD_POINTS_LUA });
    this.#redis = options.redis;
    this.#keyPrefix = options.keyPrefix;
    this.#circuit = options.circuit;
    this.#syncIntervalMs = options.syncIntervalMs;
    this.#maxKeys = options.maxKeys ?? DEFAULT_MAX_KEYS;
  }

  create(name: string, rule: RateLimitRule): RateLimiter {
    // In the order their windows opened: the first to close are at the front.
    const windows = new Map<string, Window>();
    const windowMs = rule.durationSeconds * 1000;
    const redisKeyPrefix = `${this.#keyPrefix}rl:${name}:`;
    return {
      consume: async (key) => {
        const now = performance.now();
        this.#forgetClosed(windows, now);
        let window = windows.get(key);
        if (window && window.resetsAt <= now) {
          this.#forget(windows, key, window);
          window = undefined;
        }
        if (!window) {
          window = { redisKey: redisKeyPrefix + key, windowMs, resetsAt: now + windowMs, clusterTotal: 0, syncing: 0, unsynced: 0, live: true };
          windows.set(key, window);
        }
        if (window.clusterTotal + window.syncing + window.unsynced >= rule.points) {
          return { allowed: false, retryAfterMs: Math.min(windowMs, Math.max(1, Math.ceil(window.resetsAt - now))) };
        }
        window.unsynced++;
        this.#unsynced.add(window);
        this.#scheduleSync();
        return ALLOWED;
      },
    };
  }

  /** Sends every unsent point now and waits for the answer (shutdown; tests). */
  async flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    while (this.#sync) await this.#sync;
    if (this.#unsynced.size === 0) return;
    const windows = [...this.#unsynced];
    this.#unsynced.clear();
    this.#sync = this.#circuit
      .run(
        () => this.#send(windows),
        async () => this.#keepUnsent(windows),
      )
      .finally(() => {
        this.#sync = undefined;
        if (this.#unsynced.size > 0) this.#scheduleSync();
      });
    await this.#sync;
  }

  #scheduleSync(): void {
    if (this.#timer || this.#sync) return;
    this.#timer = setTimeout(() => void this.flush(), this.#syncIntervalMs);
    this.#timer.unref();
  }

  /** One pipeline (one write, one round trip) of a script call per KEYS_PER_CALL keys. Throws if any key was not counted. */
  async #send(windows: Window[]): Promise<void> {
    const pipeline = this.#redis.pipeline() as ScriptedPipeline;
    const calls: Window[][] = [];
    for (let first = 0; first < windows.length; first += KEYS_PER_CALL) {
      const call = windows.slice(first, first + KEYS_PER_CALL);
      const points: number[] = [];
      for (const window of call) {
        window.syncing = window.unsynced;
        window.unsynced = 0;
        points.push(window.syncing, window.windowMs);
      }
      pipeline.rateLimitAddPoints(call.length, ...call.map((window) => window.redisKey), ...points);
      calls.push(call);
    }
    const replies = (await pipeline.exec()) ?? [];
    // Counted from the reply, so this pod's window never closes before Redis's does (and new
    // points never land in the old window's key).
    const now = performance.now();
    let failure: unknown;
    calls.forEach((call, index) => {
      const [error, reply] = replies[index] ?? [new Error('no reply from redis')];
      if (error) {
        failure ??= error;
        return;
      }
      const totalsAndTtls = reply as number[];
      call.forEach((window, i) => {
        window.clusterTotal = totalsAndTtls[2 * i]!;
        window.syncing = 0;
        window.resetsAt = now + totalsAndTtls[2 * i + 1]!;
      });
    });
    if (failure) throw failure;
  }

  /** Redis did not take the points: they count locally and go with the next sync. */
  #keepUnsent(windows: Window[]): void {
    for (const window of windows) {
      window.unsynced += window.syncing;
      window.syncing = 0;
      if (window.live && window.unsynced > 0) this.#unsynced.add(window);
    }
  }

  #forgetClosed(windows: Map<string, Window>, now: number): void {
    for (const [key, window] of windows) {
      if (window.resetsAt > now && windows.size < this.#maxKeys) return;
      this.#forget(windows, key, window);
    }
  }

  #forget(windows: Map<string, Window>, key: string, window: Window): void {
    window.live = false;
    windows.delete(key);
    this.#unsynced.delete(window);
  }
}
