import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './paths.js';
import { captureOutput, freePort, spawnSupervised, stopper, waitForPort, type LocalProcess } from './processes.js';

/**
 * The embedded Kafka-protocol broker: go-mokapi, a mock for development and
 * tests (never production), configured by the AsyncAPI file.
 */

export const ASYNCAPI_FILE = join(REPO_ROOT, 'asyncapi/im-group-events.yaml');

export function mokapiBinary(): string {
  const requireFromMokapi = createRequire(createRequire(import.meta.url).resolve('go-mokapi/package.json'));
  const platformPackage = `@go-mokapi/${process.platform === 'win32' ? 'win32' : process.platform}-${process.arch === 'arm64' ? 'arm64' : 'x64'}`;
  return requireFromMokapi(platformPackage) as string;
}

/**
 * The go-mokapi broker on `port`, configured by the AsyncAPI file with its
 * server host rewritten to that port. Flags per TEST-BROKER.md: the dashboard,
 * search, health and MCP servers are off (they cost CPU and bind :8080).
 */
export async function startMokapi(
  opts: { port?: number; asyncapiFile?: string; topicPool?: number } = {},
): Promise<LocalProcess> {
  const port = opts.port ?? (await freePort());
  const spec = withTopicPool(
    readFileSync(opts.asyncapiFile ?? ASYNCAPI_FILE, 'utf8').replace(
      /host:\s*"?127\.0\.0\.1:\d+"?/,
      `host: "127.0.0.1:${port}"`,
    ),
    opts.topicPool ?? 0,
  );
  const dir = mkdtempSync(join(tmpdir(), 'mokapi-'));
  const file = join(dir, 'broker.yaml');
  writeFileSync(file, spec);
  const child = spawnSupervised(mokapiBinary(), [
    '--api-port=0',
    '--api-dashboard=false',
    '--api-search-enabled=false',
    '--health-enabled=false',
    '--mcp-server-enabled=false',
    '--log-level=error',
    file,
  ]);
  const output = captureOutput(child);
  try {
    await waitForPort('127.0.0.1', port, 15_000, 'go-mokapi broker', child);
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`${(err as Error).message}\n${output()}`);
  }
  child.once('exit', (code, signal) => {
    if (!stopping) console.error(`go-mokapi broker on :${port} exited by itself (${signal ?? code}):\n${output()}`);
  });
  let stopping = false;
  const stop = stopper(child);
  return {
    port,
    url: `127.0.0.1:${port}`,
    child,
    output,
    stop: () => {
      stopping = true;
      return stop();
    },
  };
}

/**
 * go-mokapi consumes only topics its AsyncAPI file declares: a topic made by
 * CreateTopics can be produced to, but a consumer group's OffsetFetch on it
 * never answers (measured with 0.52). So the test broker declares a pool of
 * topic pairs up front, and tests lease one pair each (packages/testing/src/topics.ts).
 */
export const POOL_PARTITIONS = 4;
export function poolTopic(index: number): { events: string; dlq: string } {
  const events = `pool.${String(index).padStart(3, '0')}.events`;
  return { events, dlq: `${events}.dlq` };
}

function withTopicPool(spec: string, size: number): string {
  if (size === 0) return spec;
  const channels: string[] = [];
  const operations: string[] = [];
  for (let i = 0; i < size; i++) {
    const { events, dlq } = poolTopic(i);
    for (const [name, address, partitions] of [
      [`pool${i}Events`, events, POOL_PARTITIONS],
      [`pool${i}Dlq`, dlq, 1],
    ] as const) {
      channels.push(
        `  ${name}:`,
        `    address: ${address}`,
        `    bindings: {kafka: {partitions: ${partitions}, confluent.value.schema.validation: false}}`,
        `    messages: {any: {payload: {}}}`,
      );
      operations.push(`  ${name}Send:`, `    action: send`, `    channel: {$ref: '#/channels/${name}'}`);
    }
  }
  const insertAfter = (text: string, header: string, lines: string[]) => {
    const at = text.search(new RegExp(`^${header}:\\s*$`, 'm'));
    if (at < 0) throw new Error(`AsyncAPI file has no top-level "${header}:"`);
    const eol = text.indexOf('\n', at);
    return `${text.slice(0, eol + 1)}${lines.join('\n')}\n${text.slice(eol + 1)}`;
  };
  return insertAfter(insertAfter(spec, 'channels', channels), 'operations', operations);
}
