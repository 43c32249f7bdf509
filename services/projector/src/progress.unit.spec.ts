import { describe, expect, it } from 'vitest';
import { eta, formatDuration, formatProgress, RateMeter, terminalProgress, type ReplayProgress } from './progress.js';

const view = (over: Partial<ReplayProgress> = {}): ReplayProgress => ({
  title: 'rebuild of generation 3',
  phase: 'replaying',
  partitions: [
    { partition: 0, applied: 5000, total: 10_000 },
    { partition: 1, applied: 10_000, total: 10_000 },
    { partition: 10, applied: 0, total: 0 },
  ],
  rate: 2500,
  ...over,
});

describe('replay progress', () => {
  it('shows applied vs. high watermark per partition, the rate and the ETA from the messages left', () => {
    expect(formatProgress(view(), 10)).toEqual([
      'rebuild of generation 3: replaying  15,000/20,000 (75.0%)  2,500 msg/s  ETA 2s',
      '  p0  [#####-----] 5,000/10,000',
      '  p1  [##########] 10,000/10,000',
      '  p10 [##########] 0/0',
    ]);
  });

  it('has no ETA before the rate is known, and never counts past the high watermark', () => {
    const p = view({ rate: null, partitions: [{ partition: 0, applied: 12, total: 10 }] });
    expect(eta(p)).toBe(0);
    expect(eta(view({ rate: null }))).toBeNull();
    expect(formatProgress(view({ rate: null }))[0]).toContain('ETA ?');
    expect(formatProgress(p, 4)[1]).toBe('  p0 [####] 10/10');
  });

  it('formats durations for people', () => {
    expect([formatDuration(0.4), formatDuration(59), formatDuration(61), formatDuration(3 * 3600 + 120)]).toEqual(['0s', '59s', '1m01s', '3h02m']);
  });

  it('measures the rate over a sliding window', () => {
    const m = new RateMeter(1000);
    expect(m.add(0, 0)).toBeNull();
    expect(m.add(500, 500)).toBe(1000);
    expect(m.add(1500, 1000)).toBe(1500);
    // Samples older than the window drop out: only the last second counts.
    expect(m.add(1600, 2000)).toBe(100);
  });

  it('redraws in place on a terminal: back to the first line, clear, draw', () => {
    let out = '';
    const stream = { columns: 80, write: (s: string) => ((out += s), true) } as unknown as NodeJS.WriteStream;
    const sink = terminalProgress(stream, 0);
    sink.update(view());
    sink.update(view({ phase: 'switching' }));
    sink.end();
    const frames = out.split('\x1b[J');
    expect(frames[0]).toBe('');
    expect(frames[1]).toMatch(/^rebuild of generation 3: replaying/);
    expect(frames[1]!.endsWith('\x1b[4F')).toBe(true);
    expect(frames[2]).toMatch(/^rebuild of generation 3: switching/);
  });
});
