/**
 * `pnpm bench:overhead`: requests per second (and server CPU per request) of
 * POST /group/get_joined_group_list against a locally started query API (its
 * main.ts as a process, LOG_LEVEL=warn), measured with autocannon, next to a
 * bare static Fastify route for scale; `--tree` runs another checkout's API,
 * to measure what a change adds per request. (`pnpm bench:query` is the
 * full benchmark of the query path, in bench/.)
 *
 *   pnpm bench:overhead [--seconds 5] [--connections 10] [--groups 50] [--show 10]
 *                    [--tree <dir>]        bench the query API of another checkout (default: this one)
 *                    [--env KEY=VALUE]...  extra configuration for the API, e.g. --env RATE_LIMIT_MAX=1000000000
 *                    [--no-static]         skip the bare Fastify route
 *
 * It starts its own redis-server on a free port (in memory) and seeds one user
 * in `--groups` groups through the real apply path; everything it starts is
 * stopped at the end.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { decodeEvent } from '@imgroups/contracts';
import { freePort, REPO_ROOT, startRedisServer } from '@imgroups/devenv';
import { ReadModel } from '@imgroups/read-model';
import { openImToken, waitFor } from '@imgroups/testing';
import autocannon from 'autocannon';
import Fastify from 'fastify';
import { Redis } from 'ioredis';

const { values: args } = parseArgs({
  allowPositionals: true,
  options: {
    seconds: { type: 'string', default: '5' },
    connections: { type: 'string', default: '10' },
    groups: { type: 'string', default: '50' },
    show: { type: 'string', default: '10' },
    tree: { type: 'string', default: REPO_ROOT },
    env: { type: 'string', multiple: true, default: [] },
    'no-static': { type: 'boolean', default: false },
    'serve-static': { type: 'string' },
  },
});

const SECRET = 'bench-secret';
const ROOT = 'bench';
const USER = 'bench-user';

/** Self-invoked (`--serve-static <port>`): the bare Fastify baseline, answering a fixed JSON body. */
async function serveStatic(port: number, body: string) {
  const app = Fastify({ logger: false });
  app.post('/static', async (_req, reply) => {
    reply.header('content-type', 'application/json; charset=utf-8');
    return body;
  });
  await app.listen({ host: '127.0.0.1', port });
  process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
}

function launch(command: string, argv: string[], env: Record<string, string>): ChildProcess {
  const child = spawn(command, argv, { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'inherit', 'inherit'] });
  return child;
}

async function stop(child: ChildProcess) {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

async function seed(redisUrl: string, groups: number) {
  const redis = new Redis(redisUrl);
  const rm = new ReadModel(redis, { root: ROOT, dedupeWindow: 128 });
  const gen = await rm.generations.ensureActive();
  const events = Array.from({ length: groups }, (_, i) => {
    const raw = {
      eventID: randomUUID(),
      type: 'group.created',
      version: 1,
      groupID: `bench-group-${String(i).padStart(4, '0')}`,
      occurredAt: 1_700_000_000_000 + i,
      operatorUserID: 'imAdmin',
      data: {
        group: { groupName: `Benchmark group ${i}`, ownerUserID: `owner-${i}`, createTime: 1_700_000_000_000 + i, notification: 'n'.repeat(40) },
        members: [
          { userID: `owner-${i}`, roleLevel: 100, joinTime: 1_700_000_000_000 + i },
          { userID: USER, roleLevel: 20, joinTime: 1_700_000_000_500 + i },
        ],
      },
    };
    const decoded = decodeEvent(JSON.stringify(raw));
    if (!decoded.ok) throw new Error(decoded.reason);
    return { offset: String(i + 1), event: decoded.event };
  });
  await rm.apply(gen, 0, events);
  await redis.quit();
}

/**
 * CPU time (ms) used so far by `pid` and its descendants (tsx runs the service
 * in a child process), from /proc; undefined where there is none. Unlike
 * req/s it barely moves when other work shares the machine.
 */
function cpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined || !existsSync('/proc/self/stat')) return undefined;
  const stats = new Map<number, { ppid: number; ticks: number }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const text = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
      stats.set(Number(entry), { ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) });
    } catch {
      // the process ended meanwhile
    }
  }
  let ticks = 0;
  const family = [pid];
  while (family.length) {
    const p = family.pop()!;
    ticks += stats.get(p)?.ticks ?? 0;
    for (const [child, s] of stats) if (s.ppid === p) family.push(child);
  }
  return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
}

async function measure(title: string, url: string, headers: Record<string, string>, body: string, pid?: number) {
  const seconds = Number(args.seconds);
  // A short warm-up (JIT, connections), then the measured run.
  await autocannon({ url, method: 'POST', headers, body, connections: Number(args.connections), duration: 1 });
  const cpuBefore = cpuMs(pid);
  const r = await autocannon({ url, method: 'POST', headers, body, connections: Number(args.connections), duration: seconds });
  const cpuAfter = cpuMs(pid);
  const perRequest = cpuBefore === undefined || cpuAfter === undefined ? '' : `  server CPU ${Math.round(((cpuAfter - cpuBefore) * 1000) / r.requests.total)} µs/req`;
  const line = `${title.padEnd(44)} ${Math.round(r.requests.average).toString().padStart(7)} req/s  p50 ${r.latency.p50} ms  p99 ${r.latency.p99} ms  non-2xx ${r.non2xx}  errors ${r.errors}${perRequest}`;
  console.log(line);
  return r.requests.average;
}

async function main() {
  if (args['serve-static'] !== undefined) return serveStatic(Number(args['serve-static']), process.argv.at(-1)!);

  const tree = resolve(args.tree);
  const redisServer = await startRedisServer({ port: await freePort() });
  const children: ChildProcess[] = [];
  try {
    const redisUrl = `redis://127.0.0.1:${redisServer.port}`;
    await seed(redisUrl, Number(args.groups));
    const apiPort = await freePort();
    const extra = Object.fromEntries((args.env ?? []).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
    const api = launch(join(tree, 'node_modules/.bin/tsx'), ['--conditions=source', join(tree, 'services/query-api/src/main.ts')], {
      REDIS_URL: redisUrl,
      REDIS_KEY_PREFIX: ROOT,
      API_HOST: '127.0.0.1',
      API_PORT: String(apiPort),
      OPENIM_SECRET: SECRET,
      ADMIN_USER_IDS: 'imAdmin',
      LOG_LEVEL: 'warn',
      ...extra,
    });
    children.push(api);
    const base = `http://127.0.0.1:${apiPort}`;
    await waitFor(async () => (await fetch(`${base}/healthz`)).ok, { timeoutMs: 30_000, message: 'query API up' });

    const headers = { 'content-type': 'application/json', operationID: 'bench', token: openImToken(SECRET, USER) };
    const body = JSON.stringify({ fromUserID: USER, pagination: { pageNumber: 1, showNumber: Number(args.show) } });
    const sample = await fetch(`${base}/group/get_joined_group_list`, { method: 'POST', headers, body });
    const sampleText = await sample.text();
    const answer = JSON.parse(sampleText) as { errCode: number; data?: { total: number; groups: unknown[] } };
    if (answer.errCode !== 0) throw new Error(`the list route answers ${sampleText}`);
    console.log(`query API from ${tree}${Object.keys(extra).length ? ` with ${JSON.stringify(extra)}` : ''}`);
    console.log(`page: ${answer.data!.groups.length} of ${answer.data!.total} groups, ${sampleText.length} bytes; ${args.connections} connections, ${args.seconds} s`);
    await measure('POST /group/get_joined_group_list', `${base}/group/get_joined_group_list`, headers, body, api.pid);

    if (!args['no-static']) {
      await stop(api);
      const staticPort = await freePort();
      const self = launch(join(REPO_ROOT, 'node_modules/.bin/tsx'), ['--conditions=source', join(REPO_ROOT, 'scripts/bench-overhead.ts'), '--serve-static', String(staticPort), sampleText], {});
      children.push(self);
      const staticUrl = `http://127.0.0.1:${staticPort}/static`;
      await waitFor(async () => (await fetch(staticUrl, { method: 'POST' })).ok, { timeoutMs: 30_000, message: 'static server up' });
      await measure('bare Fastify route, same body (reference)', staticUrl, { 'content-type': 'application/json' }, body, self.pid);
    }
  } finally {
    for (const child of children) await stop(child);
    await redisServer.stop();
  }
}

await main();
