import { Redis } from 'ioredis';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { AppError, reportError } from './errors.ts';

const log = pino({ level: 'silent' });

describe('reportError', () => {
  it('maps what a real ioredis client throws while Redis is unreachable to a retryable `unavailable`', async () => {
    // Port 1 on loopback: nothing listens there, so every attempt is refused.
    const redis = new Redis({ host: '127.0.0.1', port: 1, maxRetriesPerRequest: 1, retryStrategy: (times) => (times > 2 ? null : 10) });
    redis.on('error', () => {});
    const failure = await redis.get('key').catch((error: unknown) => error);
    redis.disconnect();
    expect(reportError(log, failure, {})).toEqual({ code: 'unavailable', message: 'Shared state is unavailable', retryAfterMs: 1000 });
  });

  it.each([
    ['a Redis command that timed out (Redis paused)', Object.assign(new Error('Command timed out')), 'Shared state is unavailable'],
    ['a refused connection to any dependency', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9000'), { code: 'ECONNREFUSED' }), 'A dependency is unavailable'],
    ['a Postgres query nobody answered', new Error('Query read timeout'), 'The database is unavailable'],
    ['Postgres shutting down', Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }), 'The database is unavailable'],
  ])('maps %s to a retryable `unavailable` naming what is away', (_label, error, message) => {
    expect(reportError(log, error, {})).toEqual({ code: 'unavailable', message, retryAfterMs: 1000 });
  });

  it('keeps AppErrors as they are and hides anything else behind internal_error', () => {
    expect(reportError(log, new AppError('room_full'), {}).code).toBe('room_full');
    expect(reportError(log, new Error('ERR Error running script'), {})).toEqual({ code: 'internal_error', message: 'Internal server error' });
  });
});
