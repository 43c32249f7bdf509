import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { goJsonStringArray, idHash } from './id-hash.js';

/** Upstream's hashutil.IdHash: md5 of Go's JSON of the list, first 8 bytes big-endian; 0 for []. */
const fromHex = (json: string) => BigInt(`0x${createHash('md5').update(json).digest('hex').slice(0, 16)}`);

describe('idHash', () => {
  it('is 0 for an empty list, as upstream (no md5 of "[]")', () => {
    expect(idHash([])).toBe(0n);
  });

  it('is the first 8 bytes of md5 over the JSON list, big-endian', () => {
    expect(idHash(['2137448827', '3517105008'])).toBe(fromHex('["2137448827","3517105008"]'));
  });

  it('depends on the order of the list', () => {
    expect(idHash(['a', 'b'])).not.toBe(idHash(['b', 'a']));
  });

  it('encodes like Go: <, >, & and U+2028/U+2029 escaped, other characters as they are', () => {
    expect(goJsonStringArray(['a<b>&c', 'x\u2028y\u2029', 'grüppe-😀', 'q"\\'])).toBe(
      '["a\\u003cb\\u003e\\u0026c","x\\u2028y\\u2029","grüppe-😀","q\\"\\\\"]',
    );
    expect(idHash(['<&>'])).toBe(fromHex('["\\u003c\\u0026\\u003e"]'));
  });
});
