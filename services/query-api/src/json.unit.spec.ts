import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { topLevelNumberLiterals, withExactTopLevelIntegers } from './json.js';

/**
 * get_full_join_group_ids' idHash is a uint64: JSON.parse rounds it past 2^53.
 * The body is parsed as usual, then each top-level integer that came out
 * rounded is read again from the text, exactly.
 */
const parsed = (text: string) => withExactTopLevelIntegers(text, JSON.parse(text)) as Record<string, unknown>;

describe('exact top-level integers in a JSON body', () => {
  it('turns an integer beyond 2^53 into the exact bigint', () => {
    expect(parsed('{"userID":"u","idHash":18446744073709551615}')).toEqual({ userID: 'u', idHash: 18446744073709551615n });
  });

  it('keeps integers JSON.parse reads exactly as numbers', () => {
    expect(parsed('{"idHash":9007199254740991,"n":0}')).toEqual({ idHash: 9007199254740991, n: 0 });
  });

  it('leaves an exponent or fraction form as the number it is (for the schema to refuse)', () => {
    expect(parsed('{"idHash":1e30}').idHash).toBe(1e30);
    expect(parsed('{"idHash":1.5e17}').idHash).toBe(1.5e17);
  });

  it('reads negative integers exactly too', () => {
    expect(parsed('{"idHash":-18446744073709551615}').idHash).toBe(-18446744073709551615n);
  });

  it('takes the last of a repeated key, as JSON.parse does', () => {
    expect(parsed('{"idHash":18446744073709551615,"idHash":18446744073709551614}').idHash).toBe(18446744073709551614n);
  });

  it('finds the value after strings with escaped quotes, braces and nested values', () => {
    const text = '{ "a" : "x\\"}{,:" , "b":[{"c":"]"},[1,{"d":2}]] ,"idHash" : 12345678901234567890 }';
    expect(parsed(text).idHash).toBe(12345678901234567890n);
  });

  it('skips a byte-order mark (fastify\'s parser accepts one)', () => {
    const text = '\ufeff\n {"idHash":12345678901234567890}';
    expect(withExactTopLevelIntegers(text, JSON.parse(text.slice(1)))).toEqual({ idHash: 12345678901234567890n });
  });

  it('reads a key spelled with escapes under its decoded name', () => {
    expect(parsed('{"id\\u0048ash":12345678901234567890}').idHash).toBe(12345678901234567890n);
  });

  it('leaves nested big integers and non-objects alone', () => {
    // eslint-disable-next-line no-loss-of-precision -- JSON.parse's rounding of these is what is checked
    expect(parsed('{"a":{"b":12345678901234567890}}')).toEqual({ a: { b: 12345678901234567890 } });
    // eslint-disable-next-line no-loss-of-precision -- as above
    expect(withExactTopLevelIntegers('[12345678901234567890]', [12345678901234567890])).toEqual([12345678901234567890]);
  });

  it('is exact for any uint64 among any other top-level fields (property)', () => {
    const key = fc.string({ maxLength: 8 }).filter((k) => k !== 'idHash' && k !== '__proto__');
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.dictionary(key, fc.jsonValue(), { maxKeys: 5 }), fc.boolean(), (hash, others, first) => {
        const entries = Object.entries(others).map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`);
        const field = `"idHash":${hash}`;
        const text = `{${(first ? [field, ...entries] : [...entries, field]).join(',')}}`;
        const value = parsed(text);
        expect(BigInt(value.idHash as bigint | number)).toBe(hash);
        expect(topLevelNumberLiterals(text).get('idHash')).toBe(String(hash));
      }),
      { numRuns: 2000 },
    );
  });
});
