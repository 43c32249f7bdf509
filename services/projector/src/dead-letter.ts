import type { DecodeFailureKind } from '@imgroups/contracts';

/**
 * What goes to the dead-letter topic: a JSON record naming where the bad
 * message was (topic, partition, offset, key), why it was rejected, and its
 * value. The value is kept whole as UTF-8 text, or base64 when it is not
 * valid UTF-8; only an oversized value is cut to a preview (the original
 * stays in the source topic at the offset given).
 */
export interface DeadLetter {
  reason: string;
  kind: DecodeFailureKind;
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  /** Kafka timestamp of the original message (ms, as a string). */
  timestamp: string;
  failedAt: number;
  value?: string;
  valueBase64?: string;
  truncated?: true;
  size: number;
}

const OVERSIZE_PREVIEW_BYTES = 1024;
const utf8 = new TextDecoder('utf-8', { fatal: true });

export function deadLetter(
  failure: { kind: DecodeFailureKind; reason: string },
  where: { topic: string; partition: number; offset: string; key: Buffer | null; value: Buffer | null; timestamp: string },
  now = Date.now(),
): DeadLetter {
  const raw = where.value ?? Buffer.alloc(0);
  const body = failure.kind === 'oversized' ? raw.subarray(0, OVERSIZE_PREVIEW_BYTES) : raw;
  const letter: DeadLetter = {
    reason: failure.reason,
    kind: failure.kind,
    topic: where.topic,
    partition: where.partition,
    offset: where.offset,
    key: where.key === null ? null : where.key.toString('utf8'),
    timestamp: where.timestamp,
    failedAt: now,
    size: raw.length,
  };
  try {
    letter.value = utf8.decode(body);
  } catch {
    letter.valueBase64 = body.toString('base64');
  }
  if (body.length < raw.length) letter.truncated = true;
  return letter;
}
