import { pino, type DestinationStream, type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

/**
 * Paths never written to a log line. Request and handshake logging also pick
 * fields explicitly (see the serializers in http/ and gateway/); this list is
 * the safety net for anything passed to a log call by mistake.
 */
const REDACTED = [
  'password',
  'token',
  'authorization',
  '*.password',
  '*.token',
  '*.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
  'auth.token',
];

export function createLogger(options: {
  level: string;
  format: 'json' | 'pretty';
  nodeId: string;
  /** Default: stdout. */
  destination?: DestinationStream;
}): Logger {
  return pino(
    {
      level: options.level,
      base: { nodeId: options.nodeId },
      redact: { paths: REDACTED, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.format === 'pretty'
      ? pretty({ colorize: options.destination === undefined && process.stdout.isTTY, sync: true, destination: options.destination })
      : options.destination,
  );
}

/**
 * A warning that may fire thousands of times a second while a dependency is
 * away (every publish, every command): the first one is logged, then at most
 * one line per `intervalMs` saying how many were suppressed meanwhile.
 */
export function throttledWarning(log: Logger, message: string, intervalMs = 10_000): (context: Record<string, unknown>) => void {
  let lastAt = -Infinity;
  let suppressed = 0;
  return (context) => {
    const now = performance.now();
    if (now - lastAt < intervalMs) {
      suppressed++;
      return;
    }
    log.warn({ ...context, ...(suppressed > 0 ? { suppressed } : {}) }, message);
    lastAt = now;
    suppressed = 0;
  };
}
