import { z } from 'zod';

/** The textual form of a UUID, any version, case-insensitive: what Postgres's `uuid` type accepts. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether `value` is a UUID (ids of users, communities, channels, roles, messages, files...). */
export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value);
}

/** An id in a payload: a UUID, or `invalid_payload` "must be a UUID". */
export const id = z.uuid({ error: 'must be a UUID' });
