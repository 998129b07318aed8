import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Every metric a pod exports on `/metrics`. Names follow Prometheus conventions (`promtool check metrics`). */
export interface Metrics {
  readonly registry: Registry;
  readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  readonly httpRequestDuration: Histogram<'method' | 'route' | 'status'>;
  readonly socketConnections: Gauge;
  readonly socketEvents: Counter<'event' | 'outcome'>;
  readonly socketEventDuration: Histogram<'event'>;
  readonly chatMessagesPersisted: Counter;
  readonly chatCommitBatchSize: Histogram;
  readonly passwordHashesWaiting: Gauge;
  readonly passwordHashesRejected: Counter;
  readonly socketHandshakesRefused: Counter<'code'>;
  readonly fanoutMessagesDropped: Counter<'reason'>;
  readonly rateLimitFallbacks: Counter;
  readonly uploadBytes: Counter<'route'>;
  readonly uploadDuration: Histogram<'route' | 'outcome'>;
  readonly uploadRefusals: Counter<'code'>;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // Gauges named *_total break Prometheus naming rules (promtool rejects them);
  // they are the sums of the labelled nodejs_active_* gauges, which stay.
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
    registry.removeSingleMetric(name);
  }
  return {
    registry,
    httpRequests: new Counter({
      name: 'parley_http_requests_total',
      help: 'HTTP requests handled, by route template and status code.',
      labelNames: ['method', 'route', 'status'],
      registers: [registry],
    }),
    httpRequestDuration: new Histogram({
      name: 'parley_http_request_duration_seconds',
      help: 'Time from receiving an HTTP request to finishing its response.',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    socketConnections: new Gauge({
      name: 'parley_socket_connections',
      help: 'Authenticated Socket.IO connections open on this pod.',
      registers: [registry],
    }),
    socketEvents: new Counter({
      name: 'parley_socket_events_total',
      help: 'Client events handled, by event name and outcome (ok or an error code).',
      labelNames: ['event', 'outcome'],
      registers: [registry],
    }),
    socketEventDuration: new Histogram({
      name: 'parley_socket_event_duration_seconds',
      help: 'Time from receiving a client event to sending its acknowledgement.',
      labelNames: ['event'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    chatMessagesPersisted: new Counter({
      name: 'parley_chat_messages_persisted_total',
      help: 'Chat messages committed to the database by this pod.',
      registers: [registry],
    }),
    chatCommitBatchSize: new Histogram({
      name: 'parley_chat_commit_batch_size',
      help: 'Messages written per group commit (one transaction) by this pod.',
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500],
      registers: [registry],
    }),
    passwordHashesWaiting: new Gauge({
      name: 'parley_password_hashes_waiting',
      help: 'Password hashes (sign-ins, registrations) queued for a hashing slot.',
      registers: [registry],
    }),
    passwordHashesRejected: new Counter({
      name: 'parley_password_hashes_rejected_total',
      help: 'Sign-ins refused with `unavailable` because the password hashing queue was full.',
      registers: [registry],
    }),
    socketHandshakesRefused: new Counter({
      name: 'parley_socket_handshakes_refused_total',
      help: 'Socket.IO handshakes refused before authentication (origin, draining, per-IP rate, unauthenticated caps), by code.',
      labelNames: ['code'],
      registers: [registry],
    }),
    fanoutMessagesDropped: new Counter({
      name: 'parley_fanout_messages_dropped_total',
      help: 'Messages between pods dropped: a publish that failed (Redis away) or a received message that could not be handled.',
      labelNames: ['reason'],
      registers: [registry],
    }),
    rateLimitFallbacks: new Counter({
      name: 'parley_rate_limit_fallbacks_total',
      help: 'Times Redis became unusable and rate limits fell back to per-pod counters.',
      registers: [registry],
    }),
    uploadBytes: new Counter({
      name: 'parley_upload_bytes_total',
      help: 'Bytes of files stored by uploads through this pod (multipart, or the embedded direct upload).',
      labelNames: ['route'],
      registers: [registry],
    }),
    uploadDuration: new Histogram({
      name: 'parley_upload_duration_seconds',
      help: 'Time from an upload request to its answer, by route and outcome (ok or an error code).',
      labelNames: ['route', 'outcome'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers: [registry],
    }),
    uploadRefusals: new Counter({
      name: 'parley_upload_refusals_total',
      help: 'Uploads, presigns and completions refused, by error code (payload_too_large, quota_exceeded, invalid_file...).',
      labelNames: ['code'],
      registers: [registry],
    }),
  };
}
