import { expect, it } from 'vitest';
import { Readiness } from './readiness.ts';

it('is ready when every check passes, and names each', async () => {
  const readiness = new Readiness();
  readiness.addCheck('database', async () => {});
  readiness.addCheck('redis', async () => {}, { required: false });
  expect(await readiness.report()).toEqual({ ready: true, draining: false, degraded: [], checks: { database: 'ok', redis: 'ok' } });
});

it('says what is wrong when a check fails or does not answer in time', async () => {
  const readiness = new Readiness({ timeoutMs: 50 });
  readiness.addCheck('database', async () => {
    throw new Error('connection refused');
  });
  readiness.addCheck('database_connect', () => new Promise(() => {}));
  expect(await readiness.report()).toEqual({
    ready: false,
    draining: false,
    degraded: [],
    checks: { database: 'connection refused', database_connect: 'no answer within 50 ms' },
  });
});

it('stays ready, degraded, when only an optional dependency fails', async () => {
  const readiness = new Readiness();
  readiness.addCheck('database', async () => {});
  readiness.addCheck('redis', async () => {
    throw new Error('redis connection is reconnecting');
  }, { required: false });
  expect(await readiness.report()).toEqual({
    ready: true,
    draining: false,
    degraded: ['redis'],
    checks: { database: 'ok', redis: 'redis connection is reconnecting' },
  });
});

it('runs the checks at most once per cache period, however often it is asked', async () => {
  const readiness = new Readiness({ cacheMs: 60_000 });
  let runs = 0;
  readiness.addCheck('database', async () => void runs++);
  await Promise.all(Array.from({ length: 20 }, () => readiness.report()));
  await readiness.report();
  expect(runs).toBe(1);
});

it('is not ready once draining, however healthy, even from a cached report', async () => {
  const readiness = new Readiness({ cacheMs: 60_000 });
  readiness.addCheck('database', async () => {});
  expect((await readiness.report()).ready).toBe(true);
  readiness.startDraining();
  expect(await readiness.report()).toMatchObject({ ready: false, draining: true, checks: { database: 'ok' } });
});
