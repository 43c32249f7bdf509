import { Kafka, logLevel, CompressionTypes } from 'kafkajs';
const kafka = new Kafka({ clientId: 'v', brokers: ['127.0.0.1:39092'], logLevel: logLevel.NOTHING, retry: { retries: 0 } , requestTimeout: 4000});
const p = kafka.producer(); await p.connect();
for (const [i, value] of ['small', 'x'.repeat(3000)].entries()) {
  try { await p.send({ topic: 'im.group.events', compression: CompressionTypes.GZIP, messages: [{ key: 'g', value }] }); console.log('gzip send', i, 'ok'); } catch (e) { console.log('gzip send', i, 'ERR', (e as Error).message); }
  try { await p.send({ topic: 'im.group.events.dlq', messages: [{ key: 'g', value: 'plain' }] }); console.log('plain send after', i, 'ok'); } catch (e) { console.log('plain after', i, 'ERR', (e as Error).message); }
}
await p.disconnect();
