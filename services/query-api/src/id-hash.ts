import { createHash } from 'node:crypto';

/**
 * Upstream's hashutil.IdHash, which OpenIM clients compare with the idHash they
 * send to get_full_join_group_ids: the first 8 bytes of the md5 of the
 * JSON-encoded ID list, read as a big-endian uint64; 0 for an empty list.
 * The JSON is Go's encoding/json: like JSON.stringify, except that it also
 * escapes <, >, & and U+2028/U+2029 as \u00XX / \u20XX. (Control characters
 * and lone surrogates, where the two differ too, never occur in an ID.)
 */
const GO_EXTRA_ESCAPES = /[<>&\u2028\u2029]/g;

export function goJsonStringArray(ids: readonly string[]): string {
  return JSON.stringify(ids).replace(GO_EXTRA_ESCAPES, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export function idHash(ids: readonly string[]): bigint {
  if (ids.length === 0) return 0n;
  return createHash('md5').update(goJsonStringArray(ids)).digest().readBigUInt64BE(0);
}
