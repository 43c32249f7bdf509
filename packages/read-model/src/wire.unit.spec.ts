import { describe, expect, it } from 'vitest';
import { eventKey, memberDetail } from './read-model.js';

/**
 * What ReadModel stores for the apply script besides the event's own values:
 * the dedupe window's event key and a member's detail string, whose layout
 * the Lua side (lua.ts parse_detail) reads back.
 */
describe('eventKey', () => {
  it('is 11 base64url characters, the same for the same eventID and different for others', () => {
    const ids = Array.from({ length: 10_000 }, (_, i) => `3f2a1b4c-1234-4abc-9def-${String(i).padStart(12, '0')}`);
    const keys = ids.map(eventKey);
    for (const k of keys) expect(k).toMatch(/^[A-Za-z0-9_-]{11}$/);
    expect(new Set(keys).size).toBe(ids.length);
    expect(eventKey(ids[0]!)).toBe(keys[0]);
  });

  it('depends on every character of the ID, not on its length alone', () => {
    expect(eventKey('ev-1')).not.toBe(eventKey('ev-2'));
    expect(eventKey('a'.repeat(128))).not.toBe(eventKey(`${'a'.repeat(127)}b`));
  });
});

describe('memberDetail', () => {
  it('puts role, joinSource and the inviter length (in bytes) before the two IDs', () => {
    expect(memberDetail({ r: '20', s: '2', i: 'u1', o: 'u7' })).toBe('20|2|2|u1u7');
    expect(memberDetail({ r: '100', s: '0', i: '', o: 'imAdmin' })).toBe('100|0|0|imAdmin');
    // Lua counts bytes: "é" is two of them in UTF-8.
    expect(memberDetail({ r: '60', s: '3', i: 'é|1', o: '|' })).toBe('60|3|4|é|1|');
  });
});
