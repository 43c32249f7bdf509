/**
 * Retry `op` until it succeeds or `shouldGoOn()` turns false, with capped
 * exponential backoff. For Redis writes the projector must never skip: it
 * waits out an outage (calling `onRetry`, which heartbeats Kafka) instead.
 * Returns undefined when abandoned.
 */
export async function retryUntil<T>(
  op: () => Promise<T>,
  opts: {
    shouldGoOn: () => boolean;
    onRetry: (err: unknown, attempt: number, delayMs: number) => Promise<void> | void;
    initialDelayMs?: number;
    maxDelayMs?: number;
    sleep?: (ms: number) => Promise<void>;
  },
): Promise<{ ok: true; value: T } | { ok: false }> {
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  let delay = opts.initialDelayMs ?? 100;
  for (let attempt = 1; ; attempt++) {
    try {
      return { ok: true, value: await op() };
    } catch (err) {
      if (!opts.shouldGoOn()) return { ok: false };
      await opts.onRetry(err, attempt, delay);
      await sleep(delay);
      if (!opts.shouldGoOn()) return { ok: false };
      delay = Math.min(delay * 2, opts.maxDelayMs ?? 5000);
    }
  }
}
