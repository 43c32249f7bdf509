import { describe, expect, it } from 'vitest';
import { formatStatus, type Status } from './status.js';

const base: Status = {
  root: 'rm',
  topic: 'im.group.events',
  at: Date.UTC(2026, 0, 1, 12),
  active: {
    generation: 2,
    consumerGroup: 'imgroups-projector',
    lag: 7,
    partitions: [
      { partition: 0, applied: 1999, highWatermark: 2000, lag: 0, committed: null },
      { partition: 1, applied: 992, highWatermark: 1000, lag: 7, committed: null },
    ],
  },
  rebuild: null,
  pendingDeletion: [],
  scratch: [],
  kafka: { ok: true },
  committedUnavailable: 'The coordinator is not aware of this member',
};

const rebuild = {
  generation: 3,
  status: 'running' as const,
  consumerGroup: 'imgroups-projector-rebuild-3',
  startedAt: Date.UTC(2026, 0, 1, 11, 59),
  previous: null,
  switchedAt: null,
  finishedAt: null,
  targetEvents: 3000,
  eventsPerSecond: null,
  switchMs: null,
  flipScriptMs: null,
  deletedKeys: null,
  applied: 1500,
  total: 3000,
  progress: 0.5,
  partitions: [
    { partition: 0, applied: 999, highWatermark: 2000, lag: 1000 },
    { partition: 1, applied: 499, highWatermark: 1000, lag: 500 },
  ],
};

describe('pnpm status output', () => {
  it('shows the active generation with a lag table, a running rebuild with its progress and lock holder', () => {
    const text = formatStatus({
      ...base,
      rebuild: { ...rebuild, lock: { holder: { token: 't', host: 'ops-1', pid: 42, startedAt: rebuild.startedAt }, expiresInMs: 21_500 } },
      pendingDeletion: ['1'],
    });
    expect(text).toContain('active generation: 2, lag 7 messages (consumer group imgroups-projector)');
    expect(text).toMatch(/partition\s+applied\s+high watermark\s+lag\s+committed/);
    expect(text).toMatch(/\n\s+1\s+992\s+1,000\s+7\s+-\n/);
    expect(text).toContain('committed offsets unavailable: The coordinator is not aware of this member');
    expect(text).toContain('rebuild: generation 3 running, started 2026-01-01T11:59:00.000Z (consumer group imgroups-projector-rebuild-3)');
    expect(text).toContain('1,500 of 3,000 messages applied (50.0%)');
    expect(text).toContain('lock held by ops-1 pid 42 since 2026-01-01T11:59:00.000Z, expires in 22 s unless refreshed');
    expect(text).toContain('generations being deleted: 1');
  });

  it('says how to resume a rebuild nobody runs, and what a finished one measured', () => {
    expect(formatStatus({ ...base, rebuild: { ...rebuild, lock: null } })).toContain(
      'no process holds the lock: interrupted; `pnpm run rebuild` resumes it, `pnpm run rebuild --fresh` starts over',
    );
    const done = formatStatus({
      ...base,
      rebuild: {
        ...rebuild,
        status: 'done',
        previous: 2,
        switchedAt: Date.UTC(2026, 0, 1, 12),
        finishedAt: Date.UTC(2026, 0, 1, 12, 0, 5),
        eventsPerSecond: 9800,
        switchMs: 57,
        flipScriptMs: 0.66,
        deletedKeys: 2495,
        lock: null,
      },
    });
    expect(done).toContain('switched 2026-01-01T12:00:00.000Z from generation 2; replay 9,800 messages/s, switch 57 ms (script 0.66 ms), 2,495 old keys deleted');
  });

  it('says when Kafka did not answer', () => {
    const text = formatStatus({ ...base, kafka: { ok: false, error: 'kafka connect: no answer within 3000 ms' }, active: { ...base.active, lag: null } });
    expect(text).toContain('kafka: kafka connect: no answer within 3000 ms (high watermarks and lag unknown)');
    expect(text).toContain('lag - messages');
  });
});
