import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A V8 .cpuprofile (node --cpu-prof) summed by self time: per function and
 * per area (whose code the CPU ran), in percent of all samples.
 */
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

function area(url: string, fn: string): string {
  if (fn === '(idle)') return 'idle';
  if (fn === '(garbage collector)') return 'gc';
  if (fn === '(program)') return 'native (program)';
  if (url === '') return `native ${fn}`.trim();
  if (url.startsWith('node:')) return url.replace(/^node:internal\//, 'node:').split('/').slice(0, 2).join('/');
  const pkg = /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  const ours = /(services|packages)\/([^/]+)\//.exec(url);
  if (ours) return `imgroups ${ours[2]}`;
  return url;
}

export function summarizeProfile(file: string, top = 25): string {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: ProfileNode[] };
  const byFn = new Map<string, number>();
  const byArea = new Map<string, number>();
  let total = 0;
  for (const n of profile.nodes) {
    const hits = n.hitCount ?? 0;
    // Idle time says nothing about the cost of a request; shares are of the busy samples.
    if (hits === 0 || n.callFrame.functionName === '(idle)') continue;
    total += hits;
    const { functionName, url, lineNumber } = n.callFrame;
    const fnKey = `${functionName || '(anonymous)'} ${url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/work\/main\//, '')}:${lineNumber + 1}`;
    byFn.set(fnKey, (byFn.get(fnKey) ?? 0) + hits);
    const a = area(url, functionName);
    byArea.set(a, (byArea.get(a) ?? 0) + hits);
  }
  const pct = (v: number) => `${((100 * v) / total).toFixed(1).padStart(5)}%`;
  const rows = (m: Map<string, number>, k: number) =>
    [...m.entries()]
      .sort((x, y) => y[1] - x[1])
      .slice(0, k)
      .map(([name, v]) => `  ${pct(v)}  ${name}`);
  return [`self time by area, % of busy samples (${total}):`, ...rows(byArea, 15), `top functions by self time:`, ...rows(byFn, top)].join('\n');
}

/** The main thread's profile in `dir` (CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile; tsx's loader thread writes one too). */
export function mainThreadProfile(dir: string): string | undefined {
  const files = readdirSync(dir).filter((f) => /\.\d+\.0\.\d+\.cpuprofile$/.test(f));
  return files.length ? join(dir, files.sort()[files.length - 1]!) : undefined;
}
