import { z } from 'zod';

/**
 * User and group IDs become part of Redis keys (`rm:<gen>:{u:<userID>}:joined`).
 * A `{` or `}` would move the Redis Cluster hash tag and `:` would make key
 * boundaries ambiguous, so such IDs are rejected rather than encoded: OpenIM
 * issues numeric IDs, and rejecting keeps every key readable in redis-cli.
 * 64 characters is upstream's column width for both IDs.
 */
export const MAX_ID_LENGTH = 64;
// eslint-disable-next-line no-control-regex
const FORBIDDEN_ID_CHARS = /[{}:\u0000-\u001f\u007f]/;

export const Id = z
  .string()
  .min(1, 'must not be empty')
  .max(MAX_ID_LENGTH, `must be at most ${MAX_ID_LENGTH} characters`)
  .refine((s) => !FORBIDDEN_ID_CHARS.test(s), 'must not contain "{", "}", ":" or control characters');

export function isValidId(s: string): boolean {
  return s.length > 0 && s.length <= MAX_ID_LENGTH && !FORBIDDEN_ID_CHARS.test(s);
}

export const INT32_MAX = 2 ** 31 - 1;
export const Int32 = z.number().int().min(-(2 ** 31)).max(INT32_MAX);
/** Unix milliseconds; JSON numbers stay exact up to 2^53. */
export const Millis = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
