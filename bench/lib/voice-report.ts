import type { BackingServices } from './backing-services.ts';
import { bottleneckNote } from './chat-report.ts';
import { ratio } from './latency-stats.ts';
import { describeActivity } from './postgres-activity.ts';
import { cpuOfRole, type CpuTarget } from './process-cpu.ts';
import type { ScenarioResult, Table } from './scenario.ts';
import type { ConnectReport } from './socket-pool.ts';
import type { VoicePhaseResult } from './voice-phase.ts';

/** Which measurement a run is: Parley on every pod, Parley on one, the relay's echo, the relay's broadcast. */
export type VoiceRunKey = 'parley' | 'parley-1-pod' | 'relay-echo' | 'relay-broadcast';

/** One server (or relay mode) measured at every rate. */
export interface VoiceRun {
  key: VoiceRunKey;
  label: string;
  kind: 'parley' | 'relay';
  steps: VoicePhaseResult[];
  connect: ConnectReport;
  unexpectedDisconnects: number;
  /** What the pods logged at warn and above (Parley only). */
  logNote?: string;
}

/** The grant taken before the load and checked as an SFU would check it. */
export interface GrantCheck {
  algorithm: string;
  turnCredential: boolean;
  /** Characters of the join token. */
  tokenLength: number;
  summary: string;
}

export interface VoiceReportInput {
  services: BackingServices;
  settings: {
    communities: number;
    membersPerCommunity: number;
    voiceChannelsPerCommunity: number;
    capacity: number;
    loungeShare: number;
    holdShare: number;
    pods: number;
    relays: number;
    rates: number[];
    warmupMs: number;
    minMeasureMs: number;
    minSamples: number;
    ackTimeoutMs: number;
    seatingConcurrency: number;
  };
  podEnv: Record<string, string>;
  grantCheck: GrantCheck;
  runs: VoiceRun[];
}

/** A window where processes outside the benchmark used more than this (% of one core) is flagged in the notes. */
const DISTURBED_PERCENT_OF_CORE = 25;

const roles: ReadonlyArray<CpuTarget['role']> = ['postgres', 'redis', 'load generator'];

function codes(counts: Record<string, number>, unanswered = 0): string {
  const parts = Object.entries(counts).map(([code, count]) => `${count} ${code}`);
  if (unanswered > 0) parts.push(`${unanswered} unacked`);
  return parts.join(', ') || '0';
}

/** CPU ms of the servers (pods or relays) and of each other role, per request → leave cycle (per request sent in the window). */
function cpuPerCycle(step: VoicePhaseResult): { servers: number; byRole: number[]; total: number } {
  const per = (ms: number) => (step.sends > 0 ? ms / step.sends : Number.NaN);
  const servers = cpuOfRole(step.cpu, 'pod') + cpuOfRole(step.cpu, 'relay');
  const others = roles.map((role) => cpuOfRole(step.cpu, role));
  const total = [servers, ...others].filter(Number.isFinite).reduce((sum, ms) => sum + ms, 0);
  return { servers: per(servers), byRole: others.map(per), total: per(total) };
}

function percentOfRole(step: VoicePhaseResult, role: CpuTarget['role']): number {
  return step.cpu.targets.filter((target) => target.role === role).reduce((sum, target) => sum + target.percentOfCore, 0);
}

const pair = (a: number, b: number) => `${Number.isFinite(a) ? a.toFixed(1) : '–'} / ${Number.isFinite(b) ? b.toFixed(1) : '–'}`;

/** The `voice` scenario's tables and notes: latency per rate, Parley against its baselines, CPU. */
export function voiceReport(input: VoiceReportInput): ScenarioResult {
  const { settings, runs, grantCheck, services } = input;
  const users = settings.communities * settings.membersPerCommunity;
  const topRate = settings.rates.at(-1)!;
  const stepAt = (run: VoiceRun | undefined, rate: number) => run?.steps.find((step) => step.rate === rate);

  const latency: Table = {
    title: 'voice:room:request → granted (the acknowledgement carrying the grant), open loop; latency in ms from the scheduled send',
    columns: ['server', 'offered req/s', 'sent req/s', 'granted req/s', 'p50', 'p95', 'p99', 'max', 'request failures', 'leave failures', 'events to clients/s', 'catch-up s', 'machine busy %'],
    rows: runs.flatMap((run) =>
      run.steps.map((step) => [
        run.label,
        step.rate,
        step.sendsPerSecond,
        step.acksPerSecond,
        step.grantLatencyMs.p50,
        step.grantLatencyMs.p95,
        step.grantLatencyMs.p99,
        step.grantLatencyMs.max,
        codes(step.ackErrors, step.missingAcks),
        codes(step.leaves.errors),
        step.events.perSecond,
        step.catchUpMs / 1000,
        step.cpu.machineBusyPercent,
      ]),
    ),
  };

  const [parley3, parley1, echo, broadcast] = (['parley', 'parley-1-pod', 'relay-echo', 'relay-broadcast'] as const).map((key) =>
    runs.find((run) => run.key === key),
  );
  const comparison: Table = {
    title: 'What the grant path adds to Socket.IO + Redis: the same schedule on each; p50 / p99 in ms',
    columns: ['offered req/s', parley3?.label ?? '–', parley1?.label ?? '–', broadcast?.label ?? '–', echo?.label ?? '–', `p50 ${settings.pods} pods − broadcast`, `p99 ${settings.pods} pods ÷ broadcast`, `server CPU ms/cycle ${settings.pods} pods`, 'broadcast', 'echo'],
    rows: settings.rates.map((rate) => {
      const [p3, p1, bc, ec] = [stepAt(parley3, rate), stepAt(parley1, rate), stepAt(broadcast, rate), stepAt(echo, rate)];
      const cell = (step: VoicePhaseResult | undefined) => pair(step?.grantLatencyMs.p50 ?? Number.NaN, step?.grantLatencyMs.p99 ?? Number.NaN);
      return [
        rate,
        cell(p3),
        cell(p1),
        cell(bc),
        cell(ec),
        (p3?.grantLatencyMs.p50 ?? Number.NaN) - (bc?.grantLatencyMs.p50 ?? Number.NaN),
        ratio(p3?.grantLatencyMs.p99 ?? Number.NaN, bc?.grantLatencyMs.p99 ?? Number.NaN),
        p3 ? cpuPerCycle(p3).servers : Number.NaN,
        bc ? cpuPerCycle(bc).servers : Number.NaN,
        ec ? cpuPerCycle(ec).servers : Number.NaN,
      ];
    }),
  };

  const cpu: Table = {
    title: 'CPU per window: % of one core by role, and CPU ms per request → leave cycle',
    columns: ['server', 'offered req/s', 'servers %', 'postgres %', 'redis %', 'load gen %', 'everything else %', 'machine busy %', 'ms/cycle servers', 'postgres', 'redis', 'load gen', 'total'],
    rows: runs.flatMap((run) =>
      run.steps.map((step) => {
        const perCycle = cpuPerCycle(step);
        return [
          run.label,
          step.rate,
          percentOfRole(step, run.kind === 'parley' ? 'pod' : 'relay'),
          ...roles.map((role) => percentOfRole(step, role)),
          step.cpu.otherPercentOfCore,
          step.cpu.machineBusyPercent,
          perCycle.servers,
          ...perCycle.byRole,
          perCycle.total,
        ];
      }),
    ),
  };

  const perProcess: Table = {
    title: `CPU per process at ${topRate} requests/s`,
    columns: ['server', 'process', 'CPU % of a core', 'CPU ms per cycle'],
    rows: runs.flatMap((run) => {
      const step = stepAt(run, topRate);
      if (!step) return [];
      return [
        ...step.cpu.targets.map((target) => [run.label, target.name, target.percentOfCore, step.sends > 0 ? target.cpuMs / step.sends : Number.NaN]),
        [run.label, 'everything else on the machine (not this benchmark)', step.cpu.otherPercentOfCore, Number.NaN],
        [run.label, `whole machine (${step.cpu.cores} cores = ${step.cpu.cores * 100}%)`, step.cpu.machineBusyPercent * step.cpu.cores, Number.NaN],
      ];
    }),
  };

  const cycleSeconds = (rate: number) => Number((users / rate).toFixed(2));
  const seatedPerLounge = settings.membersPerCommunity * settings.holdShare * settings.loungeShare;
  const windows = runs.flatMap((run) => run.steps.map((step) => ({ run, step })));
  const seatingRefusals = windows.filter(({ step }) => Object.keys(step.seating.refused).length > 0);
  const disturbed = windows.filter(({ step }) => step.cpu.otherPercentOfCore > DISTURBED_PERCENT_OF_CORE);
  const notes = [
    disturbed.length === 0
      ? `Nothing outside the benchmark used more than ${DISTURBED_PERCENT_OF_CORE}% of a core in any window.`
      : `**Other work on the machine**: in ${disturbed.length} of ${windows.length} windows, processes outside the benchmark used more than ${DISTURBED_PERCENT_OF_CORE}% of a core ` +
        `(${disturbed.map(({ run, step }) => `${run.label} at ${step.rate}/s: ${step.cpu.otherPercentOfCore.toFixed(0)}%`).join('; ')}). Those rows had fewer cores than the others: their latency is too high.`,
    `Schedule (open loop, the same on every server): request i is due at start + i ÷ rate from client i mod ${users}, so each client asks once per cycle of ${users} ÷ rate s (${cycleSeconds(settings.rates[0]!)} s at ${settings.rates[0]}/s, ${cycleSeconds(topRate)} s at ${topRate}/s) and gives its seat back (voice:leave) ${settings.holdShare * 100}% of a cycle later, once its request was answered: about ${settings.holdShare * 100}% of the users sit at any time. Latency runs from the scheduled time to the acknowledgement, so a late generator or a backlog shows as latency; the voice:room:granted event is emitted just before the acknowledgement. Before each window the seats of that steady state are taken (unmeasured, ${settings.seatingConcurrency} requests at a time) and given back on the loop's schedule, so the window starts with rooms as full as later on rather than empty; each window lasts at least ${settings.minMeasureMs / 1000} s and ${settings.minSamples} requests, after a ${settings.warmupMs / 1000} s warm-up; then every request and leave is answered and every seat given back.`,
    `Rooms: ${settings.communities} communities of ${settings.membersPerCommunity} (clients of a community spread over the servers round-robin), ${settings.voiceChannelsPerCommunity} voice channels each (${settings.communities * settings.voiceChannelsPerCommunity} in all, capacity ${settings.capacity}); ${settings.loungeShare * 100}% of requests go to the community's first channel, so about ${seatedPerLounge.toFixed(0)} of ${settings.capacity} seats are taken there: contended, full now and then. room_full and every other refusal are counted as failures by code, never as latency samples; a request answered with room_full leaves no seat to give back.`,
    `Per request Parley spends the voice rate limiter (Redis), reads the channel with the user's membership, roles and overrides (one Postgres query), runs the seat Lua script (Redis), signs an ES256 join token, derives a TURN credential (HMAC-SHA1), and announces voice:joined to the channel's readers (the whole community, ${settings.membersPerCommunity} clients) plus voice:owner to the user; a leave spends the limiter, runs the release script and announces voice:left and voice:owner. "events to clients/s" counts those announcements as received by the bench's clients (about ${2 * settings.membersPerCommunity + 3} per cycle).`,
    ...(seatingRefusals.length === 0
      ? []
      : [`Refused while seating the steady state (not counted above): ${seatingRefusals.map(({ run, step }) => `${run.label} at ${step.rate}/s ${codes(step.seating.refused)}`).join('; ')}.`]),
    `Grant check before the load: ${grantCheck.summary}; the join token is ${grantCheck.tokenLength} characters.`,
    `Baselines (bench/baseline/bare-relay.ts, ${settings.relays} processes sharing Redis, same clients and schedule): "echo" only acknowledges each request and leave — the bare Socket.IO round trip; "broadcast" relays a 250-byte payload to the client's community room through the Redis adapter and acknowledges — the same fan-out as Parley's announcements with none of the per-request work. Parley minus broadcast is what the rate limit, access query, seat script, signature and TURN credential cost.`,
    ...runs.flatMap((run) => {
      const step = stepAt(run, topRate);
      return step ? [bottleneckNote(`${run.label} at ${topRate}/s`, step)] : [];
    }),
    ...runs.flatMap((run) => {
      const step = stepAt(run, topRate);
      return step?.postgres ? [`${run.label} at ${topRate}/s: the pods' Postgres connections on average (pg_stat_activity every 250 ms): ${describeActivity(step.postgres)}.`] : [];
    }),
    `Generator schedule lag at ${topRate}/s (p99 / max ms): ${runs.map((run) => `${run.label} ${pair(stepAt(run, topRate)?.scheduleLag.p99Ms ?? Number.NaN, stepAt(run, topRate)?.scheduleLag.maxMs ?? Number.NaN)}`).join('; ')}.`,
    `Connections lost during the load: ${runs.map((run) => `${run.label} ${run.unexpectedDisconnects}`).join(', ')}.`,
    ...runs.flatMap((run) => (run.logNote ? [run.logNote] : [])),
    `Postgres: ${services.sources.postgres}, Redis: ${services.sources.redis}. Pods, relays, Postgres, Redis and the load generator share this machine's cores; compare rows within one run.`,
  ];

  return {
    parameters: {
      users,
      'communities × members': `${settings.communities} × ${settings.membersPerCommunity}`,
      'voice channels (capacity)': `${settings.communities * settings.voiceChannelsPerCommunity} (${settings.capacity})`,
      'share of requests to the first channel': settings.loungeShare,
      'seat held (share of a cycle)': settings.holdShare,
      'Parley pods': settings.pods,
      'relay processes': settings.relays,
      'offered rates (req/s)': settings.rates.join(', '),
      window: `${settings.warmupMs / 1000} s warm-up + max(${settings.minMeasureMs / 1000} s, ${settings.minSamples} requests)`,
      'ack timeout (ms)': settings.ackTimeoutMs,
      'pod environment': Object.entries(input.podEnv)
        .filter(([name]) => name !== 'TURN_SECRET')
        .map(([name, value]) => `${name}=${value}`)
        .join(' '),
    },
    tables: [latency, comparison, cpu, perProcess],
    notes,
    data: { settings, grantCheck, runs },
  };
}
