import type { BackingServices } from '../lib/backing-services.ts';
import { runClosedChatLoop, runOpenLoop } from '../lib/chat-load.ts';
import { bottleneckNote, cpuPer10kDeliveries, cpuTable, failuresCell } from '../lib/chat-report.ts';
import { openChatSession, parleyTarget, relayTarget, type ChatSession, type ChatTarget } from '../lib/chat-session.ts';
import { ratio } from '../lib/latency-stats.ts';
import { runPhase, type PhaseResult } from '../lib/load-phase.ts';
import { describeTally } from '../lib/pod-log-tally.ts';
import { describeActivity, PostgresActivitySampler, type PostgresActivity } from '../lib/postgres-activity.ts';
import type { Scenario, ScenarioContext, ScenarioResult, Table } from '../lib/scenario.ts';
import { startSeededServices, type Seeder, type SeededCommunity, type SeededUser } from '../lib/seeder.ts';

const settings = {
  senders: 10,
  /** Closed loop: messages each sender keeps awaiting their ack, enough to saturate the server (the SDK allows 64 per connection). */
  inFlightPerSender: 8,
  receivers: 30,
  messageBytes: 100,
  parleyPods: [1, 3],
  relays: 3,
  warmupMs: 1000,
  closedMeasureMs: 20_000,
  openMeasureMs: 20_000,
  drainMs: 3000,
  ackTimeoutMs: 10_000,
  connectConcurrency: 40,
};

const members = settings.senders + settings.receivers;

/** The issue's goal for this 2-core machine: reported against, never asserted. */
const goals = { persistedPerSecond: 5_000, persistedVsRelay: 0.7 };

interface ServerRun {
  label: string;
  closed: PhaseResult;
  /** At half the closed loop's rate (the relay: at Parley 3 pods' open-loop rate, the same load). */
  open: PhaseResult;
  openRate: number;
  /** What the pods' Postgres connections did, on average, during each loop (Parley only). */
  postgres?: { closed: PostgresActivity; open: PostgresActivity };
  unexpectedDisconnects: number;
  /** What the pods logged at warn and above (Parley only). */
  logNote?: string;
}

export const busyChannel: Scenario = {
  name: 'busy-channel',
  description:
    `${settings.senders} senders and ${settings.receivers} receivers in one channel: ${settings.closedMeasureMs / 1000} s closed loop ` +
    `(each sender sends on its last ack), then ${settings.openMeasureMs / 1000} s open loop at half that rate; on 1 and on 3 Parley pods, ` +
    `and on a bare Socket.IO + Redis-adapter relay.`,
  async run(context) {
    context.log('starting Postgres and Redis, migrating a private database');
    const { services, seeder } = await startSeededServices();
    try {
      context.log(`seeding ${members} users and one community with one channel`);
      const users = await seeder.users(members, 'busy');
      const community = await seeder.community(users[0]!, 'busy channel');
      await seeder.addMembers(community, users.slice(1).map((user) => user.id));
      const lastSeq = () => seeder.lastSeq(community.channelId);

      const parley: ServerRun[] = [];
      for (const pods of settings.parleyPods) {
        parley.push(await measure(await open(() => parleyTarget(services, pods, users), services, community, context), context, { lastSeq, seeder }));
      }
      const parley3 = parley.at(-1)!;
      const relay = await measure(await open(() => relayTarget(services, settings.relays), services, community, context), context, {
        openRate: parley3.openRate,
      });
      return report(services, parley, relay, users, community);
    } finally {
      await seeder.close().catch(() => {});
      await services.dispose();
    }
  },
};

function open(start: () => Promise<ChatTarget>, services: BackingServices, community: SeededCommunity, context: ScenarioContext) {
  return openChatSession({
    start,
    services,
    count: members,
    roomOf: () => community.channelId,
    peersOf: () => members - 1,
    connectConcurrency: settings.connectConcurrency,
    signal: context.signal,
    log: context.log,
  });
}

/** Closed loop, then open loop at `openRate` (default: half the closed loop's acknowledged rate). */
async function measure(
  session: ChatSession,
  context: ScenarioContext,
  options: { lastSeq?: () => Promise<number>; openRate?: number; seeder?: Seeder },
): Promise<ServerRun> {
  const sampled = async <T>(work: () => Promise<T>): Promise<[T, PostgresActivity | undefined]> => {
    const sampler = options.seeder && PostgresActivitySampler.start(options.seeder);
    const result = await work().finally(() => sampler?.stop());
    return [result, await sampler?.stop()];
  };
  const { target, recorder, meter } = session;
  const senders = session.clients.slice(0, settings.senders);
  try {
    context.log(`${target.label}: closed loop, ${settings.senders} senders, ${settings.closedMeasureMs / 1000} s`);
    const [closed, closedPostgres] = await sampled(() => runPhase({
      warmupMs: settings.warmupMs,
      measureMs: settings.closedMeasureMs,
      drainMs: settings.drainMs,
      meter,
      recorder,
      probe: options.lastSeq,
      signal: context.signal,
      load: (durationMs) =>
        runClosedChatLoop({
          senders,
          wire: target.wire,
          durationMs,
          messageBytes: settings.messageBytes,
          recorder,
          ackTimeoutMs: settings.ackTimeoutMs,
          inFlightPerSender: settings.inFlightPerSender,
          signal: context.signal,
        }),
    }));
    context.log(`  ${closed.acksPerSecond.toFixed(0)} msgs/s acknowledged, ${closed.deliveriesPerSecond.toFixed(0)} deliveries/s`);
    const openRate = options.openRate ?? Math.max(1, Math.round(closed.acksPerSecond / 2));
    context.log(`${target.label}: open loop at ${openRate} msgs/s, ${settings.openMeasureMs / 1000} s`);
    const [openLoop, openPostgres] = await sampled(() => runPhase({
      warmupMs: settings.warmupMs,
      measureMs: settings.openMeasureMs,
      drainMs: settings.drainMs,
      meter,
      recorder,
      probe: options.lastSeq,
      signal: context.signal,
      load: (durationMs) =>
        runOpenLoop({ clients: senders, wire: target.wire, rate: openRate, durationMs, messageBytes: settings.messageBytes, recorder, signal: context.signal }),
    }));
    context.log(`  receive p99 ${openLoop.receiveLatencyMs.p99.toFixed(1)} ms`);
    const postgres = closedPostgres && openPostgres ? { closed: closedPostgres, open: openPostgres } : undefined;
    return {
      label: target.label,
      closed,
      open: openLoop,
      openRate,
      postgres,
      unexpectedDisconnects: session.pool.unexpectedDisconnects,
      ...(target.logs ? { logNote: describeTally(target.label, target.logs) } : {}),
    };
  } finally {
    await session.close();
  }
}

function report(
  services: BackingServices,
  parley: readonly ServerRun[],
  relay: ServerRun,
  users: readonly SeededUser[],
  community: SeededCommunity,
): ScenarioResult {
  const runs = [...parley, relay];
  const row = (run: ServerRun, loop: 'closed' | 'open') => {
    const r = run[loop];
    return [
      run.label,
      loop === 'closed' ? `closed, ${settings.senders} senders` : `open, ${run.openRate} msgs/s`,
      r.acksPerSecond,
      Number.isFinite(r.probeDelta) ? r.probeDelta / (r.windowMs / 1000) : Number.NaN,
      r.deliveriesPerSecond,
      r.ackLatencyMs.p50,
      r.ackLatencyMs.p99,
      r.receiveLatencyMs.p50,
      r.receiveLatencyMs.p99,
      failuresCell(r),
      cpuPer10kDeliveries(r).servers,
      r.cpu.machineBusyPercent,
    ];
  };
  const main: Table = {
    title: `One channel of ${members}: ${settings.senders} senders, every message heard by the ${members - 1} others; latency in ms`,
    columns: ['server', 'loop', 'acked msgs/s', 'last_seq +/s', 'deliveries/s', 'ack p50', 'ack p99', 'receive p50', 'receive p99', 'failures', 'server CPU ms /10k deliveries', 'machine busy %'],
    rows: runs.flatMap((run) => [row(run, 'closed'), row(run, 'open')]),
  };
  const [one, three] = [parley[0]!, parley.at(-1)!];
  const figure = (name: string, of: (run: ServerRun) => number) => [name, of(three), of(one), of(relay), ratio(of(three), of(one)), ratio(of(three), of(relay))];
  const comparison: Table = {
    title: `${three.label} as ratios to ${one.label} and to the bare relay`,
    columns: ['figure', three.label, one.label, relay.label, '÷ 1 pod', '÷ relay'],
    rows: [
      figure('closed loop: acked msgs/s', (run) => run.closed.acksPerSecond),
      figure('closed loop: deliveries/s', (run) => run.closed.deliveriesPerSecond),
      figure('closed loop: ack p99 ms', (run) => run.closed.ackLatencyMs.p99),
      figure('open loop: receive p50 ms', (run) => run.open.receiveLatencyMs.p50),
      figure('open loop: receive p99 ms', (run) => run.open.receiveLatencyMs.p99),
      figure('open loop: server CPU ms per 10k deliveries', (run) => cpuPer10kDeliveries(run.open).servers),
    ],
  };
  const persisted = three.closed.acksPerSecond;
  const targets: Table = {
    title: "Against the issue's goal (reported, not asserted)",
    columns: ['goal', 'target', 'measured', 'where we land'],
    rows: [
      [`persisted msgs/s across ${settings.parleyPods.at(-1)} pods (closed loop)`, `≥ ${goals.persistedPerSecond}`, persisted, persisted >= goals.persistedPerSecond ? 'met' : 'not met'],
      [
        `persisted msgs/s across ${settings.parleyPods.at(-1)} pods ÷ the relay's acked msgs/s (closed loop)`,
        `≥ ${goals.persistedVsRelay}×`,
        ratio(persisted, relay.closed.acksPerSecond),
        persisted / relay.closed.acksPerSecond >= goals.persistedVsRelay ? 'met' : 'not met',
      ],
    ],
  };
  const phases = runs.flatMap((run) => [
    { label: `${run.label}, closed`, result: run.closed },
    { label: `${run.label}, open`, result: run.open },
  ]);
  const notes = [
    `The scenario the reference single-node server was measured on: one busy channel. Closed loop: each of the ${settings.senders} senders keeps ${settings.inFlightPerSender} messages awaiting their acknowledgement and sends the next when one is acknowledged (Parley acknowledges after the commit, the relay after its broadcast), so "acked msgs/s" is the most the server persists with ${settings.senders * settings.inFlightPerSender} in flight. Open loop: the same senders, sends scheduled at half that rate whatever the acks do; the relay's open loop runs at Parley ${settings.parleyPods.at(-1)} pods' open-loop rate, the same load.`,
    `"last_seq +/s" is the channel's sequence in Postgres (channels.last_seq) read when the window opened and closed: messages persisted per second, counted by the database. Deliveries count every chat:new (relay: message) received by the ${members} clients, senders included (a sender hears the others).`,
    `Clients are spread round-robin over the servers (senders are clients 0-${settings.senders - 1}), so on several servers most deliveries cross Redis. Each window has ${settings.warmupMs / 1000} s of load before it opens; latency is from the send time written in the message to its arrival, in the bench process.`,
    ...phases.map(({ label, result }) => bottleneckNote(label, result)),
    ...parley.flatMap((run) =>
      run.postgres
        ? [`${run.label}: the pods' Postgres connections on average (pg_stat_activity every 250 ms, warm-up included) — closed loop: ${describeActivity(run.postgres.closed)}; open loop: ${describeActivity(run.postgres.open)}. Every batch (group commit) takes the channel's row lock until its transaction commits: "waiting for a lock" is how many batches, of all the pods, queued on it at an average moment.`]
        : [],
    ),
    `Connections lost during the load: ${runs.map((run) => `${run.label} ${run.unexpectedDisconnects}`).join(', ')}.`,
    ...runs.flatMap((run) => (run.logNote ? [run.logNote] : [])),
    `Postgres: ${services.sources.postgres}, Redis: ${services.sources.redis}; everything shares this machine's cores.`,
  ];
  return {
    parameters: {
      senders: settings.senders,
      receivers: settings.receivers,
      'message bytes': settings.messageBytes,
      'Parley pods': settings.parleyPods.join(' and '),
      'relay processes': settings.relays,
      'closed-loop window': `${settings.warmupMs / 1000} s + ${settings.closedMeasureMs / 1000} s`,
      'open-loop window': `${settings.warmupMs / 1000} s + ${settings.openMeasureMs / 1000} s`,
    },
    tables: [main, comparison, targets, cpuTable('CPU per process', phases)],
    notes,
    data: { settings, goals, members: users.length, channelId: community.channelId, runs },
  };
}
