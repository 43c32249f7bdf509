import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMokapi, type LocalProcess } from '@imgroups/devenv';
import { testKafka, uniqueId, waitFor } from '@imgroups/testing';

/**
 * The AsyncAPI file documents the payload schemas and also configures the
 * mock broker. A broker must store whatever bytes it is given (bad events are
 * the projector's to dead-letter), so this guards the file against edits that
 * turn the mock's schema validation on or break its consumer groups.
 */
describe('test broker configured by asyncapi/im-group-events.yaml', () => {
  let broker: LocalProcess;
  beforeAll(async () => {
    broker = await startMokapi();
  });
  afterAll(async () => {
    await broker?.stop();
  });

  it('stores any bytes on both declared topics and hands them back to a consumer group', async () => {
    const topics = ['im.group.events', 'im.group.events.dlq'];
    const values = [
      Buffer.from([0xff, 0xfe, 0x00, 0x7b]), // not UTF-8, not JSON
      Buffer.from(JSON.stringify({ type: 'member.joined', version: 1, data: { pad: 'x'.repeat(2048) } })), // fails the schema, > 512 bytes
      Buffer.from('plain text'),
    ];
    const kafka = testKafka([broker.url]);
    const producer = kafka.producer();
    await producer.connect();
    for (const topic of topics) {
      // One partition, so the values travel as one multi-record batch.
      await producer.send({ topic, acks: -1, messages: values.map((value) => ({ key: 'g1', value, partition: 0 })) });
    }
    await producer.disconnect();

    const received: Record<string, Buffer[]> = { [topics[0]!]: [], [topics[1]!]: [] };
    const consumer = kafka.consumer({ groupId: uniqueId('broker-check-'), sessionTimeout: 6000, heartbeatInterval: 500 });
    await consumer.connect();
    try {
      await consumer.subscribe({ topics, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ topic, message }) => {
          received[topic]!.push(message.value ?? Buffer.alloc(0));
        },
      });
      await waitFor(() => topics.every((t) => received[t]!.length >= values.length), {
        timeoutMs: 30_000,
        message: 'all records consumed',
      });
    } finally {
      await consumer.disconnect();
    }
    for (const topic of topics) expect(received[topic]).toEqual(values);
  });
});
