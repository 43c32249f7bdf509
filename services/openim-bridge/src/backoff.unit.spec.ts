import { describe, expect, it } from 'vitest';
import { holdUntil } from './backoff.js';

describe('holding until an operation succeeds', () => {
  it('retries with a doubling, capped delay and reports each wait', async () => {
    const waits: number[] = [];
    let calls = 0;
    const result = await holdUntil(
      async () => {
        if (++calls < 5) throw new Error('down');
        return 'up';
      },
      { shouldGoOn: () => true, onRetry: () => {}, minDelayMs: 100, maxDelayMs: 300, sleep: async (ms) => void waits.push(ms) },
    );
    expect(result).toEqual({ ok: true, value: 'up' });
    expect(waits).toEqual([100, 200, 300, 300]);
  });

  it('gives up without a value when told to stop (a rebalance, a shutdown)', async () => {
    let goOn = true;
    const result = await holdUntil(() => Promise.reject(new Error('down')), {
      shouldGoOn: () => goOn,
      onRetry: () => void (goOn = false),
      minDelayMs: 1,
      maxDelayMs: 1,
      sleep: async () => {},
    });
    expect(result).toEqual({ ok: false });
  });
});
