import type { GroupEvent } from '@imgroups/contracts';
import type { Message, Producer } from 'kafkajs';

/**
 * Events to our topic from the import and the reconciliation: key = groupID,
 * acks = all, in batches; `publish` resolves once its events are buffered or
 * acknowledged, `flush` once everything is acknowledged. Batches are sent one
 * at a time, so a group's events (a snapshot's parts) stay in order.
 */
export interface EventPublisher {
  publish(events: readonly GroupEvent[]): Promise<void>;
  flush(): Promise<void>;
  readonly sent: number;
}

export function createEventPublisher(producer: Producer, topic: string, batchMessages = 500): EventPublisher {
  let buffer: Message[] = [];
  let sent = 0;
  async function flush() {
    if (buffer.length === 0) return;
    const messages = buffer;
    buffer = [];
    await producer.send({ topic, acks: -1, messages });
    sent += messages.length;
  }
  return {
    async publish(events) {
      for (const e of events) buffer.push({ key: e.groupID, value: JSON.stringify(e) });
      if (buffer.length >= batchMessages) await flush();
    },
    flush,
    get sent() {
      return sent;
    },
  };
}
