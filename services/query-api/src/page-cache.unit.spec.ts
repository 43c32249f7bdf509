import { describe, expect, it } from 'vitest';
import { PageCache } from './page-cache.js';

const body = (s: string) => Buffer.from(s);

function cache(opts: Partial<{ maxBytes: number; maxAgeMs: number; inFlightMs: number }> = {}) {
  let now = 1_000_000;
  const c = new PageCache({ maxBytes: 1 << 20, maxAgeMs: 60_000, inFlightMs: 2000, now: () => now, ...opts });
  c.setLive(true);
  return { c, advance: (ms: number) => (now += ms) };
}

describe('PageCache', () => {
  it('answers a kept page until a key it was read from is reported changed', () => {
    const { c } = cache();
    expect(c.put(c.ticket(), 'u1:0:10', ['active', 'u1', 'card1'], body('A'))).toBe(true);
    expect(c.get('u1:0:10')?.toString()).toBe('A');
    c.invalidate(['other']);
    expect(c.get('u1:0:10')?.toString()).toBe('A');
    c.invalidate(['card1']);
    expect(c.get('u1:0:10')).toBeUndefined();
  });

  it('does not keep an answer when a key it read changed while it was read (the reply and the report race)', () => {
    const { c } = cache();
    const t = c.ticket();
    c.invalidate(['card1']); // reported before the reply was handled
    expect(c.put(t, 'u1:0:10', ['active', 'u1', 'card1'], body('stale'))).toBe(false);
    expect(c.get('u1:0:10')).toBeUndefined();
    expect(c.stats.raced).toBe(1);
    // A change to a key it did not read does not stop it; a read after the change is kept.
    const t2 = c.ticket();
    c.invalidate(['unrelated']);
    expect(c.put(t2, 'u1:0:10', ['active', 'u1', 'card1'], body('fresh'))).toBe(true);
  });

  it('a flush (FLUSHDB) drops everything and every read in flight', () => {
    const { c } = cache();
    c.put(c.ticket(), 'a', ['k1'], body('A'));
    const t = c.ticket();
    c.invalidate(null);
    expect(c.get('a')).toBeUndefined();
    expect(c.put(t, 'b', ['k2'], body('B'))).toBe(false);
    expect(c.put(c.ticket(), 'b', ['k2'], body('B'))).toBe(true);
  });

  it('while tracking is off it answers nothing and keeps nothing, not even reads begun before', () => {
    const { c } = cache();
    c.put(c.ticket(), 'a', ['k1'], body('A'));
    const t = c.ticket();
    c.setLive(false);
    expect(c.get('a')).toBeUndefined();
    expect(c.ticket()).toBeUndefined();
    expect(c.put(t, 'b', ['k2'], body('B'))).toBe(false);
    c.setLive(true);
    expect(c.put(t, 'b', ['k2'], body('B'))).toBe(false); // a ticket of the old connection
    expect(c.get('a')).toBeUndefined();
  });

  it('never holds more than maxBytes of answers, the oldest go first', () => {
    const { c } = cache({ maxBytes: 10 });
    for (let i = 0; i < 7; i++) c.put(c.ticket(), `p${i}`, [`k${i}`], body('xxxx'));
    expect(c.stats.bytes).toBeLessThanOrEqual(10);
    expect(c.stats.entries).toBe(2);
    expect(c.get('p6')).toBeDefined();
    expect(c.get('p0')).toBeUndefined();
    expect(c.put(c.ticket(), 'big', ['k'], body('x'.repeat(11)))).toBe(false);
    // An evicted entry no longer answers to its keys' changes (nothing left behind).
    c.invalidate(['k0', 'k5', 'k6']);
    expect(c.stats.entries).toBe(0);
    expect(c.stats.bytes).toBe(0);
  });

  it('serves nothing older than maxAgeMs', () => {
    const { c, advance } = cache({ maxAgeMs: 1000 });
    c.put(c.ticket(), 'a', ['k'], body('A'));
    advance(999);
    expect(c.get('a')).toBeDefined();
    advance(1);
    expect(c.get('a')).toBeUndefined();
    expect(c.stats.entries).toBe(0);
  });

  it('remembers changes for reads in flight, and keeps no answer of a read slower than that', () => {
    const { c, advance } = cache({ inFlightMs: 2000 });
    const t = c.ticket();
    c.invalidate(['k']);
    advance(1500);
    c.invalidate(['other']); // prunes only what is older than inFlightMs
    expect(c.put(t, 'a', ['k'], body('A'))).toBe(false);
    const slow = c.ticket();
    advance(2000);
    expect(c.put(slow, 'b', ['x'], body('B'))).toBe(false);
  });

  it('is off with maxBytes 0', () => {
    const c = new PageCache({ maxBytes: 0, maxAgeMs: 1000, inFlightMs: 1000 });
    c.setLive(true);
    expect(c.enabled).toBe(false);
    expect(c.ticket()).toBeUndefined();
    expect(c.get('a')).toBeUndefined();
  });
});
