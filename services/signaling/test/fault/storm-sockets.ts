import { ParleySocket } from '@parley/client';
import type { Database } from '@parley/db';
import { hashSessionToken, newSessionToken } from '../../src/domain/accounts/session-token.ts';
import { Store } from '../../src/domain/store.ts';
import { gaveUp } from './chat-load.ts';

const TEN_YEARS_MS = 10 * 365 * 24 * 60 * 60 * 1000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Users with a session each, made through the real repositories (registering
 * hundreds through the API would spend minutes hashing passwords, which is
 * not what a reconnect storm tests).
 */
export async function createSessionUsers(
  database: Database,
  count: number,
  prefix: string,
): Promise<Array<{ userId: string; token: string }>> {
  const store = new Store(database.db);
  return inBatches(Array.from({ length: count }, (_, i) => i), 20, async (i) => {
    const user = await store.repos.users.create({ username: `${prefix}_${i}`, displayName: `${prefix} ${i}`, passwordHash: null });
    if (!user) throw new Error(`username ${prefix}_${i} is taken`);
    const token = newSessionToken();
    await store.repos.sessions.create({ userId: user.id, tokenHash: hashSessionToken(token), expiresAt: new Date(Date.now() + TEN_YEARS_MS) });
    return { userId: user.id, token };
  });
}

/** Many authenticated sockets (several devices per user), reconnecting by themselves, and what happened to them. */
export class StormSockets {
  readonly sockets: ParleySocket[];
  readonly disconnectReasons = new Map<string, number>();
  readonly connectErrors = new Map<string, number>();
  /** Per socket, performance.now() at its last disconnection. */
  readonly #lastDisconnectAt: number[];

  private constructor(sockets: ParleySocket[]) {
    this.sockets = sockets;
    this.#lastDisconnectAt = sockets.map(() => Number.NEGATIVE_INFINITY);
    for (const [i, socket] of sockets.entries()) {
      socket.socket.on('disconnect', (reason) => {
        this.#lastDisconnectAt[i] = performance.now();
        count(this.disconnectReasons, reason);
      });
      socket.socket.on('connect_error', (error: Error & { data?: { code?: string } }) =>
        count(this.connectErrors, error.data?.code ?? error.message),
      );
    }
  }

  /** Connects `devices` sockets per token, a bounded number at a time, each retried a few times. */
  static async connect(url: string, tokens: string[], devices: number): Promise<StormSockets> {
    const targets = tokens.flatMap((token, user) => Array.from({ length: devices }, (_, device) => ({ token, id: `storm-${user}-${device}` })));
    const sockets = await inBatches(targets, 50, async ({ token, id }) => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await ParleySocket.connect({ url, token, clientInstanceId: id, ackTimeoutMs: 10_000 });
        } catch (error) {
          if (attempt >= 10) throw error;
          await sleep(100 * attempt);
        }
      }
    });
    return new StormSockets(sockets);
  }

  get connected(): number {
    return this.sockets.filter((socket) => socket.connected).length;
  }

  /** Whether every socket was disconnected at or after `since` and is connected again. */
  everyReconnectedSince(since: number): boolean {
    return this.sockets.every((socket, i) => this.#lastDisconnectAt[i]! >= since && socket.connected);
  }

  /** Sockets that gave up reconnecting. */
  get stranded(): number {
    return this.sockets.filter(gaveUp).length;
  }

  close(): void {
    for (const socket of this.sockets) socket.close();
  }
}

function count(counts: Map<string, number>, key: string): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

/** Runs `work` over `items`, at most `width` at a time; results in input order. */
export async function inBatches<T, R>(items: T[], width: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, lane));
  return results;
}
