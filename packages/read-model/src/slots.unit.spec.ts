import { describe, expect, it } from 'vitest';
import { keyspace } from './keys.js';
import { slotOf, slotProblems, uncalledScripts } from './slots.test-helpers.js';

/** The checker behind slots.int.spec.ts: it must catch a call whose keys span two slots. */
describe('the script-call slot checker', () => {
  const ks = keyspace('rm');

  it('computes Redis Cluster hash slots, hash tags included', () => {
    expect(slotOf('foo')).toBe(12182); // CLUSTER KEYSLOT foo
    expect(slotOf('{user1000}.following')).toBe(slotOf('{user1000}.followers'));
    expect(slotOf(ks.entity('groupInfo', 3, 'g1'))).toBe(slotOf(ks.entity('groupMembers', 7, 'g1')));
    expect(slotOf(ks.active)).toBe(slotOf(ks.checkpoints(3)));
  });

  it('passes calls whose keys share one slot', () => {
    const calls = [
      { script: 'apply', keys: [ks.entity('groupInfo', 1, 'g1'), ks.entity('groupCard', 1, 'g1'), ks.entity('groupMemberLog', 1, 'g1')] },
      { script: 'page', keys: [ks.entity('userJoined', 1, 'u1')] },
      { script: 'flip', keys: [ks.active, ks.rebuild, ks.retired, ks.rebuildLock, ks.checkpoints(1), ks.checkpoints(2)] },
    ];
    expect(slotProblems(calls)).toEqual([]);
  });

  it('fails a call whose keys are in two slots, naming both, and a call with no key', () => {
    const group = ks.entity('groupMembers', 1, 'g1');
    const user = ks.entity('userJoined', 1, 'u1');
    expect(slotOf(group)).not.toBe(slotOf(user));
    expect(slotProblems([{ script: 'apply', keys: [group, user] }])).toEqual([
      `apply: keys in 2 slots (slot ${slotOf(group)}: ${group}; slot ${slotOf(user)}: ${user})`,
    ]);
    expect(slotProblems([{ script: 'page', keys: [] }])).toEqual(['page: no key (a Cluster client sends a keyless call to any node)']);
  });

  it('names the scripts no call ran', () => {
    expect(uncalledScripts([{ script: 'apply', keys: ['k'] }], ['apply', 'page', 'flip'])).toEqual(['page', 'flip']);
  });
});
