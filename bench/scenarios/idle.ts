import { startBackingServices, type BackingServices } from '../lib/backing-services.ts';
import { ratio } from '../lib/latency-stats.ts';
import { podPid, startParley } from '../lib/parley-cluster.ts';
import { describeTally, PodLogTally } from '../lib/pod-log-tally.ts';
import { RelayCluster } from '../lib/relay-cluster.ts';
import { readMemory, resetPeak, type MemoryReading } from '../lib/rss-sampler.ts';
import type { Scenario, ScenarioContext, ScenarioResult, Table } from '../lib/scenario.ts';
import { Seeder, type SeededCommunity, type SeededUser } from '../lib/seeder.ts';
import { SocketPool, type ClientSpec, type ConnectReport } from '../lib/socket-pool.ts';
import { sleep } from '../lib/stamp.ts';

const settings = {
  connections: 10_000,
  /** Every user is a member of one community of connections ÷ communities members, with one text channel. */
  communities: 100,
  connectConcurrency: 100,
  /** Idle time before the "before" reading, after the server reported ready. */
  startupSettleMs: 3000,
  /** RSS counts as stable once it moved less than `stableShare` over `stableWindowMs`, read every `sampleMs`. */
  sampleMs: 1000,
  stableWindowMs: 5000,
  stableShare: 0.01,
  stableMaxMs: 30_000,
};

/** The goal for this 2-core machine: reported against, never asserted. */
const goals = { kbPerConnection: 16 };

interface IdleRun {
  label: string;
  connect: ConnectReport;
  before: MemoryReading;
  afterConnect: MemoryReading;
  stable: MemoryReading;
  stableAfterMs: number;
  peakWasReset: boolean;
  /** The bench process's RSS growth for these clients: what the client side costs. */
  loadGeneratorKb: number;
  lostConnections: number;
  /** What the pod logged at warn and above (Parley only). */
  logNote?: string;
}

export const idle: Scenario = {
  name: 'idle',
  description:
    `${settings.connections.toLocaleString('en-US')} authenticated idle connections on one Parley pod (distinct users and session ` +
    `tokens, each a member of one community), RSS per connection; next to a bare Socket.IO + Redis-adapter relay with as many unauthenticated ones.`,
  async run(context) {
    context.log('starting Postgres and Redis, migrating a private database');
    const services = await startBackingServices();
    try {
      const users = await seed(services, context);
      const perCommunity = settings.connections / settings.communities;
      const parley = await measureParley(services, users, context);
      const relay = await measureRelay(services, (index) => `room-${Math.floor(index / perCommunity)}`, context);
      return report(services, parley, relay);
    } finally {
      await services.dispose();
    }
  },
};

async function seed(services: BackingServices, context: ScenarioContext): Promise<SeededUser[]> {
  const perCommunity = settings.connections / settings.communities;
  context.log(`seeding ${settings.connections} users with sessions, in ${settings.communities} communities of ${perCommunity}`);
  const seeder = await Seeder.open(services.databaseUrl);
  try {
    const users = await seeder.users(settings.connections, 'idle');
    const communities: SeededCommunity[] = [];
    for (let group = 0; group < settings.communities; group += 1) {
      const members = users.slice(group * perCommunity, (group + 1) * perCommunity);
      const community = await seeder.community(members[0]!, `idle ${group}`);
      await seeder.addMembers(community, members.slice(1).map((user) => user.id));
      communities.push(community);
    }
    return users;
  } finally {
    await seeder.close();
  }
}

async function measureParley(services: BackingServices, users: readonly SeededUser[], context: ScenarioContext): Promise<IdleRun> {
  const tally = new PodLogTally();
  const cluster = await startParley(services, 1, { tally });
  try {
    const url = cluster.url(0);
    const specs = users.map((user, index) => ({ url, auth: { token: user.token, clientInstanceId: `idle-${index}` } }));
    const run = await measureIdle('Parley, 1 pod (authenticated)', podPid(cluster.pod(0)), specs, context);
    return { ...run, logNote: describeTally(run.label, tally) };
  } finally {
    await cluster.stop();
  }
}

async function measureRelay(services: BackingServices, roomOf: (index: number) => string, context: ScenarioContext): Promise<IdleRun> {
  const relays = await RelayCluster.start(services, 1);
  try {
    const url = relays.urls[0]!;
    const specs = Array.from({ length: settings.connections }, (_, index) => ({ url, auth: { room: roomOf(index) } }));
    return await measureIdle('bare relay, 1 process (no auth)', relays.pid(0), specs, context);
  } finally {
    await relays.stop();
  }
}

/** Connects every spec to the process `pid`, waits until its RSS is stable, and reads its memory along the way. */
async function measureIdle(label: string, pid: number, specs: readonly ClientSpec[], context: ScenarioContext): Promise<IdleRun> {
  await sleep(settings.startupSettleMs, context.signal);
  const before = readMemory(pid);
  const peakWasReset = resetPeak(pid);
  const ownBefore = readMemory(process.pid).rssKb;
  context.log(`${label}: RSS ${(before.rssKb / 1024).toFixed(1)} MiB; connecting ${specs.length} clients`);
  const pool = await SocketPool.connect(specs, {
    concurrency: settings.connectConcurrency,
    signal: context.signal,
    onProgress: (done, total) => context.log(`  ${done} / ${total} connected`),
    progressEvery: 2000,
  });
  try {
    if (pool.report.connected === 0) throw new Error(`${label}: no client connected: ${JSON.stringify(pool.report.failures)}`);
    const afterConnect = readMemory(pid);
    const { stable, afterMs } = await waitForStableRss(pid, context.signal);
    const loadGeneratorKb = readMemory(process.pid).rssKb - ownBefore;
    context.log(
      `  ${pool.report.connected} connected; RSS ${(stable.rssKb / 1024).toFixed(1)} MiB after ${(afterMs / 1000).toFixed(0)} s idle, ` +
        `${((stable.rssKb - before.rssKb) / pool.report.connected).toFixed(1)} KB per connection`,
    );
    return { label, connect: pool.report, before, afterConnect, stable, stableAfterMs: afterMs, peakWasReset, loadGeneratorKb, lostConnections: pool.unexpectedDisconnects };
  } finally {
    await pool.close();
  }
}

async function waitForStableRss(pid: number, signal: AbortSignal): Promise<{ stable: MemoryReading; afterMs: number }> {
  const started = performance.now();
  const readings: MemoryReading[] = [readMemory(pid)];
  const window = Math.round(settings.stableWindowMs / settings.sampleMs);
  while (performance.now() - started < settings.stableMaxMs) {
    await sleep(settings.sampleMs, signal);
    readings.push(readMemory(pid));
    const current = readings.at(-1)!;
    const earlier = readings.at(-1 - window);
    if (earlier && Math.abs(current.rssKb - earlier.rssKb) <= settings.stableShare * current.rssKb) break;
  }
  return { stable: readings.at(-1)!, afterMs: performance.now() - started };
}

function report(services: BackingServices, parley: IdleRun, relay: IdleRun): ScenarioResult {
  const mib = (kb: number) => kb / 1024;
  const perConnection = (run: IdleRun) => (run.stable.rssKb - run.before.rssKb) / run.connect.connected;
  const memory: Table = {
    title: 'Server memory (MiB) and RSS per idle connection (KiB)',
    columns: ['server', 'connected', 'RSS before', 'RSS right after connecting', 'RSS when stable', 'stable after (s)', 'VmHWM while connecting', 'KiB per connection (stable)', 'KiB per connection (peak)'],
    rows: [parley, relay].map((run) => [
      run.label,
      run.connect.connected,
      mib(run.before.rssKb),
      mib(run.afterConnect.rssKb),
      mib(run.stable.rssKb),
      run.stableAfterMs / 1000,
      run.peakWasReset ? mib(run.stable.hwmKb) : `${mib(run.stable.hwmKb).toFixed(1)} (since start)`,
      perConnection(run),
      (run.stable.hwmKb - run.before.rssKb) / run.connect.connected,
    ]),
  };
  const connecting: Table = {
    title: 'Connecting',
    columns: ['server', 'requested', 'connected', 'failures', 'time (s)', 'per s', 'p50 ms', 'p99 ms', 'load generator KiB per client'],
    rows: [parley, relay].map((run) => [
      run.label,
      run.connect.requested,
      run.connect.connected,
      Object.entries(run.connect.failures).map(([code, count]) => `${count} ${code}`).join(', ') || '0',
      run.connect.durationMs / 1000,
      run.connect.perSecond,
      run.connect.latencyMs.p50,
      run.connect.latencyMs.p99,
      run.loadGeneratorKb / run.connect.connected,
    ]),
  };
  const parleyKb = perConnection(parley);
  const targets: Table = {
    title: "Against the issue's goal (reported, not asserted)",
    columns: ['goal', 'target', 'measured', 'vs bare relay', 'where we land'],
    rows: [['RSS per authenticated idle connection (KiB)', `≤ ${goals.kbPerConnection}`, parleyKb, ratio(parleyKb, perConnection(relay)), parleyKb <= goals.kbPerConnection ? 'met' : 'not met']],
  };
  const perCommunity = settings.connections / settings.communities;
  const notes = [
    `Each Parley connection is a distinct user with its own session token, a member of one of ${settings.communities} communities of ${perCommunity} (one text channel each), so it sits in six rooms: its user, session, device and connection rooms, the community and the channel. Each relay connection names one of ${settings.communities} rooms and sits in it (and in its own id room).`,
    `"RSS before" is read ${settings.startupSettleMs / 1000} s after the server reported ready, with nothing connected. "KiB per connection (stable)" is (RSS when stable − RSS before) ÷ connected: stable means RSS moved less than ${settings.stableShare * 100}% over ${settings.stableWindowMs / 1000} s (at most ${settings.stableMaxMs / 1000} s of waiting). The server's garbage collector runs when it chooses, so some garbage from the handshakes may still be counted. "peak" uses VmHWM, reset just before connecting.`,
    `Clients connect over WebSocket only, ${settings.connectConcurrency} handshakes at a time, all from the bench process; a Parley handshake looks up the session and the user's rooms in Postgres. "load generator KiB per client" is the bench process's own RSS growth while its clients connected: approximate, since its heap is reused from one run to the next.`,
    `Connections lost while idle: ${parley.label} ${parley.lostConnections}, ${relay.label} ${relay.lostConnections}.`,
    ...(parley.logNote ? [parley.logNote] : []),
    `Postgres: ${services.sources.postgres}, Redis: ${services.sources.redis}.`,
  ];
  return {
    parameters: {
      connections: settings.connections,
      communities: settings.communities,
      'handshakes in flight': settings.connectConcurrency,
      'stability rule': `< ${settings.stableShare * 100}% over ${settings.stableWindowMs / 1000} s`,
    },
    tables: [memory, connecting, targets],
    notes,
    data: { settings, goals, runs: [parley, relay] },
  };
}
