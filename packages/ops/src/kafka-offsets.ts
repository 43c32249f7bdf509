import type { Admin } from 'kafkajs';

/** Reject after `ms`: an operator view must answer even when Kafka does not. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Each partition's high watermark: the offset the next message will get, so
 * a consumer that applied offset `hw - 1` has caught up. Works on the mock
 * broker too (ListOffsets).
 */
export async function highWatermarks(admin: Admin, topic: string): Promise<Map<number, number>> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return new Map(offsets.map((o) => [o.partition, Number(o.high)]));
}

/**
 * A consumer group's committed offsets (the next offset it will read), or
 * null per partition when nothing is committed. The mock broker fails this
 * call (OffsetFetch through the admin client): callers show "unavailable".
 */
export async function committedOffsets(admin: Admin, groupId: string, topic: string): Promise<Map<number, number | null>> {
  const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] });
  return new Map((entry?.partitions ?? []).map((p) => [p.partition, Number(p.offset) < 0 ? null : Number(p.offset)]));
}
