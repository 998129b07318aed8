import type { AckResponse } from '@parley/protocol';
import { io } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordFigures } from '../support/figures.ts';
import { eventually } from '../support/users.ts';
import { AbuseTarget, VictimProbe } from './abuse-target.ts';

// Abuse of one pod, as an attacker would try it, while victims on the same pod keep chatting:
// their acknowledgements keep coming within a bound, and the pod's memory comes back.
const VICTIM_P99_BOUND_MS = 2000;
const RSS_GROWTH_BOUND_MIB = 300;
const RSS_SETTLED_BOUND_MIB = 150;

let target: AbuseTarget;

beforeAll(async () => {
  target = await AbuseTarget.start({ RATE_LIMIT_CHAT_SEND: '100000/10s', MAX_UNAUTHENTICATED_CONNECTIONS: '300' });
});
afterAll(() => target?.stop());

/** The highest RSS of the pod while `work` runs. */
async function peakRssDuring<T>(work: Promise<T>): Promise<{ result: T; peakMiB: number }> {
  let peakMiB = target.rssMiB();
  const sampler = setInterval(() => (peakMiB = Math.max(peakMiB, target.rssMiB())), 100);
  try {
    return { result: await work, peakMiB };
  } finally {
    clearInterval(sampler);
  }
}

async function expectMemoryBack(baselineMiB: number, peakMiB: number): Promise<void> {
  expect(peakMiB - baselineMiB).toBeLessThan(RSS_GROWTH_BOUND_MIB);
  await eventually(() => target.rssMiB() - baselineMiB < RSS_SETTLED_BOUND_MIB, 30_000, 'the pod’s memory came back');
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const summary = (stats: Awaited<ReturnType<VictimProbe['stop']>>) => ({ ...stats, failures: stats.failures.length });

function countOf(values: number[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}

describe('event floods', () => {
  it('floods of formerly unlimited and unknown events cost the attacker, not the victims', { timeout: 90_000 }, async () => {
    const victim = await target.victim();
    const attackers = await Promise.all([1, 2, 3].map(() => target.member(victim.serverId)));
    const baseline = target.rssMiB();
    const probe = new VictimProbe(victim.socket, victim.channelId);
    const outcomes = new Map<string, number>();
    let sent = 0;
    let answered = 0;
    const events: Array<[string, unknown]> = [
      ['server:details', { serverId: victim.serverId }],
      ['server:info', { serverId: victim.serverId }],
      ['server:leave', { serverId: crypto.randomUUID() }],
      ['chat:fetch', { conversationId: victim.channelId, limit: 100 }],
      ['no:such:event', {}],
    ];
    const flood = async () => {
      for (let burst = 0; burst < 25; burst++) {
        for (const socket of attackers) {
          for (let i = 0; i < 100; i++) {
            const [event, payload] = events[i % events.length]!;
            sent++;
            (socket.socket.emit as (event: string, payload: unknown, ack: (reply: AckResponse) => void) => void)(event, payload, (reply) => {
              answered++;
              const outcome = reply.ok ? 'ok' : reply.error.code;
              outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
            });
          }
        }
        await sleep(200);
      }
    };
    const { peakMiB } = await peakRssDuring(flood());
    // Unknown events are dropped with no acknowledgement when within the connection's rate; every other one is answered.
    await eventually(() => answered >= sent - (sent / events.length) * 1, 30_000, 'the flood answered');
    const victimStats = await probe.stop();

    recordFigures('abuse', 'event-flood', { sent, answered, outcomes: Object.fromEntries(outcomes), victim: summary(victimStats), rssMiB: { baseline, peak: peakMiB } });
    expect(victimStats.failures).toEqual([]);
    expect(victimStats.sent).toBeGreaterThan(10);
    expect(victimStats.p99Ms).toBeLessThan(VICTIM_P99_BOUND_MS);
    expect(outcomes.get('internal_error')).toBeUndefined();
    expect(outcomes.get('rate_limited') ?? 0).toBeGreaterThan(sent * 0.8);
    expect(target.errors()).toEqual([]);
    await expectMemoryBack(baseline, peakMiB);
    for (const socket of [victim.socket, ...attackers]) socket.close();
  });
});

describe('handshake floods', () => {
  it('3,000 handshakes with bad tokens from one address are refused before any database work; others still connect', { timeout: 90_000 }, async () => {
    const victim = await target.victim();
    const baseline = target.rssMiB();
    const probe = new VictimProbe(victim.socket, victim.channelId);
    const outcomes = new Map<string, number>();
    const attempt = () =>
      new Promise<void>((resolve) => {
        const socket = io(target.url, {
          transports: ['websocket'],
          reconnection: false,
          extraHeaders: { 'X-Forwarded-For': '198.51.100.7' },
          auth: { token: 'f'.repeat(64), clientInstanceId: 'flood' },
        });
        socket.once('connect_error', (error: Error & { data?: { code: string } }) => {
          const outcome = error.data?.code ?? 'refused before Socket.IO';
          outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
          socket.close();
          resolve();
        });
        socket.once('connect', () => {
          outcomes.set('connected', (outcomes.get('connected') ?? 0) + 1);
          socket.close();
          resolve();
        });
      });
    const flood = async () => {
      let remaining = 3000;
      await Promise.all(
        Array.from({ length: 100 }, async () => {
          while (remaining-- > 0) await attempt();
        }),
      );
    };
    const flooding = peakRssDuring(flood());
    // Someone else connects in the middle of it.
    const newcomer = await target.victim();
    const { peakMiB } = await flooding;
    const victimStats = await probe.stop();

    recordFigures('abuse', 'handshake-flood', { outcomes: Object.fromEntries(outcomes), victim: summary(victimStats), rssMiB: { baseline, peak: peakMiB } });
    expect(outcomes.get('connected')).toBeUndefined();
    // At most RATE_LIMIT_HANDSHAKE's 100 per 10 s reached authentication; the rest never cost a query.
    expect(outcomes.get('refused before Socket.IO') ?? 0).toBeGreaterThan(2500);
    expect(victimStats.failures).toEqual([]);
    expect(victimStats.p99Ms).toBeLessThan(VICTIM_P99_BOUND_MS);
    expect(newcomer.socket.connected).toBe(true);
    expect(target.errors()).toEqual([]);
    await expectMemoryBack(baseline, peakMiB);
    victim.socket.close();
    newcomer.socket.close();
  });
});

describe('idle unauthenticated connections', () => {
  it('are capped per pod, do not disturb connected users, and are closed after the authentication deadline', { timeout: 90_000 }, async () => {
    const victim = await target.victim();
    const baseline = target.rssMiB();
    const probe = new VictimProbe(victim.socket, victim.channelId);
    // 400 Engine.IO handshakes that never authenticate, 10 from each of 40 addresses (under the per-address cap).
    const statuses = await Promise.all(
      Array.from({ length: 400 }, async (_, i) => {
        const response = await fetch(`${target.url}/socket.io/?EIO=4&transport=polling`, {
          headers: { 'X-Forwarded-For': `192.0.2.${Math.floor(i / 10)}` },
        });
        await response.text();
        return response.status;
      }),
    );
    expect(statuses.filter((status) => status === 200)).toHaveLength(300);
    expect(statuses.filter((status) => status === 503)).toHaveLength(100);
    const peakMiB = target.rssMiB();

    // Connected users carry on; new connections are admitted again once the idle ones hit their deadline.
    await eventually(
      async () => {
        const response = await fetch(`${target.url}/socket.io/?EIO=4&transport=polling`);
        await response.text();
        return response.status === 200;
      },
      30_000,
      'a new connection admitted again',
    );
    const victimStats = await probe.stop();
    recordFigures('abuse', 'idle-unauthenticated', { statuses: countOf(statuses), victim: summary(victimStats), rssMiB: { baseline, peak: peakMiB } });
    expect(victimStats.failures).toEqual([]);
    expect(victimStats.p99Ms).toBeLessThan(VICTIM_P99_BOUND_MS);
    expect(target.errors()).toEqual([]);
    await expectMemoryBack(baseline, peakMiB);
    victim.socket.close();
  });
});
