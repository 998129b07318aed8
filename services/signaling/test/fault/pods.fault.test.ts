import { afterAll, beforeAll, expect, it } from 'vitest';
import { expectNothingLost, registerCast, runChatFault, type ChatCast } from './chat-fault-scenario.ts';
import { FaultEnvironment } from './fault-environment.ts';

// A pod goes away, gracefully (SIGTERM: drain, tell clients to go elsewhere)
// or not (SIGKILL). Its clients reconnect through the balancer to the other
// pods and gap-fill; the other pods acknowledge throughout. Recovery counts
// from the signal: the cluster does not wait for the pod to come back.

const DOWN_MS = 3000;
const POD = 1;

let env: FaultEnvironment;
let cast: ChatCast;

beforeAll(async () => {
  env = await FaultEnvironment.start();
  cast = await registerCast(env);
});
afterAll(async () => {
  await env?.stop();
});

for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
  it(`loses and duplicates nothing when a pod is ${signal}ed mid-stream and restarted`, { timeout: 150_000 }, async () => {
    const figures = await runChatFault(env, cast, {
      name: `pod-${signal.toLowerCase()}`,
      inject: () => env.killPod(POD, signal),
      holdMs: DOWN_MS,
      recover: () => env.restartPod(POD),
      recoveryFrom: 'injected',
      // The pod's clients (two of the six: the balancer takes turns) must have noticed it went.
      recovered: (load, faultStartedAt) => load.disconnectedSince(faultStartedAt) > 0,
      faultAckFromMs: 0,
    });
    expectNothingLost(figures);
    expect(figures.disconnects).toBeGreaterThan(0);
    expect(figures.acksDuringFault).toBeGreaterThan(0);
  });
}
