import { z } from 'zod';

/**
 * The one place that reads configuration. Services call `loadConfig(process.env)`
 * once at start; everything else receives the frozen result. Every variable has
 * a development default so `pnpm start` works with zero configuration; the
 * defaults that are secrets are reported by `devDefaultWarnings`. Each variable
 * is described in docs.ts (the typecheck fails without), which renders
 * docs/configuration.md's table.
 */

export const DEV_SECRET = 'openIM123'; // development default, upstream's too; change it in production
export const DEV_ADMIN_USER_ID = 'imAdmin'; // development default, upstream's too

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const port = int(0, 65535);
const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
const csv = z
  .string()
  .transform((s) => s.split(',').map((p) => p.trim()).filter(Boolean))
  .pipe(z.array(z.string()).min(1));
const hostPort = z.string().regex(/^[^\s:]+:\d{1,5}$/, 'must be host:port');

const Schema = z.object({
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_FORMAT: z.enum(['json', 'pretty']).default('json'),

  REDIS_URL: z.string().regex(/^rediss?:\/\//, 'must start with redis:// or rediss://').default('redis://127.0.0.1:6379'),
  REDIS_KEY_PREFIX: z.string().regex(/^[A-Za-z0-9_.-]{1,32}$/, 'letters, digits, _ . - (1-32)').default('rm'),
  REDIS_COMMAND_TIMEOUT_MS: int(10, 60_000).default(1000),
  // Redis Cluster: seed nodes; when set, REDIS_URL is not used for the read model.
  REDIS_CLUSTER_NODES: csv.pipe(z.array(hostPort)).optional(),
  // Writes reach this many replicas (WAIT) before the projector commits their offsets; default 1 on Cluster, 0 otherwise.
  REDIS_WAIT_REPLICAS: int(0, 16).optional(),
  REDIS_WAIT_TIMEOUT_MS: int(10, 60_000).default(2000),

  KAFKA_BROKERS: csv.pipe(z.array(hostPort)).default(['127.0.0.1:9092']),
  KAFKA_CLIENT_ID: z.string().min(1).default('imgroups'),
  EVENTS_TOPIC: z.string().min(1).default('im.group.events'),
  DLQ_TOPIC: z.string().min(1).optional(),
  CONSUMER_GROUP: z.string().min(1).default('imgroups-projector'),
  MAX_EVENT_BYTES: int(256, 100 * 1024 * 1024).default(1024 * 1024),
  DEDUPE_WINDOW: int(1, 100_000).default(128),
  // v1.1: membership tombstones (leaves with their seq) kept per group.
  SEQ_TOMBSTONES: int(1, 1_000_000).default(1000),
  // Entries kept per version log (the SDK's incremental sync): upstream's full-sync threshold.
  SYNC_LOG_MAX: int(10, 100_000).default(200),
  KAFKA_SESSION_TIMEOUT_MS: int(1000, 300_000).default(30_000),
  KAFKA_HEARTBEAT_INTERVAL_MS: int(100, 60_000).default(3000),
  KAFKA_RETRIES: int(0, 100).default(8),
  KAFKA_REBALANCE_TIMEOUT_MS: int(1000, 600_000).default(60_000),
  // Partitions the projector handles at once (kafkajs partitionsConsumedConcurrently):
  // one partition's decoding overlaps another's Lua call; each partition stays in order.
  KAFKA_PARTITIONS_CONCURRENTLY: int(1, 1000).default(1),
  SHUTDOWN_TIMEOUT_MS: int(100, 120_000).default(10_000),

  API_HOST: z.string().min(1).default('0.0.0.0'),
  API_PORT: port.default(10002),
  MAX_SHOW_NUMBER: int(1, 100_000).default(1000),
  BODY_LIMIT_BYTES: int(1024, 16 * 1024 * 1024).default(64 * 1024),
  OPENIM_SECRET: z.string().min(1).default(DEV_SECRET),
  ADMIN_USER_IDS: csv.default([DEV_ADMIN_USER_ID]),
  TOKEN_EXPIRE_DAYS: int(1, 3650).default(90),
  TRUST_PROXY: bool.default(false),
  MAX_GROUP_IDS: int(1, 100_000).default(1000),
  // Answered pages kept in the query API, invalidated by Redis (CLIENT TRACKING); 0 = off.
  QUERY_CACHE_MAX_BYTES: int(0, 64 * 1024 ** 3).default(256 * 1024 ** 2),
  QUERY_CACHE_MAX_AGE_MS: int(1, 86_400_000).default(300_000),
  // OpenIM's own token status (kicked, logged out) in OpenIM's Redis.
  TOKEN_STATUS_CHECK: bool.default(false),
  TOKEN_STATUS_REDIS_URL: z.string().regex(/^rediss?:\/\//, 'must start with redis:// or rediss://').optional(),
  // Per-user rate limit on the group routes: off (0) unless set.
  RATE_LIMIT_MAX: int(0, 1_000_000).default(0),
  RATE_LIMIT_WINDOW_MS: int(100, 3_600_000).default(1000),
  // Load shedding: answer 503 while the event loop lags more than this (0 = off).
  MAX_EVENT_LOOP_DELAY_MS: int(0, 60_000).default(1000),
  PROJECTOR_METRICS_HOST: z.string().min(1).default('0.0.0.0'),
  PROJECTOR_METRICS_PORT: port.default(9464),

  // services/openim-bridge: OpenIM's Kafka (toRedis) -> EVENTS_TOPIC.
  OPENIM_KAFKA_BROKERS: csv.pipe(z.array(hostPort)).optional(), // default: KAFKA_BROKERS
  OPENIM_TOPIC: z.string().min(1).default('toRedis'),
  OPENIM_CONSUMER_GROUP: z.string().min(1).default('imgroups-openim-bridge'),
  // Where a consumer group without committed offsets starts: the end of toRedis (false) or its beginning.
  OPENIM_FROM_BEGINNING: bool.default(false),
  OPENIM_DLQ_TOPIC: z.string().min(1).optional(), // default: <EVENTS_TOPIC>.openim-bridge.dlq
  // OpenIM's HTTP API (e.g. http://openim-api:10002): 1501 backfill and reconciliation. Unset: 1501 yields the owner only.
  OPENIM_API_URL: z
    .string()
    .regex(/^https?:\/\/[^\s]+$/, 'must be an http:// or https:// URL')
    .transform((u) => u.replace(/\/+$/, ''))
    .optional(),
  OPENIM_API_TIMEOUT_MS: int(100, 120_000).default(10_000),
  // Members per group.snapshot message; a part that would exceed MAX_EVENT_BYTES is split further.
  OPENIM_SNAPSHOT_PART_MEMBERS: int(1, 100_000).default(2000),
  // Backoff between attempts while OpenIM's API (or our topic) is unavailable; the partition waits.
  OPENIM_BACKOFF_MIN_MS: int(10, 600_000).default(500),
  OPENIM_BACKOFF_MAX_MS: int(10, 3_600_000).default(30_000),
  OPENIM_BRIDGE_METRICS_HOST: z.string().min(1).default('0.0.0.0'),
  OPENIM_BRIDGE_METRICS_PORT: port.default(9465),
});

type Parsed = z.infer<typeof Schema>;
export type Config = Readonly<
  Omit<Parsed, 'DLQ_TOPIC' | 'TOKEN_STATUS_REDIS_URL' | 'OPENIM_KAFKA_BROKERS' | 'OPENIM_DLQ_TOPIC' | 'REDIS_WAIT_REPLICAS'> & {
    REDIS_WAIT_REPLICAS: number;
    DLQ_TOPIC: string;
    TOKEN_STATUS_REDIS_URL: string;
    OPENIM_KAFKA_BROKERS: string[];
    OPENIM_DLQ_TOPIC: string;
  }
>;
export const CONFIG_KEYS = Object.keys(Schema.shape) as (keyof Parsed)[];

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Parse, validate and freeze. Empty strings count as unset. Lists every problem at once. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const input: Record<string, string> = {};
  for (const key of CONFIG_KEYS) {
    const v = env[key];
    if (v !== undefined && v !== '') input[key] = v;
  }
  const result = Schema.safeParse(input);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((i) => {
        const key = String(i.path[0] ?? '?');
        return `${key}=${JSON.stringify(input[key] ?? '')}: ${i.message}`;
      }),
    );
  }
  const c = result.data;
  return Object.freeze({
    ...c,
    DLQ_TOPIC: c.DLQ_TOPIC ?? `${c.EVENTS_TOPIC}.dlq`,
    TOKEN_STATUS_REDIS_URL: c.TOKEN_STATUS_REDIS_URL ?? c.REDIS_URL,
    REDIS_WAIT_REPLICAS: c.REDIS_WAIT_REPLICAS ?? (c.REDIS_CLUSTER_NODES ? 1 : 0),
    OPENIM_KAFKA_BROKERS: c.OPENIM_KAFKA_BROKERS ?? c.KAFKA_BROKERS,
    OPENIM_DLQ_TOPIC: c.OPENIM_DLQ_TOPIC ?? `${c.EVENTS_TOPIC}.openim-bridge.dlq`,
  });
}

/** The development defaults still in force; services log each loudly at start. */
export function devDefaultWarnings(config: Config): string[] {
  const out: string[] = [];
  if (config.OPENIM_SECRET === DEV_SECRET) {
    out.push(`OPENIM_SECRET is the development default "${DEV_SECRET}": anyone can mint admin tokens. Set it in production.`);
  }
  if (config.ADMIN_USER_IDS.length === 1 && config.ADMIN_USER_IDS[0] === DEV_ADMIN_USER_ID) {
    out.push(`ADMIN_USER_IDS is the development default "${DEV_ADMIN_USER_ID}".`);
  }
  return out;
}

/** For a service's main.ts: the config, or every problem on stderr and exit code 1. */
export function loadConfigOrExit(env: Record<string, string | undefined>, service: string): Config {
  try {
    return loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`${service}: ${err.message}`);
      process.exit(1);
    }
    throw err;
  }
}
