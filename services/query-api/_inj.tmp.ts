import { loadConfig } from '@imgroups/config';
import { openImToken } from '@imgroups/testing';
import Fastify from 'fastify';
import { Redis } from 'ioredis';
import { readFileSync } from 'node:fs';
import { build } from './src/app.js';
const w = JSON.parse(readFileSync('/tmp/perf/workload.json', 'utf8')) as { users10: string[] };
const redis = new Redis('redis://127.0.0.1:7777');
const extra = process.env.EXP_ENV ? Object.fromEntries(process.env.EXP_ENV.split(',').map((kv) => kv.split('='))) : {};
const config = loadConfig({ REDIS_URL: 'redis://127.0.0.1:7777', REDIS_KEY_PREFIX: 'rm', OPENIM_SECRET: 's', LOG_LEVEL: 'warn', NODE_ENV: 'production', ...extra });
const app = await build({ config, redis });
const bare = Fastify({ logger: { level: 'warn' } });
const page = Buffer.alloc(7800, 'x');
bare.post('/x', async (_r, reply) => { reply.header('content-type', 'application/json; charset=utf-8'); return page; });
app.post('/x', async (_r, reply) => { reply.header('content-type', 'application/json; charset=utf-8'); return page; });
const token = openImToken('s', 'imAdmin', { platformID: 10 });
const headers = { operationID: 'bench', token, 'content-type': 'application/json' };
const users = w.users10.slice(0, 200);
const bodies = users.map((u) => JSON.stringify({ fromUserID: u, pagination: { pageNumber: 1, showNumber: 10 } }));
async function measure(label: string, target: typeof app, url: string, n: number) {
  const c0 = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    const r = await target.inject({ method: 'POST', url, headers, payload: bodies[i % bodies.length] });
    if (r.statusCode !== 200) throw new Error(r.body);
  }
  const c = process.cpuUsage(c0);
  console.log(`${label}: ${((c.user + c.system) / n).toFixed(1)} us/req`);
}
await new Promise((r) => setTimeout(r, 500));
for (let k = 0; k < 3; k++) {
  await measure('bare fastify', bare, '/x', 20000);
  await measure('product app, static route', app, '/x', 20000);
  await measure('product page route (cache hits)', app, '/group/get_joined_group_list', 20000);
}
await app.close(); redis.disconnect();
