/**
 * What the bridge puts on its dead-letter topic (OPENIM_DLQ_TOPIC) for a
 * `toRedis` record it cannot read: where it was (topic, partition, offset,
 * key), why, and the record itself (protobuf, so base64). The record stays in
 * OpenIM's topic too; the partition moves on.
 */
export interface BridgeDeadLetter {
  reason: string;
  kind: 'unreadable';
  contentType: number;
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  /** Kafka timestamp of the original record (ms, decimal string). */
  timestamp: string;
  failedAt: number;
  valueBase64: string;
  size: number;
}

export function bridgeDeadLetter(
  failure: { reason: string; contentType: number },
  where: { topic: string; partition: number; offset: string; key: Buffer | null; value: Buffer | null; timestamp: string },
  now = Date.now(),
): BridgeDeadLetter {
  const raw = where.value ?? Buffer.alloc(0);
  return {
    reason: failure.reason,
    kind: 'unreadable',
    contentType: failure.contentType,
    topic: where.topic,
    partition: where.partition,
    offset: where.offset,
    key: where.key === null ? null : where.key.toString('utf8'),
    timestamp: where.timestamp,
    failedAt: now,
    valueBase64: raw.toString('base64'),
    size: raw.length,
  };
}
