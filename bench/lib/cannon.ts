import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { prng } from '@imgroups/testing';
import autocannon from 'autocannon';
import { quantile, Samples } from './stats.js';

/**
 * One autocannon load: `connections` keep-alive connections, no pipelining,
 * each request's body picked at random from `bodies` (random users). Latency
 * is recorded per response at full resolution (autocannon's own histogram
 * keeps whole milliseconds, too coarse for a p50 ratio near 1).
 */
export interface LoadSpec {
  name: string;
  url: string;
  path: string;
  headers: Record<string, string>;
  bodies: string[];
  connections: number;
  durationS: number;
  seed?: number;
}

export interface LoadResult {
  name: string;
  requests: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  elapsedS: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  bytesPerResponse: number;
  /** CPU the load generator itself used (user + system). */
  loadgenCpuMs: number;
  /** Every 2xx latency (ms), sorted: runs are pooled by `mergeResults`. */
  latencies: Float64Array;
}

/** Where autocannon runs: in this process, or in a fresh Node process of its own. */
export type Runner = 'inproc' | 'process';

/** One run of `spec.durationS` seconds, in this process. */
export async function runLoadHere(spec: LoadSpec): Promise<LoadResult> {
  const durationS = spec.durationS;
  const rand = prng(spec.seed ?? 1);
  const { bodies } = spec;
  const latencies = new Samples();
  let bytes = 0;
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  const instance = autocannon({
    url: spec.url,
    connections: spec.connections,
    pipelining: 1,
    duration: durationS,
    timeout: 30,
    requests: [
      {
        method: 'POST',
        path: spec.path,
        headers: { 'content-type': 'application/json', ...spec.headers },
        setupRequest: (req) => ({ ...req, body: bodies[Math.floor(rand() * bodies.length)]! }),
      },
    ],
  });
  // The tracker emits (client, statusCode, resBytes, responseTime ms, fractional).
  (instance as unknown as NodeJS.EventEmitter).on('response', (_client: unknown, status: number, resBytes: number, ms: number) => {
    if (status >= 200 && status < 300) {
      latencies.push(ms);
      bytes += resBytes;
    }
  });
  const result = await instance;
  const cpu = process.cpuUsage(cpuBefore);
  const elapsedS = (performance.now() - started) / 1000;
  const sorted = latencies.sorted();
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    name: spec.name,
    requests: sorted.length,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    // autocannon's own duration (first to last second of load), not our wall clock around it.
    elapsedS: result.duration || elapsedS,
    rps: sorted.length / (result.duration || elapsedS),
    p50Ms: quantile(sorted, 0.5),
    p99Ms: quantile(sorted, 0.99),
    meanMs: sum / sorted.length,
    bytesPerResponse: bytes / Math.max(1, sorted.length),
    loadgenCpuMs: (cpu.user + cpu.system) / 1000,
    latencies: sorted,
  };
}

const CHILD = join(fileURLToPath(new URL('.', import.meta.url)), 'cannon-child.ts');

/** The same, in a Node process of its own (cannon-child.ts), so it shares no event loop or heap with the driver. */
export async function runLoadInChild(spec: LoadSpec): Promise<LoadResult> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-load-'));
  const file = join(dir, 'spec.json');
  writeFileSync(file, JSON.stringify(spec));
  try {
    const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', CHILD, file], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    const code = await new Promise<number | null>((done) => child.once('exit', done));
    if (code !== 0) throw new Error(`load generator exited with ${code}: ${out.slice(-2000)}`);
    const result = JSON.parse(out.trim().split('\n').pop()!) as LoadResult;
    const raw = readFileSync(`${file}.latencies`);
    result.latencies = new Float64Array(raw.buffer, raw.byteOffset, raw.byteLength / 8);
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function runLoad(spec: LoadSpec, runner: Runner): Promise<LoadResult> {
  return runner === 'process' ? runLoadInChild(spec) : runLoadHere(spec);
}

/** Several runs of one scenario as one: requests over summed time, latency quantiles of all samples. */
export function mergeResults(runs: LoadResult[]): LoadResult {
  const total = runs.reduce((n, r) => n + r.latencies.length, 0);
  const all = new Float64Array(total);
  let at = 0;
  for (const r of runs) {
    all.set(r.latencies, at);
    at += r.latencies.length;
  }
  all.sort();
  const sum = (f: (r: LoadResult) => number) => runs.reduce((n, r) => n + f(r), 0);
  const elapsedS = sum((r) => r.elapsedS);
  return {
    name: runs[0]!.name,
    requests: total,
    non2xx: sum((r) => r.non2xx),
    errors: sum((r) => r.errors),
    timeouts: sum((r) => r.timeouts),
    elapsedS,
    rps: total / elapsedS,
    p50Ms: quantile(all, 0.5),
    p99Ms: quantile(all, 0.99),
    meanMs: sum((r) => r.meanMs * r.requests) / Math.max(1, total),
    bytesPerResponse: sum((r) => r.bytesPerResponse * r.requests) / Math.max(1, total),
    loadgenCpuMs: sum((r) => r.loadgenCpuMs),
    latencies: all,
  };
}
