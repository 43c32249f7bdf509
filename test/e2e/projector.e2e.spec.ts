import { ev, waitFor } from '@imgroups/testing';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { startPipeline, type Pipeline } from '../support/harness.js';

const env = inject('testEnv');
let pipeline: Pipeline | undefined;
afterEach(async () => {
  await pipeline?.close();
  pipeline = undefined;
});

async function pageOf(p: Pipeline, userID: string, offset = 0, count = 100) {
  const page = await p.readModel.readPage(userID, offset, count);
  return { total: page.total, groups: JSON.parse(`[${page.groupsJson}]`) as Record<string, unknown>[] };
}

describe('projector through the broker', () => {
  it('applies published events so the read model lists the joined groups with exact memberCount', async () => {
    pipeline = await startPipeline(env);
    const p = pipeline;
    await p.publish([
      ev.created('g1', { userID: 'alice', joinTime: 1000 }, [{ userID: 'bob', joinTime: 1001 }]),
      ev.created('g2', { userID: 'bob', joinTime: 2000 }, [{ userID: 'alice', joinTime: 500 }]),
      ev.joined('g1', [{ userID: 'carol', joinTime: 1500 }]),
      ev.left('g1', ['bob']),
    ]);
    const alice = await waitFor(async () => {
      const page = await pageOf(p, 'alice');
      return page.total === 2 && page.groups[1]?.memberCount === 2 ? page : undefined;
    }, { message: 'alice sees both groups' });
    expect(alice.groups.map((g) => g.groupID)).toEqual(['g2', 'g1']);
    expect((await pageOf(p, 'bob')).groups.map((g) => g.groupID)).toEqual(['g2']);
  });

  it('dead-letters a poison message with its reason and keeps applying the events behind it in the partition', async () => {
    pipeline = await startPipeline(env);
    const p = pipeline;
    await p.publish([
      ev.created('p1', { userID: 'dave', joinTime: 1 }),
      { key: 'p1', value: '{not json' },
      { key: 'p1', value: JSON.stringify({ ...ev.joined('p1', [{ userID: 'erin', joinTime: 2 }]), type: 'member.teleported' }) },
      { key: 'p1', value: JSON.stringify({ ...ev.joined('p1', [{ userID: 'erin', joinTime: 2 }]), version: 9 }) },
      { key: 'p1', value: JSON.stringify({ ...ev.joined('p1', []) }) },
      ev.joined('p1', [{ userID: 'erin', joinTime: 3 }]),
    ]);
    await waitFor(async () => (await pageOf(p, 'erin')).total === 1, { message: 'event behind the poison applied' });
    const letters = await p.readDeadLetters(4);
    expect(letters.map((l) => l.kind)).toEqual(['invalid_json', 'unknown_type', 'unknown_version', 'schema']);
    for (const l of letters) {
      expect(l).toMatchObject({ topic: p.config.EVENTS_TOPIC, key: 'p1' });
      expect(typeof l.reason).toBe('string');
      expect(typeof l.value).toBe('string');
    }
    expect(letters.map((l) => Number(l.offset))).toEqual([1, 2, 3, 4]);
    expect(p.projector.stats.deadLettered).toBe(4);
  });

  it('treats a re-sent event (same eventID, later offset) as a no-op', async () => {
    pipeline = await startPipeline(env);
    const p = pipeline;
    const join = ev.joined('r1', [{ userID: 'gina', joinTime: 10 }]);
    await p.publish([ev.created('r1', { userID: 'fred', joinTime: 1 }), join, ev.left('r1', ['gina'])]);
    await waitFor(async () => p.projector.stats.outcomes.applied === 3, { message: 'three events applied' });
    await p.publish([join]);
    await waitFor(async () => p.projector.stats.outcomes.duplicate_event === 1, { message: 'the re-send seen' });
    expect((await pageOf(p, 'gina')).total).toBe(0);
    expect((await pageOf(p, 'fred')).groups[0]?.memberCount).toBe(1);
  });
});
