import { Redis } from 'ioredis';
import { ReadModel } from '@imgroups/read-model';
import { readFileSync } from 'node:fs';
const w = JSON.parse(readFileSync('/tmp/perf/workload.json', 'utf8')) as { users10: string[] };
const redis = new Redis('redis://127.0.0.1:7777');
if (process.env.EXP_CORK) {
  redis.on('connect', () => {
    const stream = (redis as any).stream;
    const write = stream.write.bind(stream);
    let corked = false;
    const uncork = () => { corked = false; stream.uncork(); };
    stream.write = (...a: unknown[]) => { if (!corked) { corked = true; stream.cork(); setImmediate(uncork); } return write(...a); };
  });
}
const rm = new ReadModel(redis, { root: 'rm', dedupeWindow: 128 });
const redisCpu = async () => { const c = await redis.info('cpu'); const g = (k: string) => Number(new RegExp(`${k}:([\\d.]+)`).exec(c)![1]); return (g('used_cpu_user') + g('used_cpu_sys')) * 1e6; };
async function run(label: string, n: number) {
  let i = 0;
  const worker = async () => { while (i < n) { const u = w.users10[(i++ * 7919) % w.users10.length]!; await rm.readPageCards(u, 0, 10); } };
  const r0 = await redisCpu(); const c0 = process.cpuUsage(); const t0 = performance.now();
  await Promise.all(Array.from({ length: 100 }, worker));
  const c = process.cpuUsage(c0); const dt = performance.now() - t0; const r1 = await redisCpu();
  console.log(`${label}: node ${((c.user + c.system) / n).toFixed(1)} us/op (user ${(c.user / n).toFixed(1)} sys ${(c.system / n).toFixed(1)}), redis ${((r1 - r0) / n).toFixed(1)} us/op, ${(n / dt * 1000).toFixed(0)} ops/s`);
}
await run('warm', 20000);
for (let k = 0; k < 3; k++) await run(process.env.EXP_ONECALL ? 'onecall' : 'twocall', 50000);
redis.disconnect();
