import { afterAll, beforeAll, it } from 'vitest';
import { expectNothingLost, registerCast, runChatFault, type ChatCast } from './chat-fault-scenario.ts';
import { ConnectionCutter } from './connection-cutter.ts';
import { FaultEnvironment } from './fault-environment.ts';

// Postgres goes away: writes fail fast with a retryable code (no hang, no
// crash), the SDK retries with the same nonce, and everything recovers by
// itself. Nothing can be acknowledged meanwhile: an ack means committed.

let env: FaultEnvironment;
let cast: ChatCast;
let cutter: ConnectionCutter;

beforeAll(async () => {
  env = await FaultEnvironment.start({ env: { DATABASE_QUERY_TIMEOUT_MS: '2000' } });
  cast = await registerCast(env);
  cutter = await ConnectionCutter.start(env.balancer.port);
});
afterAll(async () => {
  await cutter?.stop();
  await env?.stop();
});

it('loses and duplicates nothing when Postgres restarts mid-stream', { timeout: 150_000 }, async () => {
  const figures = await runChatFault(env, cast, {
    name: 'postgres-restarted',
    inject: () => env.stopPostgres(),
    holdMs: 3000,
    recover: () => env.startPostgres(),
  });
  expectNothingLost(figures);
});

it('loses and duplicates nothing when Postgres is paused mid-stream and resumed', { timeout: 150_000 }, async () => {
  const figures = await runChatFault(env, cast, {
    name: 'postgres-paused',
    inject: () => env.pausePostgres(),
    holdMs: 6000,
    recover: () => env.resumePostgres(),
  });
  expectNothingLost(figures);
});

it('brings back clients whose reconnects are refused while Postgres is down', { timeout: 150_000 }, async () => {
  // Every connection drops while Postgres is stopped: the handshakes cannot
  // check a token, so the pods refuse them (`unavailable`) until it is back.
  const figures = await runChatFault(env, cast, {
    name: 'postgres-restarted-reconnect',
    url: cutter.url,
    inject: async () => {
      await env.stopPostgres();
      cutter.cutAll();
    },
    holdMs: 3000,
    recover: () => env.startPostgres(),
    recovered: (load, faultStartedAt) => load.disconnectedSince(faultStartedAt) === load.clients.length,
  });
  expectNothingLost(figures);
});
