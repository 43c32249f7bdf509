/**
 * Run `op` until it succeeds or `shouldGoOn()` turns false, waiting a capped,
 * doubling delay between attempts. The bridge never skips what it cannot do
 * yet (produce to our topic, read OpenIM's API): it holds the partition and
 * waits, calling `onRetry` (which heartbeats Kafka and reports the hold).
 */
export async function holdUntil<T>(
  op: () => Promise<T>,
  opts: {
    shouldGoOn: () => boolean;
    onRetry: (err: unknown, attempt: number, delayMs: number) => Promise<void> | void;
    minDelayMs: number;
    maxDelayMs: number;
    sleep?: (ms: number) => Promise<void>;
  },
): Promise<{ ok: true; value: T } | { ok: false }> {
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  let delay = opts.minDelayMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return { ok: true, value: await op() };
    } catch (err) {
      if (!opts.shouldGoOn()) return { ok: false };
      await opts.onRetry(err, attempt, delay);
      await sleep(delay);
      if (!opts.shouldGoOn()) return { ok: false };
      delay = Math.min(delay * 2, opts.maxDelayMs);
    }
  }
}
