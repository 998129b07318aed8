import type { Socket } from 'socket.io-client';
import { limits } from '@parley/protocol';
import type { BackingServices } from '../lib/backing-services.ts';
import { runClosedLoop } from '../lib/closed-loop.ts';
import { latencyFigures, ratio, type LatencyFigures } from '../lib/latency-stats.ts';
import { podTargets, startParley } from '../lib/parley-cluster.ts';
import { describeActivity, PostgresActivitySampler, type PostgresActivity } from '../lib/postgres-activity.ts';
import { CpuMeter, cpuOfRole, selfTarget, type CpuReport } from '../lib/process-cpu.ts';
import { describeTally, PodLogTally } from '../lib/pod-log-tally.ts';
import type { Scenario, ScenarioContext, ScenarioResult, Table } from '../lib/scenario.ts';
import { startSeededServices, type Seeder, type SeededCommunity } from '../lib/seeder.ts';
import { backingServiceTargets } from '../lib/service-processes.ts';
import { SocketPool, type ConnectReport } from '../lib/socket-pool.ts';
import { sleep } from '../lib/stamp.ts';

const settings = {
  pods: 3,
  /** Joins per phase, in sequence, into the same community; each phase in batches (measured one by one). */
  phases: [
    { joins: 1_000, batch: 250 },
    { joins: 10_000, batch: 1_000 },
  ],
  /** server:join requests in flight at once. */
  concurrency: 200,
  connectConcurrency: 100,
  joinAckTimeoutMs: 30_000,
  /** After a batch, wait until no byte has arrived for this long (at most `settleMaxMs`), so late broadcasts count. */
  settleQuietMs: 300,
  settleMaxMs: 5_000,
};

const joiners = settings.phases.reduce((sum, phase) => sum + phase.joins, 0);

interface BatchResult {
  membersBefore: number;
  membersAfter: number;
  joins: number;
  failures: Record<string, number>;
  durationMs: number;
  latencies: number[];
  /** Bytes received during the batch and its settling, by every client / by the batch's joiners. */
  bytesAll: number;
  bytesJoiners: number;
}

interface PhaseResult {
  name: string;
  batches: BatchResult[];
  joins: number;
  /** Sum of the batches' times from first request to last acknowledgement. */
  durationMs: number;
  joinsPerSecond: number;
  ackLatencyMs: LatencyFigures;
  failures: Record<string, number>;
  bytesPerJoin: number;
  bytesPerJoinToJoiner: number;
  bytesPerJoinToOthers: number;
  cpu: CpuReport;
  postgres: PostgresActivity;
}

export const joins: Scenario = {
  name: 'joins',
  description:
    `${settings.phases.map((phase) => phase.joins.toLocaleString('en-US')).join(' then ')} users join one open community through ` +
    `server:join (${settings.concurrency} in flight), all of them connected beforehand across ${settings.pods} Parley pods: time until all ` +
    `have joined, and bytes sent to clients per join, below and above the ${limits.memberEvents.maxMembers}-member announcement threshold.`,
  async run(context) {
    context.log('starting Postgres and Redis, migrating a private database');
    const { services, seeder } = await startSeededServices();
    try {
      context.log(`seeding ${joiners + 1} users with sessions and one open community`);
      const users = await seeder.users(joiners + 1, 'join');
      const community = await seeder.community(users[0]!, 'joins', 'open');
      const tally = new PodLogTally();
      const cluster = await startParley(services, settings.pods, { tally });
      try {
        context.log(`connecting ${joiners} clients across ${settings.pods} pods, ${settings.connectConcurrency} handshakes at a time`);
        const pool = await SocketPool.connect(
          users.slice(1).map((user, index) => ({
            url: cluster.url(index % settings.pods),
            auth: { token: user.token, clientInstanceId: `join-${index}` },
          })),
          {
            concurrency: settings.connectConcurrency,
            countBytes: true,
            signal: context.signal,
            onProgress: (done, total) => context.log(`  ${done} / ${total} connected`),
            progressEvery: 2000,
          },
        );
        try {
          const meter = new CpuMeter([...podTargets(cluster), ...backingServiceTargets(services), selfTarget()]);
          const connected = pool.sockets.flatMap((socket, index) => (socket ? [{ socket, index }] : []));
          const phases: PhaseResult[] = [];
          let first = 0;
          for (const phase of settings.phases) {
            const joinersOfPhase = connected.slice(first, first + phase.joins);
            first += phase.joins;
            phases.push(await runJoinPhase(`${phase.joins.toLocaleString('en-US')} joins`, joinersOfPhase, phase.batch, { pool, meter, seeder, community, context }));
          }
          return report(services, pool.report, phases, pool.unexpectedDisconnects, describeTally('During the scenario', tally));
        } finally {
          await pool.close();
        }
      } finally {
        await cluster.stop();
      }
    } finally {
      await seeder.close().catch(() => {});
      await services.dispose();
    }
  },
};

async function runJoinPhase(
  name: string,
  clients: ReadonlyArray<{ socket: Socket; index: number }>,
  batchSize: number,
  deps: { pool: SocketPool; meter: CpuMeter; seeder: Seeder; community: SeededCommunity; context: ScenarioContext },
): Promise<PhaseResult> {
  const { pool, meter, seeder, community, context } = deps;
  context.log(`${name}: ${clients.length} clients join in batches of ${batchSize}`);
  const before = meter.snapshot();
  const activity = PostgresActivitySampler.start(seeder);
  const batches: BatchResult[] = [];
  for (let start = 0; start < clients.length; start += batchSize) {
    const batch = clients.slice(start, start + batchSize);
    const membersBefore = await seeder.memberCount(community.serverId);
    const bytesBefore = pool.totalReceivedBytes();
    const joinerBytesBefore = batch.reduce((sum, client) => sum + pool.receivedBytes(client.index), 0);
    const loop = await runClosedLoop({
      workers: Math.min(settings.concurrency, batch.length),
      total: batch.length,
      signal: context.signal,
      operation: (index) => join(batch[index]!.socket, community.serverId),
    });
    await settle(pool, context.signal);
    const result: BatchResult = {
      membersBefore,
      membersAfter: await seeder.memberCount(community.serverId),
      joins: loop.latenciesMs.length,
      failures: loop.errors,
      durationMs: loop.durationMs,
      latencies: loop.latenciesMs,
      bytesAll: pool.totalReceivedBytes() - bytesBefore,
      bytesJoiners: batch.reduce((sum, client) => sum + pool.receivedBytes(client.index), 0) - joinerBytesBefore,
    };
    batches.push(result);
    context.log(
      `  members ${result.membersBefore} → ${result.membersAfter}: ${(result.joins / (result.durationMs / 1000)).toFixed(0)} joins/s, ` +
        `${(result.bytesAll / Math.max(1, result.joins)).toFixed(0)} bytes per join`,
    );
  }
  const cpu = meter.report(before, meter.snapshot());
  const postgres = await activity.stop();
  const joins = batches.reduce((sum, batch) => sum + batch.joins, 0);
  const durationMs = batches.reduce((sum, batch) => sum + batch.durationMs, 0);
  const bytesAll = batches.reduce((sum, batch) => sum + batch.bytesAll, 0);
  const bytesJoiners = batches.reduce((sum, batch) => sum + batch.bytesJoiners, 0);
  const failures: Record<string, number> = {};
  for (const batch of batches) for (const [code, count] of Object.entries(batch.failures)) failures[code] = (failures[code] ?? 0) + count;
  return {
    name,
    batches,
    joins,
    durationMs,
    joinsPerSecond: joins / (durationMs / 1000),
    ackLatencyMs: latencyFigures(batches.flatMap((batch) => batch.latencies)),
    failures,
    bytesPerJoin: bytesAll / joins,
    bytesPerJoinToJoiner: bytesJoiners / joins,
    bytesPerJoinToOthers: (bytesAll - bytesJoiners) / joins,
    cpu,
    postgres,
  };
}

/** server:join, resolved when acknowledged with `joined: true`; rejects with the error code otherwise. */
async function join(socket: Socket, serverId: string): Promise<void> {
  const response = (await socket.timeout(settings.joinAckTimeoutMs).emitWithAck('server:join', { serverId })) as {
    ok?: boolean;
    joined?: boolean;
    error?: { code?: string };
  };
  if (!response.ok) throw Object.assign(new Error('join failed'), { code: response.error?.code ?? 'bad_ack' });
  if (!response.joined) throw Object.assign(new Error('already a member'), { code: 'not_joined' });
}

/** Waits until no client has received a byte for `settleQuietMs` (or `settleMaxMs` passed). */
async function settle(pool: SocketPool, signal: AbortSignal): Promise<void> {
  const until = performance.now() + settings.settleMaxMs;
  let last = pool.totalReceivedBytes();
  while (performance.now() < until) {
    await sleep(settings.settleQuietMs, signal);
    const now = pool.totalReceivedBytes();
    if (now === last) return;
    last = now;
  }
}

function report(
  services: BackingServices,
  connect: ConnectReport,
  phases: readonly PhaseResult[],
  lost: number,
  logNote: string,
): ScenarioResult {
  const failuresCell = (failures: Record<string, number>) =>
    Object.entries(failures).map(([code, count]) => `${count} ${code}`).join(', ') || '0';
  const cpuPerJoin = (phase: PhaseResult, role: 'pod' | 'postgres' | 'redis' | 'load generator') => cpuOfRole(phase.cpu, role) / phase.joins;
  const summary: Table = {
    title: 'Joining one open community (latency in ms, bytes are engine.io payload received by all clients)',
    columns: ['phase', 'members before → after', 'acked joined', 'failures', 'time to all joined (s)', 'joins/s', 'ack p50', 'ack p99', 'ack max', 'bytes per join', 'to joiners', 'to earlier members', 'pods CPU ms/join', 'postgres CPU ms/join', 'machine busy %'],
    rows: phases.map((phase) => [
      phase.name,
      `${phase.batches[0]?.membersBefore ?? '?'} → ${phase.batches.at(-1)?.membersAfter ?? '?'}`,
      phase.joins,
      failuresCell(phase.failures),
      phase.durationMs / 1000,
      phase.joinsPerSecond,
      phase.ackLatencyMs.p50,
      phase.ackLatencyMs.p99,
      phase.ackLatencyMs.max,
      phase.bytesPerJoin,
      phase.bytesPerJoinToJoiner,
      phase.bytesPerJoinToOthers,
      cpuPerJoin(phase, 'pod'),
      cpuPerJoin(phase, 'postgres'),
      phase.cpu.machineBusyPercent,
    ]),
  };
  const batches: Table = {
    title: 'Per batch: does a join cost more as the community grows?',
    columns: ['phase', 'members before → after', 'acked joins', 'joins/s', 'ack p99', 'bytes per join', 'to joiners', 'to earlier members'],
    rows: phases.flatMap((phase) =>
      phase.batches.map((batch) => [
        phase.name,
        `${batch.membersBefore} → ${batch.membersAfter}`,
        batch.joins,
        batch.joins / (batch.durationMs / 1000),
        latencyFigures(batch.latencies).p99,
        batch.bytesAll / batch.joins,
        batch.bytesJoiners / batch.joins,
        (batch.bytesAll - batch.bytesJoiners) / batch.joins,
      ]),
    ),
  };
  const big = phases.at(-1)!;
  const firstBig = big.batches[0]!;
  const lastBig = big.batches.at(-1)!;
  const perJoin = (batch: BatchResult) => batch.bytesAll / batch.joins;
  const growth: Table = {
    title: `Bytes per join above ${limits.memberEvents.maxMembers} members (the goal: it must not grow with the member count)`,
    columns: ['first batch', 'bytes per join', 'last batch', 'bytes per join', 'last ÷ first'],
    rows: [
      [
        `${firstBig.membersBefore} → ${firstBig.membersAfter}`,
        perJoin(firstBig),
        `${lastBig.membersBefore} → ${lastBig.membersAfter}`,
        perJoin(lastBig),
        ratio(perJoin(lastBig), perJoin(firstBig)),
      ],
    ],
  };
  const connectTable: Table = {
    title: 'Connecting the clients first (handshake: session lookup and rooms)',
    columns: ['requested', 'connected', 'failures', 'time (s)', 'per s', 'p50 ms', 'p99 ms'],
    rows: [[connect.requested, connect.connected, failuresCell(connect.failures), connect.durationMs / 1000, connect.perSecond, connect.latencyMs.p50, connect.latencyMs.p99]],
  };
  const notes = [
    `All ${joiners.toLocaleString('en-US')} clients connect first (round-robin over ${settings.pods} pods) and stay connected; then the phases run in order on the same community, so the second phase starts above ${limits.memberEvents.maxMembers} members. Within a phase, batches run one after the other, each with up to ${settings.concurrency} server:join in flight (closed loop); "time to all joined" adds up the batches from first request to last acknowledgement.`,
    `Bytes: every engine.io packet every client received during the batch (type byte + payload, WebSocket framing excluded), including what arrived in the ≤ ${settings.settleMaxMs / 1000} s after the last acknowledgement until ${settings.settleQuietMs} ms passed without a byte; engine.io pings (1 byte per client every 25 s) are included. Bytes per join divide by the acknowledged joins. "to joiners" is what the batch's own clients received: each one's acknowledgement and server:joined, and, under the threshold, the server:member_joined of every later joiner of its batch; "to earlier members" is what the members from before the batch received (server:member_joined).`,
    'Joins are a closed loop of 200, so an acknowledgement waits behind the others in flight: its latency is mostly queueing (≈ 200 ÷ joins/s). A failed join whose member count still went up was committed and failed afterwards (while being announced); the member count in the tables is the database\'s servers.member_count.',
    `Communities of up to ${limits.memberEvents.maxMembers} members announce every join to every member: in the first phase each join costs about (members so far) × one server:member_joined, so bytes per join grow with the community — quadratic in total. Above the threshold nobody is told, and a join costs the joiner's own acknowledgement and event only.`,
    ...phases.map((phase) => {
      const shares = [...phase.cpu.targets].sort((a, b) => b.cpuMs - a.cpuMs).map((t) => `${t.name} ${t.percentOfCore.toFixed(0)}%`).join(', ');
      return (
        `${phase.name}: machine ${phase.cpu.machineBusyPercent.toFixed(0)}% busy; CPU % of one core over the phase: ${shares}, everything else ${phase.cpu.otherPercentOfCore.toFixed(0)}%. ` +
        `The pods' Postgres connections on average (pg_stat_activity every 250 ms): ${describeActivity(phase.postgres)}.`
      );
    }),
    `Connections lost during the joins: ${lost}.`,
    logNote,
    `Postgres: ${services.sources.postgres}, Redis: ${services.sources.redis}; everything shares this machine's cores.`,
  ];
  return {
    parameters: {
      pods: settings.pods,
      'joins per phase': settings.phases.map((phase) => phase.joins).join(', then '),
      'batch sizes': settings.phases.map((phase) => phase.batch).join(', '),
      'joins in flight': settings.concurrency,
      'announcement threshold (members)': limits.memberEvents.maxMembers,
      'handshakes in flight while connecting': settings.connectConcurrency,
    },
    tables: [summary, batches, growth, connectTable],
    notes,
    data: {
      settings,
      connect,
      lostConnections: lost,
      logNote,
      phases: phases.map(({ batches: phaseBatches, ...phase }) => ({
        ...phase,
        batches: phaseBatches.map(({ latencies, ...batch }) => ({ ...batch, ackLatencyMs: latencyFigures(latencies) })),
      })),
    },
  };
}
