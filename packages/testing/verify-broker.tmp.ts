import { Kafka, logLevel } from 'kafkajs';
import { startMokapi } from './src/processes.js';

const t0 = Date.now();
const broker = await startMokapi(process.env.SPEC ? { asyncapiFile: process.env.SPEC } : {});
console.log(`broker up on ${broker.url} in ${Date.now() - t0} ms`);
const kafka = new Kafka({ clientId: 'verify', brokers: [broker.url], logLevel: logLevel.ERROR, retry: { retries: 5, initialRetryTime: 100 } });
const topics = ['im.group.events', 'im.group.events.dlq'];
const bigJson = JSON.stringify({ eventID: 'e1', type: 'member.joined', version: 1, groupID: 'g1', occurredAt: 1, data: { pad: 'x'.repeat(2048) } });
const validEvent = JSON.stringify({ eventID: 'e2', type: 'group.dismissed', version: 1, groupID: 'g1', occurredAt: 1, operatorUserID: '', data: {} });
const schemaViolating = JSON.stringify({ eventID: '', type: 'member.left', version: 7, groupID: '{bad}', occurredAt: -5, data: { reason: 'nope' } });
const nonJson = Buffer.from([0xff, 0xfe, 0x00, 0x01, 0x68, 0x69, 0x7b]);
const messages = [
  { key: 'g1', value: nonJson },
  { key: 'g1', value: bigJson },
  { key: 'g1', value: validEvent },
  { key: 'g1', value: schemaViolating },
  { key: null, value: 'plain text, no key' },
  { key: Buffer.from([0xff, 0x00]), value: Buffer.alloc(0) },
  { key: 'g1', value: null },
];
const producer = kafka.producer();
await producer.connect();
const admin = kafka.admin();
await admin.connect();
console.log('topics', (await admin.listTopics()).sort().join(','));
for (const t of topics) {
  const meta = await admin.fetchTopicMetadata({ topics: [t] });
  console.log(t, 'partitions', meta.topics[0]!.partitions.length);
}
for (const topic of topics) {
  // one batch per topic, all to partition 0 so they land in one multi-record batch
  const res = await producer.send({ topic, acks: -1, messages: messages.map((m) => ({ ...m, partition: 0, headers: { 'dlq-reason': 'x' } })) });
  console.log('produced', topic, JSON.stringify(res));
  const more = await producer.send({ topic, messages: [{ key: 'g2', value: bigJson, partition: 0 }, { key: 'g2', value: nonJson, partition: 0 }] });
  console.log('produced 2 more', topic, JSON.stringify(more));
}
const expected = messages.length + 2;
const groupId = `verify-${Date.now()}`;
const consumer = kafka.consumer({ groupId, sessionTimeout: 6000, heartbeatInterval: 500 });
await consumer.connect();
await consumer.subscribe({ topics, fromBeginning: true });
const got: Record<string, { key: string | null; value: Buffer | null; headers: unknown }[]> = { [topics[0]!]: [], [topics[1]!]: [] };
const tc = Date.now();
await new Promise<void>((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error(`timeout; got ${JSON.stringify(Object.fromEntries(Object.entries(got).map(([k, v]) => [k, v.length])))}`)), 30_000);
  void consumer.run({
    eachMessage: async ({ topic, message }) => {
      got[topic]!.push({ key: message.key?.toString('hex') ?? null, value: message.value, headers: message.headers });
      if (got[topics[0]!]!.length === expected && got[topics[1]!]!.length === expected) {
        clearTimeout(timer);
        resolve();
      }
    },
  });
});
console.log(`consumed ${expected} per topic in ${Date.now() - tc} ms`);
let ok = true;
for (const topic of topics) {
  const sent = [...messages, { key: 'g2', value: bigJson }, { key: 'g2', value: nonJson }];
  got[topic]!.forEach((m, i) => {
    const s = sent[i]!;
    const sv = s.value === null ? null : Buffer.from(s.value as string | Buffer);
    // the mock hands an empty value back as null (a tombstone)
    const same = sv === null || sv.length === 0 ? m.value === null || m.value.length === 0 : m.value !== null && sv.equals(m.value);
    if (!same) { ok = false; console.log('MISMATCH', topic, i, sv?.length, m.value?.length); }
  });
}
await consumer.disconnect();
// same group again: committed offsets are fetched, nothing is redelivered; plus an undeclared topic
for (const t of topics) await producer.send({ topic: t, messages: [{ key: 'g1', value: 'after restart', partition: 0 }] });
const again: string[] = [];
const c2 = kafka.consumer({ groupId: groupId, sessionTimeout: 6000, heartbeatInterval: 500 });
await c2.connect();
await c2.subscribe({ topics, fromBeginning: true });
const t2 = Date.now();
await new Promise<void>((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error(`timeout 2: ${again.join('|')}`)), 40_000);
  void c2.run({ eachMessage: async ({ topic, message }) => {
    again.push(`${topic}:${message.value?.toString()}`);
    if (again.length >= 2) { clearTimeout(timer); setTimeout(resolve, 1000); }
  } });
});
console.log(`second consumer, same group (${Date.now() - t2} ms):`, again.sort().join(' | '));
if (again.length !== 2) ok = false;
await c2.disconnect();
await producer.disconnect();
await admin.disconnect();
await broker.stop();
console.log(ok ? 'ALL BYTES ROUND-TRIPPED' : 'FAILED');
process.exit(ok ? 0 : 1);
