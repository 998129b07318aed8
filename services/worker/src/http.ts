import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Readiness } from '@parley/signaling';
import type { Registry } from 'prom-client';

export interface HealthServer {
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

/**
 * The worker's own HTTP port: `/health` (the process answers), `/ready`
 * (Redis and the database answer, and it is not shutting down) and
 * `/metrics`. It serves nothing else.
 */
export async function startHealthServer(options: {
  host: string;
  port: number;
  nodeId: string;
  readiness: Readiness;
  registry: Registry;
}): Promise<HealthServer> {
  const json = (res: http.ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8' }).end(JSON.stringify(body));
  };
  const server = http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://worker').pathname;
    if (req.method !== 'GET' && req.method !== 'HEAD') return json(res, 405, { error: 'method_not_allowed' });
    if (path === '/health') return json(res, 200, { status: 'ok', nodeId: options.nodeId });
    if (path === '/ready') {
      return void options.readiness.report().then((report) =>
        json(res, report.ready ? 200 : 503, { status: report.ready ? 'ready' : 'not_ready', nodeId: options.nodeId, ...report }),
      );
    }
    if (path === '/metrics') {
      return void options.registry.metrics().then(
        (text) => res.writeHead(200, { 'Content-Type': options.registry.contentType }).end(text),
        () => json(res, 500, { error: 'internal_error' }),
      );
    }
    json(res, 404, { error: 'not_found' });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    port,
    url: `http://${options.host === '0.0.0.0' ? '127.0.0.1' : options.host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
