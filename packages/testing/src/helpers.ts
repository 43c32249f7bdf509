import { randomBytes } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';

/** A short random name, so each test arranges its own data (keys, topics, groups). */
export function uniqueId(prefix = 't'): string {
  return `${prefix}${randomBytes(5).toString('hex')}`;
}

/**
 * Poll `check` until it returns a value other than undefined/false, or throw
 * after `timeoutMs` with `message` and the last value seen. The only way tests
 * wait: on a condition, with a deadline, never a bare sleep.
 */
export async function waitFor<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  opts: { timeoutMs?: number; intervalMs?: number; message?: string } = {},
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
      last = v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`${opts.message ?? 'condition'} not met within ${opts.timeoutMs ?? 30_000} ms (last: ${String(last)})`);
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 50));
  }
}

export function testKafka(brokers: string[], clientId = uniqueId('test-client-')): Kafka {
  return new Kafka({ clientId, brokers, logLevel: process.env.KAFKAJS_LOG ? logLevel.DEBUG : logLevel.NOTHING, retry: { retries: 8, initialRetryTime: 100 } });
}

/** Create topics for one test (the mock broker does not auto-create). */
export async function createTopics(brokers: string[], topics: { topic: string; numPartitions: number }[]) {
  const admin = testKafka(brokers).admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics, waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
}
