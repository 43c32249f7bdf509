import { decodeEvent, type GroupEvent } from '@imgroups/contracts';
import type { PositionedEvent } from '@imgroups/read-model';
import type { EachBatchPayload } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { createProjectorMetrics, type StatsSource } from './metrics.js';

/**
 * The projector's metrics: running totals read from its stats at scrape
 * time, events by type and outcome, per-partition lag after each batch and
 * the batch duration, all in the Prometheus text format.
 */
function sample(text: string, line: string): number | undefined {
  const found = text.split('\n').find((l) => l.startsWith(`${line} `));
  return found === undefined ? undefined : Number(found.slice(line.length + 1));
}

function event(type: string, data: unknown): PositionedEvent {
  const r = decodeEvent(JSON.stringify({ eventID: `e-${Math.random()}`, type, version: 1, groupID: 'g1', occurredAt: 1, data }));
  if (!r.ok) throw new Error(r.reason);
  return { offset: '0', event: r.event as GroupEvent };
}

/** A kafkajs batch payload with the fields observeBatch reads. */
function payload(partition: number, highWatermark: string, resolved: string[]) {
  return {
    batch: { topic: 'im.group.events', partition, highWatermark },
    resolveOffset: (o: string) => resolved.push(o),
  } as unknown as EachBatchPayload;
}

describe('projector metrics', () => {
  it('expose the running totals of the projector\'s stats at scrape time', async () => {
    const stats: StatsSource = { batches: 2, messages: 7, deadLettered: 3, redisRetries: 1, outcomes: { applied: 4 } };
    const m = createProjectorMetrics(() => stats);
    let text = await m.registry.metrics();
    expect(sample(text, 'projector_messages_total')).toBe(7);
    expect(sample(text, 'projector_dead_letters_total')).toBe(3);
    expect(sample(text, 'projector_batches_total')).toBe(2);
    expect(sample(text, 'projector_redis_retries_total')).toBe(1);
    stats.deadLettered = 5;
    text = await m.registry.metrics();
    expect(sample(text, 'projector_dead_letters_total')).toBe(5);
  });

  it('count applied events by type and outcome', async () => {
    const m = createProjectorMetrics(() => undefined);
    const joined = event('member.joined', { members: [{ userID: 'u', roleLevel: 20, joinTime: 1 }] });
    const dismissed = event('group.dismissed', {});
    m.recordApplied([joined, joined, dismissed], ['applied', 'already_member', 'applied']);
    m.recordApplied([joined], ['applied']);
    const text = await m.registry.metrics();
    expect(sample(text, 'projector_events_total{type="member.joined",outcome="applied"}')).toBe(2);
    expect(sample(text, 'projector_events_total{type="member.joined",outcome="already_member"}')).toBe(1);
    expect(sample(text, 'projector_events_total{type="group.dismissed",outcome="applied"}')).toBe(1);
  });

  it('record each partition\'s lag after a batch from the last offset it resolved, and the batch duration', async () => {
    const m = createProjectorMetrics(() => undefined);
    const resolved: string[] = [];
    await m.observeBatch(payload(3, '100', resolved), async (p) => {
      p.resolveOffset('49');
      p.resolveOffset('89');
    });
    expect(resolved).toEqual(['49', '89']); // passed through to kafkajs
    await m.observeBatch(payload(1, '10', []), async (p) => p.resolveOffset('9'));
    const text = await m.registry.metrics();
    expect(sample(text, 'projector_partition_lag{topic="im.group.events",partition="3"}')).toBe(10);
    expect(sample(text, 'projector_partition_lag{topic="im.group.events",partition="1"}')).toBe(0);
    expect(sample(text, 'projector_batch_duration_seconds_count')).toBe(2);
  });

  it('time a batch that fails too, and leave the lag as it was when nothing was resolved', async () => {
    const m = createProjectorMetrics(() => undefined);
    await m.observeBatch(payload(0, '10', []), async (p) => p.resolveOffset('4'));
    await expect(m.observeBatch(payload(0, '20', []), async () => Promise.reject(new Error('redis down')))).rejects.toThrow('redis down');
    const text = await m.registry.metrics();
    expect(sample(text, 'projector_partition_lag{topic="im.group.events",partition="0"}')).toBe(5);
    expect(sample(text, 'projector_batch_duration_seconds_count')).toBe(2);
  });
});
