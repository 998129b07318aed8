import { afterAll, beforeAll, expect, it } from 'vitest';
import { expectNothingLost, registerCast, runChatFault, type ChatCast } from './chat-fault-scenario.ts';
import { ConnectionCutter } from './connection-cutter.ts';
import { FaultEnvironment } from './fault-environment.ts';

// Redis goes away: pods stay up, commands time out fast, rate limits fall back
// to per-pod counters, so chat keeps being acknowledged; fan-out resumes by
// itself when Redis returns and gap-fill covers what was missed.

const FAULT_MS = 6000;

let env: FaultEnvironment;
let cast: ChatCast;
let cutter: ConnectionCutter;

beforeAll(async () => {
  env = await FaultEnvironment.start({ env: { REDIS_COMMAND_TIMEOUT_MS: '500' } });
  cast = await registerCast(env);
  cutter = await ConnectionCutter.start(env.balancer.port);
});
afterAll(async () => {
  await cutter?.stop();
  await env?.stop();
});

it('keeps acknowledging chat while Redis is paused, and loses and duplicates nothing', { timeout: 150_000 }, async () => {
  const figures = await runChatFault(env, cast, {
    name: 'redis-paused',
    inject: () => env.pauseRedis(),
    holdMs: FAULT_MS,
    recover: () => env.resumeRedis(),
  });
  expectNothingLost(figures);
  expect(figures.acksDuringFault).toBeGreaterThan(0);
});

it('keeps acknowledging chat while Redis is killed and restarted empty, and loses and duplicates nothing', { timeout: 150_000 }, async () => {
  const figures = await runChatFault(env, cast, {
    name: 'redis-killed',
    inject: () => env.killRedis(),
    holdMs: FAULT_MS,
    recover: () => env.restartRedis(),
  });
  expectNothingLost(figures);
  expect(figures.acksDuringFault).toBeGreaterThan(0);
});

it('lets clients dropped while Redis is away back in at once, and loses and duplicates nothing', { timeout: 150_000 }, async () => {
  const figures = await runChatFault(env, cast, {
    name: 'redis-killed-reconnect',
    url: cutter.url,
    inject: async () => {
      await env.killRedis();
      cutter.cutAll();
    },
    holdMs: FAULT_MS,
    recover: () => env.restartRedis(),
    // Every client lost its connection and must have made a new one, with Redis still away.
    recovered: (load, faultStartedAt) => load.disconnectedSince(faultStartedAt) === load.clients.length,
  });
  expectNothingLost(figures);
  expect(figures.acksDuringFault).toBeGreaterThan(0);
});
