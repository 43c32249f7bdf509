import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '@imgroups/devenv';
import { openImToken } from '@imgroups/testing';
import type { Topology } from './apply-redis.js';
import { startNodeService, type Service } from './children.js';
import { productServerShape } from './fastify-options.js';
import type { BenchServerSetup } from './server.js';
import type { QueryWorkload } from './workload.js';

/**
 * bench:query's targets on one topology: the query API as configured, the
 * same with its page cache off, and the bench server (lib/server.ts: the
 * static ceiling and the upstream baseline), each a process of its own
 * reaching the topology's Redis; every one checked once before it is measured.
 */

export const ROOT = 'rm';
export const PAGE_PATH = '/group/get_joined_group_list';
const SECRET = 'bench-secret-not-for-production';
const ADMIN = 'imAdmin';
const CEILING_4K4 = 4400;

export const body = (userID: string, pageNumber: number, showNumber: number) =>
  JSON.stringify({ fromUserID: userID, pagination: { pageNumber, showNumber } });

async function post(url: string, path: string, headers: Record<string, string>, payload: string): Promise<string> {
  const res = await fetch(url + path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: payload });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${path}: HTTP ${res.status} ${text.slice(0, 300)}`);
  return text;
}

/** An answer must be errCode 0 with `groups` of the expected length. */
function checkPage(what: string, text: string, groups: number, total?: number): void {
  const parsed = JSON.parse(text) as { errCode: number; data?: { total: number; groups: unknown[] } };
  if (parsed.errCode !== 0 || parsed.data?.groups.length !== groups || (total !== undefined && parsed.data.total !== total)) {
    throw new Error(`${what}: unexpected answer ${text.slice(0, 300)}`);
  }
}

export interface QueryTargets {
  api: Service;
  /** The API with QUERY_CACHE_MAX_BYTES=0 (on a Cluster the same as `api`: no page cache there). */
  uncachedApi: Service;
  server: Service;
  headers: Record<string, string>;
  /** A real page of 10, the ceiling's body. */
  samplePage: string;
  bodies: { users10: string[]; users1k: string[]; bigFirst: string[]; bigLast: string[] };
  /** The Fastify options and hooks, for the log. */
  describe: string;
  /** Every process, last started first. */
  stop(): Promise<void>;
}

export interface TargetOptions {
  topology: Topology;
  workload: QueryWorkload;
  generation: number;
  apiEntry: string;
  /** --api-env KEY=VALUE pairs, for both query APIs. */
  apiEnv: string[];
  /** Where the setup file and CPU profiles go (a dir of this topology's own). */
  dir: string;
  profile: boolean;
}

export async function startQueryTargets(o: TargetOptions): Promise<QueryTargets> {
  const started: Service[] = [];
  const stop = async () => {
    for (const s of started.reverse()) await s.stop().catch(() => {});
  };
  try {
    return await start(o, started, stop);
  } catch (err) {
    await stop();
    throw err;
  }
}

async function start(o: TargetOptions, started: Service[], stop: () => Promise<void>): Promise<QueryTargets> {
  mkdirSync(o.dir, { recursive: true });
  const env: Record<string, string> = {
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    ...o.topology.serviceEnv,
    REDIS_KEY_PREFIX: ROOT,
    OPENIM_SECRET: SECRET,
    ADMIN_USER_IDS: ADMIN,
    // --api-env KEY=VALUE: configuration for both query APIs (an A/B of a setting).
    ...Object.fromEntries(o.apiEnv.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)])),
  };
  const shape = await productServerShape(env);
  const profDir = join(o.dir, 'profiles');
  const profFlags = (name: string) => (o.profile ? ['--cpu-prof', `--cpu-prof-dir=${join(profDir, name)}`] : []);
  const launch = async (name: string, args: string[], serviceEnv: Record<string, string>) => {
    const s = await startNodeService(name, args, serviceEnv);
    started.push(s);
    return s;
  };

  const api = await launch('query-api', [...profFlags('api'), o.apiEntry], env);
  // The same API with its page cache off: what a page costs when it is read from Redis.
  const uncachedApi = await launch('query-api (cache off)', [o.apiEntry], { ...env, QUERY_CACHE_MAX_BYTES: '0' });
  const token = openImToken(SECRET, ADMIN, { platformID: 10 });
  const headers = { operationID: 'bench', token };
  const w = o.workload;

  // The static bodies: a real page of 10 (same bytes as (b)'s answers), and the issue's 4.4 KB.
  const samplePage = await post(api.url, PAGE_PATH, headers, body(w.users10[0]!, 1, 10));
  checkPage('page10', samplePage, 10, 10);
  const small = JSON.parse(samplePage) as { data: { groups: unknown[] } };
  let smallBody = '';
  for (let n = small.data.groups.length; n > 0; n--) {
    smallBody = JSON.stringify({ errCode: 0, errMsg: '', errDlt: '', data: { total: n, groups: small.data.groups.slice(0, n) } });
    if (Buffer.byteLength(smallBody) <= CEILING_4K4) break;
  }
  smallBody = smallBody.replace('"errDlt":""', `"errDlt":"${' '.repeat(CEILING_4K4 - Buffer.byteLength(smallBody))}"`);

  const setupFile = join(o.dir, 'server.json');
  const setup: BenchServerSetup = { options: shape.options, statics: { page: samplePage, '4k4': smallBody }, generation: o.generation };
  writeFileSync(setupFile, JSON.stringify(setup));
  const server = await launch(
    'bench-server',
    ['--conditions=source', '--import', 'tsx', ...profFlags('server'), join(REPO_ROOT, 'bench/lib/server.ts'), setupFile],
    // The upstream route reads a ~1.3 MB string per request; 100 of them queue on one
    // connection for longer than the product's 1 s command timeout. Let the
    // baseline wait rather than fail: its failures would flatter us.
    { ...env, REDIS_COMMAND_TIMEOUT_MS: '30000' },
  );

  const bigTotal = w.groups;
  const lastPage = Math.ceil(bigTotal / 10);
  const bodies = {
    users10: w.users10.map((u) => body(u, 1, 10)),
    users1k: w.users1k.flatMap((u) => Array.from({ length: 10 }, (_, i) => body(u, i + 1, 100))),
    bigFirst: [body(w.bigUser, 1, 10)],
    bigLast: [body(w.bigUser, lastPage, 10)],
  };

  // Every target answers what it should before it is measured; the upstream
  // baseline must give the same bytes as the product for the same page.
  const first = await post(api.url, PAGE_PATH, headers, bodies.bigFirst[0]!);
  checkPage('100k-first', first, 10, bigTotal);
  checkPage('100k-last', await post(api.url, PAGE_PATH, headers, bodies.bigLast[0]!), 10, bigTotal);
  checkPage('page100', await post(api.url, PAGE_PATH, headers, bodies.users1k[Math.min(3, bodies.users1k.length - 1)]!), 100, 1000);
  checkPage('page10 (cache off)', await post(uncachedApi.url, PAGE_PATH, headers, bodies.users10[0]!), 10, 10);
  const upstream = await post(server.url, '/bench/upstream', {}, bodies.bigFirst[0]!);
  if (upstream !== first) throw new Error(`the upstream baseline answers differently:\n${upstream.slice(0, 300)}\n${first.slice(0, 300)}`);
  checkPage('ceiling', await post(server.url, '/bench/static/page', headers, bodies.users10[0]!), 10, 10);

  return {
    api,
    uncachedApi,
    server,
    headers,
    samplePage,
    bodies,
    describe: `server options from the product: ${JSON.stringify(shape.options)}\nthe product's route runs these hooks, the bare routes none:\n${shape.routeHooks}`,
    stop,
  };
}
