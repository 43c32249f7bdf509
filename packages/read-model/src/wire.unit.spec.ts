import { describe, expect, it } from 'vitest';
import { eventKey, memberDetail } from './wire.js';

/**
 * What ReadModel stores for the apply script besides the event's own values:
 * the dedupe window's event key and a member's detail string, whose layout
 * the Lua side (lua/member-page.lua parse_detail) reads back.
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
    expect(memberDetail({ roleLevel: '20', joinSource: '2', inviterUserID: 'u1', operatorUserID: 'u7' })).toBe('20|2|2|u1u7');
    expect(memberDetail({ roleLevel: '100', joinSource: '0', inviterUserID: '', operatorUserID: 'imAdmin' })).toBe('100|0|0|imAdmin');
    // Lua counts bytes: "é" is two of them in UTF-8.
    expect(memberDetail({ roleLevel: '60', joinSource: '3', inviterUserID: 'é|1', operatorUserID: '|' })).toBe('60|3|4|é|1|');
  });
});
