import { afterAll, beforeAll, expect, it } from 'vitest';
import { addMember } from '../support/communities.ts';
import { expectNothingLost, registerCast, runChatFault, type ChatCast } from './chat-fault-scenario.ts';
import { ConnectionCutter } from './connection-cutter.ts';
import { FaultEnvironment } from './fault-environment.ts';
import { LoadProfile } from './load-profile.ts';
import { createSessionUsers, inBatches, StormSockets } from './storm-sockets.ts';

// Every connection through the load balancer is cut at once: 2,000
// authenticated sockets (a few hundred users, several devices each) and the
// chat clients reconnect together, and every one of them must get back in.

const USERS = 250;
const DEVICES = 8;
// Each reconnect costs about 7 ms of CPU in all (pod, Postgres, and this
// process's client and proxies): some 10 s for 2,000 on two idle cores, and
// 15-20 s measured on a machine busy with other work.
const STORM_RECOVERY_BOUND_MS = 60_000;

let env: FaultEnvironment;
let cast: ChatCast;
let cutter: ConnectionCutter;
let storm: StormSockets | undefined;

beforeAll(async () => {
  env = await FaultEnvironment.start();
  cast = await registerCast(env);
  cutter = await ConnectionCutter.start(env.balancer.port);
});
afterAll(async () => {
  storm?.close();
  await cutter?.stop();
  await env?.stop();
});

it('brings 2,000 sockets cut at once back, and loses and duplicates no chat meanwhile', { timeout: 240_000 }, async () => {
  const users = await createSessionUsers(env.database, USERS, 'storm');
  // Members of a community, so every reconnection loads and joins its rooms as a real one would.
  const community = await cast.owner.http.createServer({ name: 'storm' });
  await inBatches(users, 10, (user) => addMember(env.database, community.id, user.userId));
  storm = await StormSockets.connect(
    cutter.url,
    users.map((user) => user.token),
    DEVICES,
  );
  const sockets = storm.sockets.length;
  expect(storm.connected).toBe(sockets);

  let cut = 0;
  let stormRecoveryMs: number | null = null;
  // What limits the recovery: the pods, Postgres, Redis, or this process (the clients, the cutter, the balancer).
  let profile: LoadProfile | undefined;
  const processes = () => ({
    tests: process.pid,
    postgres: env.postgres.process?.pid,
    redis: env.redis.process?.pid,
    ...Object.fromEntries(env.cluster.pods.map((pod) => [pod.nodeId, pod.process?.pid])),
  });
  const figures = await runChatFault(env, cast, {
    name: 'reconnect-storm',
    url: cutter.url,
    inject: () => {
      profile = LoadProfile.start(processes, { withChildren: ['postgres'] });
      cut = cutter.cutAll();
    },
    holdMs: 0,
    recover: () => {},
    recoveryFrom: 'injected',
    recoveryBoundMs: STORM_RECOVERY_BOUND_MS,
    recovered: (chat, cutAt) => {
      if (stormRecoveryMs === null && storm!.everyReconnectedSince(cutAt)) {
        stormRecoveryMs = Math.round(performance.now() - cutAt);
        profile?.finish();
      }
      return stormRecoveryMs !== null && chat.disconnectedSince(cutAt) === chat.clients.length;
    },
    extra: () => ({
      sockets,
      connectionsCut: cut,
      socketsConnected: storm!.connected,
      socketsStranded: storm!.stranded,
      stormRecoveryMs,
      stormDisconnects: Object.fromEntries(storm!.disconnectReasons),
      stormConnectErrors: Object.fromEntries(storm!.connectErrors),
      duringRecovery: profile?.finish(),
    }),
  });
  expectNothingLost(figures);
  expect({ cutAll: cut >= sockets, connected: storm.connected, stranded: storm.stranded }).toEqual({
    cutAll: true,
    connected: sockets,
    stranded: 0,
  });
});
