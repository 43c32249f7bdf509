import { Kafka, logLevel, CompressionTypes } from 'kafkajs';
const kafka = new Kafka({ clientId: 'v', brokers: ['127.0.0.1:39092'], logLevel: logLevel.NOTHING, retry: { retries: 0 } , requestTimeout: 4000});
const p = kafka.producer(); await p.connect();
const nonJson = Buffer.from([0xff, 0xfe, 0x00, 0x01, 0x68, 0x69, 0x7b]);
const big = JSON.stringify({ pad: 'x'.repeat(2048) });
const cases: [string, any][] = [
  ['nonjson+big', { messages: [{ key: 'g1', value: nonJson }, { key: 'g1', value: big }] }],
  ['nullkey', { messages: [{ key: null, value: 'x' }] }],
  ['binkey', { messages: [{ key: Buffer.from([0xff, 0]), value: 'x' }] }],
  ['empty', { messages: [{ key: 'g', value: Buffer.alloc(0) }] }],
  ['tombstone', { messages: [{ key: 'g', value: null }] }],
  ['headers', { messages: [{ key: 'g', value: 'x', headers: { 'dlq-reason': 'x' } }] }],
  //['gzip', { compression: CompressionTypes.GZIP, messages: [{ key: 'g', value: big }, { key: 'g', value: nonJson }] }],
];
for (const topic of ['im.group.events', 'im.group.events.dlq']) for (const [name, c] of cases) {
  try { const r = await p.send({ topic, acks: -1, ...c, messages: c.messages.map((m: any) => ({ ...m, partition: 0 })) }); console.log(topic, name, 'ok', r[0].baseOffset); } catch (e) { console.log(topic, name, 'ERR', (e as Error).message); }
}
await p.disconnect();
