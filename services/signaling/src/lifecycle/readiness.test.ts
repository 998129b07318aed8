import { expect, it } from 'vitest';
import { Readiness } from './readiness.ts';

it('is ready when every check passes, and names each', async () => {
  const readiness = new Readiness();
  readiness.addCheck('database', async () => {});
  readiness.addCheck('redis', async () => {});
  expect(await readiness.report()).toEqual({ ready: true, draining: false, checks: { database: 'ok', redis: 'ok' } });
});

it('says what is wrong when a check fails or does not answer in time', async () => {
  const readiness = new Readiness({ timeoutMs: 50 });
  readiness.addCheck('database', async () => {
    throw new Error('connection refused');
  });
  readiness.addCheck('redis', () => new Promise(() => {}));
  expect(await readiness.report()).toEqual({
    ready: false,
    draining: false,
    checks: { database: 'connection refused', redis: 'no answer within 50 ms' },
  });
});

it('is not ready once draining, however healthy', async () => {
  const readiness = new Readiness();
  readiness.addCheck('database', async () => {});
  readiness.startDraining();
  expect(await readiness.report()).toMatchObject({ ready: false, draining: true, checks: { database: 'ok' } });
});
