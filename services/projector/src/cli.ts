import { loadConfigOrExit } from '@imgroups/config';
import { createStatusReader, formatStatus } from '@imgroups/ops';
import { connectRedis, Generations } from '@imgroups/read-model';
import { Kafka, logLevel } from 'kafkajs';
import { destination, pino, transport, type DestinationStream, type Logger } from 'pino';
import { kafkaLogCreator } from './logger.js';
import { logProgress, terminalProgress, type ProgressSink } from './progress.js';
import { RebuildRefusedError, runRebuild, type RebuildResult } from './rebuild.js';
import { runVerify, VerifyError, type VerifyResult } from './verify.js';

/**
 * Operator commands, configured by the same environment variables as the
 * projector (packages/config):
 *
 *   rebuild [--fresh] [--no-switch] [--json]   pnpm run rebuild | node services/projector/dist/cli.js rebuild
 *   verify [--json]                            pnpm verify      | node services/projector/dist/cli.js verify
 *   status [--json]                            pnpm status      | node services/projector/dist/cli.js status
 *
 * Results go to stdout, logs and progress to stderr (a bar on a terminal, a
 * log line every few seconds otherwise). Exit codes: docs/operations.md, "Rebuilding the
 * projection".
 */

export const EXIT = { ok: 0, failed: 1, verifyDiffers: 1, cannotVerify: 2, refused: 3, usage: 64, interrupted: 130 } as const;

const USAGE = `usage: cli <command> [options]
  rebuild [--fresh] [--no-switch] [--json]
      build the next generation from the earliest offset beside the active one,
      switch queries and the live projector to it once caught up, delete the old one.
      Resumes an interrupted rebuild; --fresh starts over; --no-switch stops once
      caught up (run again to switch).
  verify [--json]
      replay the stream into a scratch generation and compare it with the active one;
      exit 0 only when they agree.
  status [--json]
      active generation, rebuild progress, per-partition lag; finishes deleting
      retired generations.`;

const FLAGS: Record<string, string[]> = {
  rebuild: ['--fresh', '--no-switch', '--json'],
  verify: ['--json'],
  status: ['--json'],
};

function usage(problem?: string): never {
  if (problem) console.error(`error: ${problem}\n`);
  console.error(USAGE);
  process.exit(problem ? EXIT.usage : EXIT.ok);
}

const [command, ...flags] = process.argv.slice(2);
if (!command) usage('no command');
if (command === '--help' || command === '-h' || command === 'help') usage();
if (!FLAGS[command]) usage(`unknown command "${command}"`);
for (const f of flags) if (!FLAGS[command]!.includes(f)) usage(`unknown option "${f}" for ${command}`);
const has = (f: string) => flags.includes(f);
const json = has('--json');

const config = loadConfigOrExit(process.env, `projector ${command}`);
const interactive = Boolean(process.stderr.isTTY);
// Logs on stderr: stdout carries only the result.
const logger: Logger = pino(
  { name: `projector-${command}`, level: config.LOG_LEVEL },
  interactive || config.LOG_FORMAT === 'pretty'
    ? (transport({ target: 'pino-pretty', options: { destination: 2, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' } }) as DestinationStream)
    : destination(2),
);
const progress: ProgressSink = interactive ? terminalProgress(process.stderr) : logProgress(logger);

const redis = connectRedis({ url: config.REDIS_URL, clusterNodes: config.REDIS_CLUSTER_NODES }, {
  maxRetriesPerRequest: 1,
  retryStrategy: (times) => Math.min(100 * 2 ** times, 2000),
});
redis.on('error', (err: Error) => logger.debug({ err: err.message }, 'redis connection error'));
const kafka = new Kafka({
  clientId: `${config.KAFKA_CLIENT_ID}-${command}`,
  brokers: config.KAFKA_BROKERS,
  logLevel: logLevel.WARN,
  logCreator: kafkaLogCreator(logger),
  retry: { retries: config.KAFKA_RETRIES, initialRetryTime: 300, maxRetryTime: 10_000, restartOnFailure: async () => false },
});

// First Ctrl-C / SIGTERM: stop cleanly (a rebuild stays resumable); second: now.
const abort = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (abort.signal.aborted) process.exit(EXIT.interrupted);
    logger.warn({ signal }, 'stopping (again to exit at once)');
    abort.abort(new Error(signal));
  });
}

const n = (v: number | null) => (v === null ? '-' : v.toLocaleString('en-US'));

function rebuildSummary(r: RebuildResult): string {
  const head =
    r.outcome === 'switched'
      ? `generation ${r.generation} is active (was ${r.previous}); the live projector continues on it`
      : r.outcome === 'caught_up'
        ? `generation ${r.generation} has caught up (not switched: --no-switch); run the rebuild again to switch`
        : `interrupted: generation ${r.generation} is unfinished; run the rebuild again to resume it (--fresh to start over)`;
  const lines = [`rebuild: ${head}`];
  lines.push(
    `  ${r.resumed ? 'resumed, ' : ''}replayed ${n(r.messages)} messages${r.replayMs === null ? '' : ` in ${(r.replayMs / 1000).toFixed(2)} s (${n(r.eventsPerSecond)} messages/s)`}` +
      `; ${n(r.deadLetters)} bad messages counted, not re-sent to the DLQ`,
  );
  if (r.outcome === 'switched') {
    lines.push(`  switch: ${n(r.switchMs)} ms from catch-up to switch, the switch script itself ${r.flipScriptMs} ms`);
    lines.push(`  generation ${r.previous}: ${n(r.deletedKeys)} keys deleted`);
  }
  lines.push(`  ${(r.totalMs / 1000).toFixed(1)} s in all, consumer group ${r.consumerGroup}`);
  return lines.join('\n');
}

function verifySummary(r: VerifyResult): string {
  const lines = [
    r.equal
      ? `verify: generation ${r.generation} agrees with a replay of the stream (${n(r.users)} users, ${n(r.groups)} groups)`
      : `verify: generation ${r.generation} DIFFERS from a replay of the stream: ${n(r.mismatchCount)} users/groups (of ${n(r.users)} users, ${n(r.groups)} groups)`,
    ...r.mismatches.map((m) => `  ${m}`),
  ];
  if (r.mismatchCount > r.mismatches.length) lines.push(`  … and ${n(r.mismatchCount - r.mismatches.length)} more`);
  lines.push(`  compared at offsets ${JSON.stringify(r.comparedAt)}; ${n(r.messages)} messages replayed in ${(r.ms / 1000).toFixed(1)} s`);
  return lines.join('\n');
}

async function main(): Promise<number> {
  switch (command) {
    case 'rebuild': {
      try {
        const r = await runRebuild(
          { config, redis, kafka, logger, progress, signal: abort.signal },
          { fresh: has('--fresh'), switch: !has('--no-switch') },
        );
        console.log(json ? JSON.stringify(r) : rebuildSummary(r));
        return r.outcome === 'interrupted' ? EXIT.interrupted : EXIT.ok;
      } catch (err) {
        if (err instanceof RebuildRefusedError) {
          console.error(`rebuild: ${err.message}`);
          return EXIT.refused;
        }
        throw err;
      }
    }
    case 'verify': {
      try {
        const r = await runVerify({ config, redis, kafka, logger, progress, signal: abort.signal });
        console.log(json ? JSON.stringify(r) : verifySummary(r));
        return r.equal ? EXIT.ok : EXIT.verifyDiffers;
      } catch (err) {
        if (err instanceof VerifyError) {
          console.error(`verify: could not compare: ${err.message}`);
          return EXIT.cannotVerify;
        }
        throw err;
      }
    }
    default: {
      // Finish deleting what a killed rebuild or verify left behind, then report.
      const gens = new Generations(redis, config.REDIS_KEY_PREFIX);
      for (const d of await gens.sweepRetired({ shouldStop: () => abort.signal.aborted })) {
        logger.info({ generation: d.generation, deleted: d.deleted }, 'finished deleting a retired generation');
      }
      // Its own quiet Kafka client: a broker that cannot report committed
      // offsets (the mock) is a line in the status, not an error log.
      const reader = createStatusReader({ redis, config });
      try {
        const s = await reader.read();
        console.log(json ? JSON.stringify(s) : formatStatus(s));
      } finally {
        await reader.close();
      }
      return EXIT.ok;
    }
  }
}

let code: number = EXIT.failed;
try {
  code = await main();
} catch (err) {
  logger.error({ err }, `${command} failed`);
  console.error(`${command}: ${(err as Error).message}`);
}
await redis.quit().catch(() => redis.disconnect());
logger.flush();
// Let a pretty-printing transport drain before exiting.
await new Promise((r) => setTimeout(r, interactive || config.LOG_FORMAT === 'pretty' ? 100 : 0));
process.exit(code);
