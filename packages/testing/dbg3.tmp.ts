import { Kafka, logLevel } from 'kafkajs';
import { startMokapi } from './src/processes.js';
const broker = await startMokapi(process.env.SPEC ? { asyncapiFile: process.env.SPEC } : {});
const kafka = new Kafka({ clientId: 'v', brokers: [broker.url], logLevel: logLevel.NOTHING });
const p = kafka.producer(); await p.connect();
const topic = process.env.TOPIC ?? 'im.group.events';
if (topic !== 'im.group.events') { const a = kafka.admin(); await a.connect(); await a.createTopics({ topics: [{ topic, numPartitions: 2 }] }); await a.disconnect(); }
await p.send({ topic, messages: [{ key: 'g', value: 'one' }] });
const groupId = `g-${Date.now()}`;
async function consumeOnce(label: string, n: number) {
  const c = kafka.consumer({ groupId, sessionTimeout: 6000, heartbeatInterval: 500 });
  await c.connect(); await c.subscribe({ topic, fromBeginning: true });
  const t = Date.now(); const got: string[] = [];
  await new Promise<void>((res, rej) => { const tm = setTimeout(() => rej(new Error(label + ' timeout ' + got)), 30000);
    void c.run({ eachMessage: async ({ message }) => { got.push(message.value!.toString()); if (got.length >= n) { clearTimeout(tm); res(); } } }); });
  console.log(label, got, Date.now() - t, 'ms');
  await c.disconnect();
}
await consumeOnce('first', 1);
await p.send({ topic, messages: [{ key: 'g', value: 'two' }] });
await consumeOnce('second', 1);
await p.disconnect(); await broker.stop();
