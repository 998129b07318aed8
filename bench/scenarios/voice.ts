import { createHash } from 'node:crypto';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import { describeTally } from '../lib/pod-log-tally.ts';
import type { Scenario, ScenarioContext } from '../lib/scenario.ts';
import { startSeededServices, type Seeder, type SeededUser } from '../lib/seeder.ts';
import { runVoicePhase, type VoicePhaseResult } from '../lib/voice-phase.ts';
import { voiceReport, type GrantCheck, type VoiceRun, type VoiceRunKey } from '../lib/voice-report.ts';
import { openVoiceSession, parleyVoiceTarget, relayVoiceTarget, type VoiceSession, type VoiceTarget } from '../lib/voice-session.ts';
import { parleyVoiceWire, relayVoiceWire, type VoiceWire } from '../lib/voice-wire.ts';

const settings = {
  communities: 20,
  membersPerCommunity: 30,
  voiceChannelsPerCommunity: 2,
  /** VOICE_MAX_USERS, the default. */
  capacity: 25,
  /** Share of the requests that go to a community's first voice channel (its "lounge"); the rest to the second. */
  loungeShare: 0.75,
  /** Share of its cycle a user keeps its seat before leaving: about this share of the users is seated at any time. */
  holdShare: 0.8,
  pods: 3,
  relays: 3,
  /** Offered voice:room:request per second, in this order, on every server. */
  rates: [50, 100, 200, 400],
  warmupMs: 1000,
  /** A window lasts at least `minMeasureMs` and holds at least `minSamples` requests. */
  minMeasureMs: 5000,
  minSamples: 600,
  ackTimeoutMs: 10_000,
  /** After each window, wait until every request and leave is answered (at most this long). */
  catchUpMaxMs: 30_000,
  /** Requests in flight while seating the steady state's users before each window. */
  seatingConcurrency: 50,
  connectConcurrency: 50,
};

const users = settings.communities * settings.membersPerCommunity;

/**
 * What the pods need to grant voice, and the voice limiters raised so none
 * answers. Nothing listens at the SFU, STUN or TURN addresses: Parley only
 * hands them out. TURN is set so every grant also derives a TURN credential.
 */
const podEnv: Record<string, string> = {
  SFU_PUBLIC_HOST: 'wss://sfu-a.bench.test,wss://sfu-b.bench.test',
  STUN_SERVERS: 'stun:stun.bench.test:3478',
  TURN_URLS: 'turn:turn.bench.test:3478',
  TURN_SECRET: 'parley-bench-turn-shared-secret',
  VOICE_MAX_USERS: String(settings.capacity),
  RATE_LIMIT_VOICE_REQUEST: '100000000/1m',
  RATE_LIMIT_VOICE_STATE: '100000000/1m',
  RATE_LIMIT_PRESENCE: '100000000/1m',
};

export const voice: Scenario = {
  name: 'voice',
  description:
    `${users} users in ${settings.communities} communities of ${settings.membersPerCommunity} (${settings.voiceChannelsPerCommunity} voice channels each, ` +
    `capacity ${settings.capacity}), spread over ${settings.pods} Parley pods, each cycling voice:room:request → voice:leave in an open loop at ` +
    `${settings.rates.join(', ')} requests/s: request → grant latency, next to Parley on 1 pod and a bare Socket.IO + Redis-adapter relay ` +
    `(acknowledged echo, and a broadcast to the community) under the same schedule.`,
  async run(context) {
    context.log('starting Postgres and Redis, migrating a private database');
    const { services, seeder } = await startSeededServices();
    try {
      const { seeded, channels, rooms } = await seed(seeder, context);
      const channelFor = (index: number, cycle: number) => {
        const own = channels[Math.floor(index / settings.membersPerCommunity)]!;
        return unitHash(index, cycle) < settings.loungeShare ? own[0]! : own[1]!;
      };
      const open = (start: () => Promise<VoiceTarget>) =>
        openVoiceSession({
          start,
          services,
          count: users,
          channelFor,
          connectConcurrency: settings.connectConcurrency,
          signal: context.signal,
          log: context.log,
        });

      const parley3Session = await open(() => parleyVoiceTarget(services, settings.pods, seeded, podEnv));
      let grantCheck: GrantCheck;
      try {
        grantCheck = await checkGrant(parley3Session, channels[0]![0]!);
        context.log(`grant check: ${grantCheck.summary}`);
      } catch (error) {
        await parley3Session.close();
        throw error;
      }
      const parley3 = await measure(parley3Session, [{ key: 'parley', label: parley3Session.target.label, wire: parleyVoiceWire }], context, seeder);
      const parley1Session = await open(() => parleyVoiceTarget(services, 1, seeded, podEnv));
      const parley1 = await measure(parley1Session, [{ key: 'parley-1-pod', label: parley1Session.target.label, wire: parleyVoiceWire }], context, seeder);
      const relay = await measure(
        await open(() => relayVoiceTarget(services, settings.relays, (index) => rooms[Math.floor(index / settings.membersPerCommunity)]!)),
        [
          { key: 'relay-echo', label: `bare relay echo, ${settings.relays} processes`, wire: relayVoiceWire('echo') },
          { key: 'relay-broadcast', label: `bare relay broadcast, ${settings.relays} processes`, wire: relayVoiceWire('broadcast') },
        ],
        context,
      );
      return voiceReport({ services, settings: settings, podEnv, grantCheck, runs: [...parley3, ...parley1, ...relay] });
    } finally {
      await seeder.close().catch(() => {});
      await services.dispose();
    }
  },
};

async function seed(seeder: Seeder, context: ScenarioContext): Promise<{ seeded: SeededUser[]; channels: string[][]; rooms: string[] }> {
  const { communities, membersPerCommunity, voiceChannelsPerCommunity } = settings;
  context.log(`seeding ${users} users with sessions and ${communities} communities of ${membersPerCommunity} with ${voiceChannelsPerCommunity} voice channels each`);
  const seeded = await seeder.users(users, 'voice');
  const channels: string[][] = [];
  const rooms: string[] = [];
  for (let group = 0; group < communities; group += 1) {
    const members = seeded.slice(group * membersPerCommunity, (group + 1) * membersPerCommunity);
    const community = await seeder.community(members[0]!, `voice ${group}`);
    await seeder.addMembers(community, members.slice(1).map((user) => user.id));
    channels.push(await seeder.voiceChannels(community, voiceChannelsPerCommunity));
    rooms.push(community.serverId);
  }
  return { seeded, channels, rooms };
}

/** A number in [0, 1) fixed by (client, cycle): every server sees the same sequence of channels. */
function unitHash(index: number, cycle: number): number {
  return createHash('sha256').update(`${index}:${cycle}`).digest().readUInt32BE(0) / 2 ** 32;
}

/** Every rate on one session, once per wire (the relay runs both of its modes on the same connections), then closes it. */
async function measure(
  session: VoiceSession,
  modes: ReadonlyArray<{ key: VoiceRunKey; label: string; wire: VoiceWire }>,
  context: ScenarioContext,
  seeder?: Seeder,
): Promise<VoiceRun[]> {
  try {
    const runs: VoiceRun[] = [];
    for (const { key, label, wire } of modes) {
      const steps: VoicePhaseResult[] = [];
      for (const rate of settings.rates) {
        const measureMs = Math.max(settings.minMeasureMs, Math.ceil((settings.minSamples / rate) * 1000));
        const step = await runVoicePhase(session, wire, {
          rate,
          warmupMs: settings.warmupMs,
          measureMs,
          holdShare: settings.holdShare,
          ackTimeoutMs: settings.ackTimeoutMs,
          catchUpMaxMs: settings.catchUpMaxMs,
          seatingConcurrency: settings.seatingConcurrency,
          ...(session.target.kind === 'parley' && seeder ? { seeder } : {}),
          signal: context.signal,
        });
        const g = step.grantLatencyMs;
        context.log(
          `  ${label}, ${rate}/s: ${step.acksPerSecond.toFixed(0)} granted/s, p50 ${g.p50.toFixed(1)} ms, p99 ${g.p99.toFixed(1)} ms, ` +
            `${step.events.perSecond.toFixed(0)} events/s, machine ${step.cpu.machineBusyPercent.toFixed(0)}% busy` +
            `${step.catchUpMs > 100 ? `, caught up after ${(step.catchUpMs / 1000).toFixed(1)} s` : ''}`,
        );
        steps.push(step);
      }
      const logs = session.target.logs;
      runs.push({
        key,
        label,
        kind: session.target.kind,
        steps,
        connect: session.pool.report,
        unexpectedDisconnects: session.pool.unexpectedDisconnects,
        ...(logs ? { logNote: describeTally(session.target.label, logs) } : {}),
      });
    }
    return runs;
  } finally {
    await session.close();
  }
}

/**
 * One request before the load, checked the way an SFU would: the join token
 * verifies (ES256 only) against the pod's published JWKS, and the ICE servers
 * carry a TURN credential. So the load measures the whole grant path.
 */
async function checkGrant(session: VoiceSession, channelId: string): Promise<GrantCheck> {
  const socket = session.users[0]!.socket;
  const grant = (await socket.timeout(settings.ackTimeoutMs).emitWithAck('voice:room:request', channelId)) as {
    ok?: boolean;
    join_token?: string;
    ice_servers?: Array<{ urls: string[]; username?: string; credential?: string }>;
    error?: { code?: string };
  };
  if (!grant.ok || !grant.join_token) throw new Error(`the grant check was refused: ${grant.error?.code ?? 'no join token'}`);
  const jwks = (await (await fetch(`${session.target.urls[0]}/.well-known/jwks.json`)).json()) as JSONWebKeySet;
  const { alg, kid } = decodeProtectedHeader(grant.join_token);
  const { payload } = await jwtVerify(grant.join_token, createLocalJWKSet(jwks), { algorithms: ['ES256'] });
  const turn = grant.ice_servers?.find((server) => server.urls.some((url) => url.startsWith('turn:')) && server.credential);
  const left = (await socket.timeout(settings.ackTimeoutMs).emitWithAck('voice:leave', {})) as { ok?: boolean };
  if (!left.ok) throw new Error('the grant check could not leave its seat');
  return {
    algorithm: alg ?? 'none',
    turnCredential: Boolean(turn),
    tokenLength: grant.join_token.length,
    summary: `join token ${alg} (kid ${kid?.slice(0, 8)}…) verified against the pod's JWKS, expires in ${Number(payload.exp) - Math.floor(Date.now() / 1000)} s; ${turn ? 'TURN credential present' : 'no TURN credential'}`,
  };
}
