import { readFileSync } from 'node:fs';

/**
 * CPU time of processes from /proc (Linux): how much CPU each process of a
 * run used per request, which the shared 2-core machine's noise does not skew
 * the way wall-clock throughput is skewed.
 */
const TICKS_PER_S = 100; // USER_HZ on Linux

/** user + system CPU ms of `pid` (all its threads), or NaN where /proc is not readable. */
export function cpuMs(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(rest[11]) + Number(rest[12])) * 1000) / TICKS_PER_S;
  } catch {
    return NaN;
  }
}

/** The first child of `pid` (the command a packages/devenv watchdog shell runs). */
export function childPid(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const first = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/)[0];
    return first ? Number(first) : undefined;
  } catch {
    return undefined;
  }
}
