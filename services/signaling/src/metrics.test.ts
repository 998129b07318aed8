import { expect, it } from 'vitest';
import { createMetrics } from './metrics.ts';

it('follows Prometheus naming: counters and only counters end in _total, every metric has help', async () => {
  const { registry } = createMetrics();
  const metrics = await registry.getMetricsAsJSON();
  expect(metrics.length).toBeGreaterThan(10);
  for (const metric of metrics) {
    expect(metric.name).toMatch(/^[a-z_][a-z0-9_]*$/);
    expect(metric.help, metric.name).not.toBe('');
    if (String(metric.type) === 'counter') expect(metric.name).toMatch(/_total$/);
    else expect(metric.name).not.toMatch(/_total$/);
  }
});

it('keeps metrics of separate nodes in one process apart (no global registry)', async () => {
  const first = createMetrics();
  const second = createMetrics();
  first.socketConnections.inc();
  expect((await first.socketConnections.get()).values[0]?.value).toBe(1);
  expect((await second.socketConnections.get()).values[0]?.value).toBe(0);
});
