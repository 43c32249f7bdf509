import { fmt, fmtInt } from './stats.js';
import type { Meter } from './apply-paths.js';
import type { KindRow } from './apply-memory.js';

/** bench:apply's printed figures: per topology a table and detail lines, then the closing lines. */

export interface PathResult {
  /** measured, measured+wait, ceiling=lua, ceiling=commands */
  name: string;
  meter: Meter;
}

const SCRIPT_CALLS = new Set(['evalsha', 'eval', 'evalsha_ro', 'eval_ro', 'fcall', 'fcall_ro']);

export interface CallFigures {
  perEvent: number;
  scriptsPerEvent: number;
  /** The commands run most, per event, most first. */
  top: [string, number][];
}

export function callFigures(m: Meter, events: number): CallFigures {
  let total = 0;
  let scripts = 0;
  for (const [cmd, n] of m.calls) {
    total += n;
    if (SCRIPT_CALLS.has(cmd)) scripts += n;
  }
  const top = [...m.calls.entries()].sort((a, b) => b[1] - a[1]).slice(0, 6);
  return { perEvent: total / events, scriptsPerEvent: scripts / events, top: top.map(([c, n]) => [c, n / events]) };
}

/** Calls per event: 2 decimals, more below 0.1 (a script call per 500-event slice is 0.002). */
const fmtRate = (x: number) => (x > 0 && x < 0.1 ? x.toPrecision(2) : fmt(x));

const eps = (m: Meter, events: number) => (events * 1000) / m.wallMs;
const usPerEvent = (ms: number, events: number) => (ms * 1000) / events;

export function printPaths(topology: string, paths: PathResult[], events: number, withReplicas: boolean): void {
  const us = (ms: number) => fmt(usPerEvent(ms, events), 1);
  console.log(`\n[${topology}] ${fmtInt(events)} events per path`);
  console.log(
    `path              events/s   wall s   node CPU us/event   redis CPU us/event${withReplicas ? ' (masters)   replicas CPU us/event' : ''}`,
  );
  for (const { name, meter: m } of paths) {
    console.log(
      `${name.padEnd(16)} ${fmtInt(eps(m, events)).padStart(9)} ${fmt(m.wallMs / 1000, 1).padStart(8)} ${us(m.nodeCpuMs).padStart(19)} ${us(m.redisCpuMs).padStart(20)}` +
        (withReplicas ? `${''.padStart(10)} ${us(m.replicasCpuMs).padStart(21)}` : ''),
    );
  }
  for (const { name, meter: m } of paths) {
    const c = callFigures(m, events);
    console.log(
      `calls: topology=${topology} path=${name} per_event=${fmtRate(c.perEvent)} script_calls_per_event=${fmtRate(c.scriptsPerEvent)} ` +
        `(${c.top.map(([cmd, n]) => `${cmd} ${fmtRate(n)}`).join(', ')})`,
    );
  }
}

export function printMemoryByKind(byKind: Map<string, KindRow>, memberships: number): void {
  console.log(`memory by key kind (MEMORY USAGE, bytes per membership):`);
  for (const [kind, row] of [...byKind.entries()].sort((a, b) => b[1].bytes - a[1].bytes)) {
    console.log(`  ${kind.padEnd(8)} ${fmtInt(row.keys).padStart(9)} keys ${fmtInt(row.bytes).padStart(13)} bytes ${fmt(row.bytes / memberships, 1).padStart(7)}`);
  }
}

/**
 * `apply: topology=T ratio=R ceiling=C ...`: the measured path (or its WAIT
 * variant) over a ceiling measured on the same topology, in the same run.
 */
export function applyLine(topology: string, measured: Meter, ceilingName: string, ceiling: Meter, events: number, withReplicas: boolean): string {
  const c = callFigures(measured, events);
  const cc = callFigures(ceiling, events);
  return (
    `apply: topology=${topology} ratio=${fmt(eps(measured, events) / eps(ceiling, events))} ceiling=${ceilingName} ` +
    `events_per_s=${Math.round(eps(measured, events))} ceiling_events_per_s=${Math.round(eps(ceiling, events))} ` +
    `calls_per_event=${fmtRate(c.perEvent)} script_calls_per_event=${fmtRate(c.scriptsPerEvent)} ceiling_calls_per_event=${fmtRate(cc.perEvent)} ` +
    `node_cpu_us_per_event=${fmt(usPerEvent(measured.nodeCpuMs, events), 1)} redis_cpu_us_per_event=${fmt(usPerEvent(measured.redisCpuMs, events), 1)}` +
    (withReplicas ? ` replicas_cpu_us_per_event=${fmt(usPerEvent(measured.replicasCpuMs, events), 1)}` : '') +
    (measured.calls.has('wait') ? ` wait_calls_per_event=${fmtRate((measured.calls.get('wait') ?? 0) / events)}` : '')
  );
}

/** `memory: topology=T bytes_per_membership=B (version logs included: jlog J, mlog M)` */
export function memoryLine(topology: string, bytes: number, memberships: number, byKind: Map<string, KindRow>): string {
  const logBytes = (kind: string) => Math.round((byKind.get(kind)?.bytes ?? 0) / memberships);
  return (
    `memory: topology=${topology} bytes_per_membership=${Math.round(bytes / memberships)} ` +
    `(version logs included: jlog ${logBytes('jlog')}, mlog ${logBytes('mlog')})`
  );
}
