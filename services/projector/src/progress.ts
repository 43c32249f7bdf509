import type { Logger } from 'pino';

/**
 * Progress of a replay (rebuild or verify): applied vs. high watermark per
 * partition, rate, ETA. On a terminal a small redrawn bar on stderr; anywhere
 * else a log line every few seconds. No dependency: a few ANSI codes.
 */

export type Phase = 'joining' | 'replaying' | 'switching' | 'comparing' | 'deleting' | 'done';

export interface ReplayProgress {
  /** "rebuild of generation 3", "verify of generation 2" */
  title: string;
  phase: Phase;
  /** Per partition: messages applied (checkpoint + 1) and in the partition (high watermark). */
  partitions: { partition: number; applied: number; total: number }[];
  /** Messages/s over the last few seconds, null until known. */
  rate: number | null;
  /** Keys deleted so far (deleting phase). */
  deleted?: number;
}

export interface ProgressSink {
  update(p: ReplayProgress): void;
  /** Print the last state and release the terminal line(s). */
  end(): void;
}

export const noProgress: ProgressSink = { update() {}, end() {} };

const fmt = (v: number) => Math.round(v).toLocaleString('en-US');

export function totals(p: ReplayProgress): { applied: number; total: number; remaining: number } {
  let applied = 0;
  let total = 0;
  for (const x of p.partitions) {
    applied += Math.min(x.applied, x.total);
    total += x.total;
  }
  return { applied, total, remaining: total - applied };
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** ETA in seconds, null when the rate is unknown or zero with work left. */
export function eta(p: ReplayProgress): number | null {
  const { remaining } = totals(p);
  if (remaining <= 0) return 0;
  return p.rate && p.rate > 0 ? remaining / p.rate : null;
}

function bar(fraction: number, width: number): string {
  const full = Math.round(Math.max(0, Math.min(1, fraction)) * width);
  return `[${'#'.repeat(full)}${'-'.repeat(width - full)}]`;
}

/** The lines the terminal shows: a summary line, then one bar per partition. */
export function formatProgress(p: ReplayProgress, barWidth = 30): string[] {
  const { applied, total } = totals(p);
  const pct = total === 0 ? 100 : (applied / total) * 100;
  const e = eta(p);
  const head =
    `${p.title}: ${p.phase}  ${fmt(applied)}/${fmt(total)} (${pct.toFixed(1)}%)` +
    (p.rate === null ? '' : `  ${fmt(p.rate)} msg/s`) +
    (p.phase === 'replaying' ? `  ETA ${e === null ? '?' : formatDuration(e)}` : '') +
    (p.deleted !== undefined ? `  ${fmt(p.deleted)} old keys deleted` : '');
  const width = String(Math.max(0, ...p.partitions.map((x) => x.partition))).length;
  const lines = p.partitions.map((x) => {
    const f = x.total === 0 ? 1 : Math.min(x.applied, x.total) / x.total;
    return `  p${String(x.partition).padEnd(width)} ${bar(f, barWidth)} ${fmt(Math.min(x.applied, x.total))}/${fmt(x.total)}`;
  });
  return [head, ...lines];
}

/** Redraws in place on a TTY, at most every `minIntervalMs`. */
export function terminalProgress(stream: NodeJS.WriteStream, minIntervalMs = 100): ProgressSink {
  let drawn = 0;
  let last = 0;
  let latest: ReplayProgress | undefined;
  const draw = () => {
    if (!latest) return;
    const cols = stream.columns || 100;
    const lines = formatProgress(latest, Math.max(10, Math.min(40, cols - 40))).map((l) => l.slice(0, cols - 1));
    // Back to the first line drawn last time, clear to the end, draw again.
    stream.write(`${drawn > 0 ? `\x1b[${drawn}F` : ''}\x1b[J${lines.join('\n')}\n`);
    drawn = lines.length;
    last = Date.now();
  };
  return {
    update(p) {
      latest = p;
      if (Date.now() - last >= minIntervalMs) draw();
    },
    end() {
      draw();
      drawn = 0;
    },
  };
}

/** One log line every `everyMs` (and at each phase change) where no terminal shows a bar. */
export function logProgress(logger: Logger, everyMs = 5000): ProgressSink {
  let last = 0;
  let phase: Phase | undefined;
  let latest: ReplayProgress | undefined;
  const log = (p: ReplayProgress) => {
    const { applied, total } = totals(p);
    const e = eta(p);
    logger.info(
      {
        phase: p.phase,
        applied,
        total,
        rate: p.rate === null ? null : Math.round(p.rate),
        eta: p.phase === 'replaying' && e !== null ? formatDuration(e) : undefined,
        deleted: p.deleted,
        partitions: p.partitions.map((x) => `p${x.partition} ${Math.min(x.applied, x.total)}/${x.total}`).join(', '),
      },
      `${p.title}: ${p.phase}`,
    );
    last = Date.now();
    phase = p.phase;
  };
  return {
    update(p) {
      latest = p;
      if (p.phase !== phase || Date.now() - last >= everyMs) log(p);
    },
    end() {
      if (latest && Date.now() - last > 0) log(latest);
    },
  };
}

/** Messages/s over a sliding window of samples. */
export class RateMeter {
  private samples: { t: number; v: number }[] = [];
  constructor(private readonly windowMs = 3000) {}

  add(value: number, t = Date.now()): number | null {
    this.samples.push({ t, v: value });
    while (this.samples.length > 2 && t - this.samples[0]!.t > this.windowMs) this.samples.shift();
    const first = this.samples[0]!;
    const dt = t - first.t;
    return dt < 200 ? null : ((value - first.v) * 1000) / dt;
  }
}
