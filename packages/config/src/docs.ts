import { CONFIG_KEYS, devDefaultWarnings, loadConfig, type Config } from './index.js';

/**
 * What each variable means, for the people who set it: docs/configuration.md's
 * table is rendered from this and from the schema's defaults (`pnpm
 * docs:config`), and a unit test fails while the two differ, so the table
 * cannot drift from the code. Typed by the config's keys: a variable without a
 * description, or a description of a variable that is gone, fails the
 * typecheck. Markdown; links are relative to docs/.
 */
export interface VariableDoc {
  readonly description: string;
  /** Shown instead of the schema's default where the default is derived from another variable. */
  readonly derivedDefault?: string;
}

export const CONFIG_DOCS: Readonly<Record<keyof Config, VariableDoc>> = {
  LOG_LEVEL: { description: '`fatal` … `trace`, `silent` (`warn` drops the query API\'s per-request lines)' },
  LOG_FORMAT: { description: '`pretty` for humans (`pnpm start` sets it)' },

  REDIS_URL: { description: 'the read model\'s Redis' },
  REDIS_KEY_PREFIX: { description: 'root of every key ([Redis keys](operations.md#redis-keys))' },
  REDIS_COMMAND_TIMEOUT_MS: {
    description: 'query API: a Redis command fails (errCode 500) after this, also while reconnecting',
  },
  REDIS_CLUSTER_NODES: {
    description:
      'comma-separated `host:port` seed nodes of a Redis Cluster: the read model runs on the Cluster and `REDIS_URL` is not used for it ' +
      '([Redis Cluster](operations.md#redis-cluster)); unset = one Redis at `REDIS_URL`',
  },
  REDIS_WAIT_REPLICAS: {
    description:
      'projector: replicas every write must reach (`WAIT`) before the offsets it covers are committed; not reached within ' +
      '`REDIS_WAIT_TIMEOUT_MS` = the chunk is applied again (idempotent). `0` = off',
    derivedDefault: '`1` with `REDIS_CLUSTER_NODES`, else `0`',
  },
  REDIS_WAIT_TIMEOUT_MS: { description: 'projector: how long one `WAIT` waits for `REDIS_WAIT_REPLICAS`' },

  KAFKA_BROKERS: { description: 'comma-separated `host:port` list' },
  KAFKA_CLIENT_ID: { description: 'kafkajs client ID (the operator commands append `-rebuild`, `-verify`, `-status`)' },
  EVENTS_TOPIC: { description: 'the event stream ([events](events.md))' },
  DLQ_TOPIC: { description: 'where bad events go', derivedDefault: '`<EVENTS_TOPIC>.dlq`' },
  CONSUMER_GROUP: { description: 'the projector\'s consumer group (a rebuild uses `<CONSUMER_GROUP>-rebuild-<N>`)' },
  MAX_EVENT_BYTES: { description: 'larger event values are dead-lettered as `oversized`' },
  DEDUPE_WINDOW: {
    description: 'event IDs remembered per group to drop re-sent events ([delivery guarantees](events.md#delivery-guarantees))',
  },
  SEQ_TOMBSTONES: {
    description:
      'event stream v1.1: leaves remembered per group with their `seq`; past it the oldest go and older membership changes count as stale ([seq](events.md#event-stream-v11-seq-and-groupsnapshot))',
  },
  SYNC_LOG_MAX: {
    description:
      'entries kept per version log (a user\'s joins and leaves, a group\'s member changes): a client further behind, ' +
      'or with another `versionID`, is told `full` and reads the whole list ([group sync](http-api.md#group-sync)). ' +
      'The projector keeps the logs; a log records how far it was trimmed, so readers need not know it',
  },
  KAFKA_SESSION_TIMEOUT_MS: { description: 'consumer session timeout' },
  KAFKA_HEARTBEAT_INTERVAL_MS: { description: 'consumer heartbeat interval' },
  KAFKA_RETRIES: { description: 'kafkajs retries (with backoff) before the projector gives up and exits non-zero' },
  KAFKA_REBALANCE_TIMEOUT_MS: {
    description: 'how long a rebalance waits for members to rejoin (keep above the longest batch)',
  },
  KAFKA_PARTITIONS_CONCURRENTLY: {
    description:
      'partitions the projector handles at once (kafkajs `partitionsConsumedConcurrently`); each partition stays ' +
      'in order. Above 1 one partition\'s decoding overlaps another\'s Redis call (about 1.5x the events/s in ' +
      '`bench:apply`), but with 4 the `rebalance` reliability scenario stalled (no progress for 120 s) in 2 of 3 ' +
      'runs under CPU load against the test broker, and never with 1; it is not verified against Apache Kafka, so ' +
      'it stays 1 by default',
  },
  SHUTDOWN_TIMEOUT_MS: { description: 'a service exits within this after SIGTERM/SIGINT' },

  API_HOST: { description: 'query API listen address' },
  API_PORT: { description: 'query API port (OpenIM\'s API port)' },
  MAX_SHOW_NUMBER: { description: 'largest `pagination.showNumber` accepted' },
  BODY_LIMIT_BYTES: { description: 'larger request bodies get HTTP 413' },
  OPENIM_SECRET: { description: 'JWT HS256 secret and the `get_admin_token` secret (OpenIM\'s `secret`)' },
  ADMIN_USER_IDS: { description: 'comma-separated admin user IDs' },
  TOKEN_EXPIRE_DAYS: { description: 'lifetime of tokens from `get_admin_token`' },
  TRUST_PROXY: { description: 'trust `X-Forwarded-*` (behind a proxy)' },
  MAX_GROUP_IDS: { description: 'most `groupIDs` one `get_groups_info` call may ask for' },
  QUERY_CACHE_MAX_BYTES: {
    description:
      'answered pages of `get_joined_group_list` kept in each query API process, dropped when Redis reports a ' +
      'change ([the page cache](http-api.md#the-page-cache)); `0` = off',
  },
  QUERY_CACHE_MAX_AGE_MS: {
    description:
      'a cached page is never served older than this, whatever Redis reports (upstream\'s local cache keeps ' +
      'group data 300 s: `group.successExpire` in its `config/local-cache.yml`)',
  },
  TOKEN_STATUS_CHECK: {
    description:
      'also check OpenIM\'s token status in Redis, so kicked tokens stop working ([token status](http-api.md#token-status))',
  },
  TOKEN_STATUS_REDIS_URL: {
    description: 'OpenIM\'s Redis, where `UID_PID_TOKEN_STATUS:*` lives',
    derivedDefault: 'the value of `REDIS_URL`',
  },
  RATE_LIMIT_MAX: {
    description:
      'requests per `RATE_LIMIT_WINDOW_MS` per token `UserID` on the group routes, over it HTTP 429 ' +
      '([rate limiting](http-api.md#rate-limiting-and-load-shedding)); `0` = off',
  },
  RATE_LIMIT_WINDOW_MS: { description: 'the rate limit\'s window' },
  MAX_EVENT_LOOP_DELAY_MS: {
    description: 'load shedding: HTTP 503 while the event loop lags more than this; `0` = off',
  },
  PROJECTOR_METRICS_HOST: { description: 'the projector\'s metrics listen address' },
  PROJECTOR_METRICS_PORT: {
    description: 'the projector\'s `GET /metrics` port ([observability](http-api.md#observability)); `0` = off',
  },
  OPENIM_KAFKA_BROKERS: {
    description: 'OpenIM\'s Kafka, where the OpenIM bridge reads `OPENIM_TOPIC` ([running beside OpenIM](../services/openim-bridge/README.md))',
    derivedDefault: 'the value of `KAFKA_BROKERS`',
  },
  OPENIM_TOPIC: { description: 'OpenIM\'s topic the bridge consumes (every group notification is on it)' },
  OPENIM_CONSUMER_GROUP: { description: 'the bridge\'s consumer group on OpenIM\'s Kafka' },
  OPENIM_FROM_BEGINNING: {
    description: 'where the bridge\'s consumer group starts when it has no committed offsets: the end of `OPENIM_TOPIC` (`false`) or its beginning',
  },
  OPENIM_DLQ_TOPIC: {
    description: 'where the bridge dead-letters a notification it cannot read, with the reason',
    derivedDefault: '`<EVENTS_TOPIC>.openim-bridge.dlq`',
  },
  OPENIM_API_URL: {
    description: 'OpenIM\'s HTTP API (e.g. `http://openim-api:10002`) for the initial members of created groups and for reconciliation; unset: a created group yields its owner only, with a warning',
  },
  OPENIM_API_TIMEOUT_MS: { description: 'timeout of one call to OpenIM\'s HTTP API' },
  OPENIM_SNAPSHOT_PART_MEMBERS: {
    description: 'members per `group.snapshot` message; a part that would exceed `MAX_EVENT_BYTES` is split further',
  },
  OPENIM_BACKOFF_MIN_MS: { description: 'first wait while OpenIM\'s API (or our topic) is unavailable; the partition waits, in order' },
  OPENIM_BACKOFF_MAX_MS: { description: 'longest wait between those attempts' },
  OPENIM_BRIDGE_METRICS_HOST: { description: 'the bridge\'s metrics listen address' },
  OPENIM_BRIDGE_METRICS_PORT: { description: 'the bridge\'s `GET /metrics` port' },
};

export const TABLE_START = '<!-- config-table: rendered by `pnpm docs:config` from packages/config/src/docs.ts; edit there -->';
export const TABLE_END = '<!-- /config-table -->';

/** The table of every variable, in the schema's order: name, default, meaning. */
export function renderConfigTable(): string {
  const defaults = loadConfig({});
  const marked = devDefaultVariables();
  const rows = CONFIG_KEYS.map((key) => {
    const doc = CONFIG_DOCS[key];
    const value = defaults[key];
    let shown = doc.derivedDefault ?? `\`${Array.isArray(value) ? value.join(',') : String(value)}\`${sizeNote(key, value)}`;
    if (marked.has(key)) shown += ' **development default**';
    return `| \`${key}\` | ${cell(shown)} | ${cell(doc.description)} |`;
  });
  return ['| variable | default | meaning |', '|---|---|---|', ...rows].join('\n');
}

/** The variables whose defaults are development-only secrets: those `devDefaultWarnings` warns about. */
export function devDefaultVariables(): ReadonlySet<keyof Config> {
  return new Set(
    devDefaultWarnings(loadConfig({})).map((warning) => {
      const key = CONFIG_KEYS.find((k) => warning.startsWith(`${k} `));
      if (!key) throw new Error(`a development-default warning names no variable: ${warning}`);
      return key;
    }),
  );
}

/** The table between the markers of `markdown` (docs/configuration.md). */
export function configTableIn(markdown: string): string {
  const { from, to } = tableBounds(markdown);
  return markdown.slice(from, to).trim();
}

/** `markdown` with the table between its markers replaced by the rendered one. */
export function withConfigTable(markdown: string): string {
  const { from, to } = tableBounds(markdown);
  return `${markdown.slice(0, from)}\n${renderConfigTable()}\n${markdown.slice(to)}`;
}

function tableBounds(markdown: string): { from: number; to: number } {
  const start = markdown.indexOf(TABLE_START);
  const end = markdown.indexOf(TABLE_END);
  if (start < 0 || end < start) throw new Error(`expected the markers ${TABLE_START} and ${TABLE_END}, in this order`);
  return { from: start + TABLE_START.length, to: end };
}

/** Byte sizes also in KiB/MiB, so `268435456` reads as 256 MiB. */
function sizeNote(key: string, value: unknown): string {
  if (!key.endsWith('_BYTES') || typeof value !== 'number' || value < 1024 || value % 1024 !== 0) return '';
  return value % 1024 ** 2 === 0 ? ` (${value / 1024 ** 2} MiB)` : ` (${value / 1024} KiB)`;
}

function cell(markdown: string): string {
  return markdown.replaceAll('|', '\\|');
}
