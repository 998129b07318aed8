import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestNode, type TestNode } from './support/test-node.ts';

let node: TestNode;

beforeAll(async () => {
  node = await startTestNode();
});
afterAll(() => node.stop());

describe('health', () => {
  it('/health answers while the process lives; /ready names each dependency', async () => {
    expect(await (await fetch(`${node.url}/health`)).json()).toEqual({ status: 'ok', nodeId: 'test-node' });
    const ready = await fetch(`${node.url}/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', checks: { database: 'ok', redis: 'ok' } });
  });

  it('/metrics exports runtime, HTTP and socket metrics in the Prometheus text format', async () => {
    await fetch(`${node.url}/health`);
    const response = await fetch(`${node.url}/metrics`);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const text = await response.text();
    expect(text).toContain('process_resident_memory_bytes');
    expect(text).toContain('nodejs_eventloop_lag_seconds');
    expect(text).toMatch(/parley_http_requests_total\{method="GET",route="\/health",status="200"\} \d+/);
    expect(text).toContain('parley_http_request_duration_seconds_bucket');
    expect(text).toContain('parley_socket_connections 0');
  });

  it('echoes a well-formed X-Request-Id and replaces a malformed one', async () => {
    const kept = await fetch(`${node.url}/health`, { headers: { 'X-Request-Id': 'abc-123' } });
    expect(kept.headers.get('x-request-id')).toBe('abc-123');
    const replaced = await fetch(`${node.url}/health`, { headers: { 'X-Request-Id': 'has spaces and <script>' } });
    expect(replaced.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});
