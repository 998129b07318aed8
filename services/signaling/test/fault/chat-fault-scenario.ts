import { expect } from 'vitest';
import { addMember } from '../support/communities.ts';
import { eventually, registerUser, type TestUser } from '../support/users.ts';
import { account, readLastSeq, readStoredStream, report, type FaultFigures } from './accounting.ts';
import { ChatLoad } from './chat-load.ts';
import type { FaultEnvironment } from './fault-environment.ts';

/** How long every client may take, by default, to be connected and caught up again once the fault is over. */
export const RECOVERY_BOUND_MS = 30_000;
/** Redis commands time out and rate limits fall back to per-pod counters within about this long. */
export const FALLBACK_BOUND_MS = 2000;

const CLIENTS = 6;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A community owner and the chat clients' users, registered once per test file. */
export interface ChatCast {
  owner: TestUser;
  users: TestUser[];
}

export async function registerCast(env: FaultEnvironment, clients = CLIENTS): Promise<ChatCast> {
  const owner = await registerUser(env.balancer.url);
  const users = await Promise.all(Array.from({ length: clients }, () => registerUser(env.balancer.url)));
  return { owner, users };
}

/** A fresh community whose first channel every user of the cast is a member of; returns the channel id. */
export async function freshChannel(env: FaultEnvironment, cast: ChatCast, name: string): Promise<string> {
  const server = await cast.owner.http.createServer({ name });
  for (const user of cast.users) await addMember(env.database, server.id, user.session.id);
  return server.channels[0]!.id;
}

export interface ChatFaultScenario {
  /** Names the results file: test-results/fault/<name>.json. */
  name: string;
  /** Puts the fault in place. */
  inject(): Promise<void> | void;
  /** How long the fault lasts. A fixed duration is the fault itself, not a condition being waited for. */
  holdMs: number;
  /** Ends the fault; resolves once the dependency is back. */
  recover(): Promise<void> | void;
  /**
   * Where recovery time counts from: `recovered` (default: the dependency is
   * back) or `injected` (just before `inject`: a pod fault, where the other
   * pods serve its clients at once).
   */
  recoveryFrom?: 'recovered' | 'injected';
  /** How long recovery may take. Default `RECOVERY_BOUND_MS`. */
  recoveryBoundMs?: number;
  /** Acks count as "during the fault" from this long into it. Default `FALLBACK_BOUND_MS`. */
  faultAckFromMs?: number;
  /** Where the clients connect. Default the balancer. */
  url?: string;
  /**
   * Besides every client being connected and caught up, what must hold
   * before the scenario counts as recovered, e.g. that the clients the fault
   * dropped noticed it (a socket reports its disconnection a moment after the
   * fault: until then it still looks connected). `faultStartedAt`: performance.now() before `inject`.
   */
  recovered?: (load: ChatLoad, faultStartedAt: number) => boolean;
  /** Scenario-specific figures, read after recovery. */
  extra?: () => Record<string, unknown>;
}

/**
 * Streams chat from every client of the cast into a fresh channel, injects
 * the fault, ends it, measures recovery, stops, and accounts for every
 * message. Writes and logs the figures, then returns them; the caller asserts.
 */
export async function runChatFault(env: FaultEnvironment, cast: ChatCast, scenario: ChatFaultScenario): Promise<FaultFigures> {
  const began = performance.now();
  const channelId = await freshChannel(env, cast, scenario.name);
  const load = await ChatLoad.connect({
    url: scenario.url ?? env.balancer.url,
    tokens: cast.users.map((user) => user.session.token),
    channelId,
    label: scenario.name,
  });
  try {
    load.startSending();
    await eventually(() => load.everyClientAcknowledgedSince(began, 3), 20_000, 'every client streaming before the fault');

    const faultStartedAt = performance.now();
    await scenario.inject();
    const injectedAt = performance.now();
    const recovery = {
      bound: scenario.recoveryBoundMs ?? RECOVERY_BOUND_MS,
      recovered: () => scenario.recovered?.(load, faultStartedAt) ?? true,
    };
    const measuring = scenario.recoveryFrom === 'injected' ? measureRecovery(env, load, channelId, faultStartedAt, recovery) : undefined;
    await sleep(scenario.holdMs);
    const recovering = performance.now();
    await scenario.recover();
    const recoveredAt = performance.now();
    const acksDuringFault = load.acknowledgedBetween(injectedAt + (scenario.faultAckFromMs ?? FALLBACK_BOUND_MS), recovering);
    const recoveryMs = await (measuring ?? measureRecovery(env, load, channelId, recoveredAt, recovery));

    // Chat works again for everyone, then the stream stops and settles. After
    // a failed recovery the figures are what matters: waiting long tells no more.
    const waitMs = recoveryMs === null ? 3000 : 15_000;
    if (recoveryMs !== null) {
      await eventually(() => load.everyClientAcknowledgedSince(recoveredAt, 3), 20_000, 'every client acknowledged after recovery').catch(
        () => {},
      );
    }
    const unanswered = await load.stopSending(waitMs);
    await settle(env, load, channelId, waitMs);

    const stored = await readStoredStream(env.database, channelId);
    const figures = account(load.clients, stored, {
      scenario: scenario.name,
      recoveryMs,
      acksDuringFault,
      acksAfterRecovery: load.acknowledgedBetween(recoveredAt, Number.POSITIVE_INFINITY),
      faultMs: Math.round(recovering - injectedAt),
      recoveryBoundMs: recovery.bound,
      strandedClients: load.stranded(),
      unanswered,
      ...(scenario.extra ? { extra: scenario.extra() } : {}),
      podLog: env.logs.summarise(began),
    });
    report(figures);
    return figures;
  } finally {
    load.close();
  }
}

/** What every scenario asserts: all figures at once, so a failure shows them together. */
export function expectNothingLost(figures: FaultFigures): void {
  expect({
    acknowledgedBeforeAndAfter: figures.acknowledged > figures.acksAfterRecovery && figures.acksAfterRecovery >= figures.clients * 3,
    lost: figures.lost,
    duplicated: figures.duplicated,
    seqGaps: figures.seqGaps,
    deliveryGaps: figures.deliveryGaps,
    failures: figures.failures,
    strandedClients: figures.strandedClients,
    recoveredWithinBound: figures.recoveryMs !== null && figures.recoveryMs <= figures.recoveryBoundMs,
  }).toEqual({
    acknowledgedBeforeAndAfter: true,
    lost: 0,
    duplicated: 0,
    seqGaps: 0,
    deliveryGaps: 0,
    failures: 0,
    strandedClients: 0,
    recoveredWithinBound: true,
  });
}

/**
 * Milliseconds from `from` until every client is connected and has been
 * delivered everything stored when the check began; null if not within the bound.
 */
async function measureRecovery(
  env: FaultEnvironment,
  load: ChatLoad,
  channelId: string,
  from: number,
  recovery: { bound: number; recovered: () => boolean },
): Promise<number | null> {
  while (performance.now() - from < recovery.bound) {
    if (load.allConnected() && recovery.recovered()) {
      const lastSeq = await withTimeout(readLastSeq(env.database, channelId), 2000).catch(() => undefined);
      if (lastSeq !== undefined && load.caughtUpTo(lastSeq)) return Math.round(performance.now() - from);
    }
    await sleep(50);
  }
  return null;
}

/** Waits (bounded) until every client holds the whole stored stream; the accounting tells what is missing if not. */
async function settle(env: FaultEnvironment, load: ChatLoad, channelId: string, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const lastSeq = await withTimeout(readLastSeq(env.database, channelId), 2000).catch(() => undefined);
    if (lastSeq !== undefined && load.caughtUpTo(lastSeq)) return;
    await sleep(50);
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    promise.then(resolve, reject).finally(() => clearTimeout(timer));
  });
}
