import { execFile } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTopics } from './helpers.js';
import { freePort, redisServerInstalled, startMokapi, startRedisServer } from '@imgroups/devenv';
import { startTestRedisCluster, testRedisTopology, type RedisTopology } from './redis-topology.js';

/**
 * One test environment for every suite. Where a container runtime answers,
 * testcontainers start Apache Kafka (KRaft) and Redis; otherwise local
 * processes: redis-server on a free port (or REDIS_URL when given) and the
 * go-mokapi broker on a free port. It never fails for lack of Docker, and it
 * says which environment it used.
 *
 * TEST_ENV=local|containers forces one; REDIS_URL reuses a Redis you run
 * (tests only ever touch their own key prefixes there).
 *
 * TEST_REDIS=cluster puts the read model on a local Redis Cluster as well
 * (redis-topology.ts), whichever environment runs the rest: the containers
 * path too uses the local cluster (a cluster's nodes announce addresses its
 * clients must reach, which a container's mapped ports do not give).
 */

/** Topic pairs the mock broker declares at start; leaseTopics (topics.ts) hands them out. */
export const TOPIC_POOL_SIZE = 64;

export interface TestEnvInfo {
  kind: 'containers' | 'local';
  /**
   * One Redis. With redisTopology 'single' it holds the read model; with
   * 'cluster' only what stays on one Redis (OpenIM's token-status keys, the
   * topic lease): the read model is on redisClusterNodes. Tests get the read
   * model's client from testRedis(env) (@imgroups/read-model/test-redis) and
   * the services' settings from redisVars(env), never from this URL alone.
   */
  redisUrl: string;
  /** TEST_REDIS: the read model on the one Redis or on a Redis Cluster. */
  redisTopology: RedisTopology;
  /** The Redis Cluster's seed nodes (`host:port`, every node) with 'cluster'; empty with 'single'. */
  redisClusterNodes: string[];
  kafkaBrokers: string[];
  /** True when the tests may stop/restart this Redis (it is the suite's own). */
  ownRedis: boolean;
  /** Kafka-protocol mock in use: it evicts dead members only after their session timeout. */
  mockBroker: boolean;
}

export interface TestEnvironment extends TestEnvInfo {
  stop(): Promise<void>;
}

/** packages/testing, from src/ and dist/ alike: where the probe resolves 'testcontainers'. */
const PACKAGE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Why no container runtime can be used, or undefined when one answers. The
 * probe runs in a child process killed after `timeoutMs`: a Docker socket that
 * accepts but never answers would otherwise leave a pending request that keeps
 * the test run alive after the tests. Quiet: testcontainers logs only under
 * DEBUG=testcontainers*, and the child's output is read, not shown.
 */
function containerRuntimeProblem(timeoutMs = 5000): Promise<string | undefined> {
  const probe = `import('testcontainers').then((tc) => tc.getContainerRuntimeClient()).then(
    () => process.exit(0),
    (err) => { process.stdout.write(String(err?.message ?? err)); process.exit(1); })`;
  return new Promise((done) => {
    execFile(
      process.execPath,
      ['--input-type=module', '--eval', probe],
      { cwd: PACKAGE_DIR, timeout: timeoutMs, killSignal: 'SIGKILL' },
      (err, stdout) => {
        if (!err) done(undefined);
        else if (err.killed) done(`no answer within ${timeoutMs} ms`);
        else done(stdout.trim().split('\n')[0] || err.message);
      },
    );
  });
}

/**
 * Apache Kafka's own image (KRaft, single node) through a GenericContainer:
 * @testcontainers/kafka only drives Confluent's cp-kafka images (its start
 * script runs /etc/confluent/docker/run). The client listener is bound to a
 * host port chosen before the start, because Kafka must advertise the address
 * clients use, and a mapped port is only known after the start.
 */
const KAFKA_IMAGE = 'apache/kafka:3.9.1';
const REDIS_IMAGE = 'redis:7.4-alpine';
/** As asyncapi/im-group-events.yaml declares them for the mock broker, so both environments agree. */
const DECLARED_TOPICS = [
  { topic: 'im.group.events', numPartitions: 4 },
  { topic: 'im.group.events.dlq', numPartitions: 1 },
];

async function startKafkaContainer() {
  const { GenericContainer, Wait, getContainerRuntimeClient } = await import('testcontainers');
  const host = (await getContainerRuntimeClient()).info.containerRuntime.host;
  const port = await freePort();
  const container = await new GenericContainer(KAFKA_IMAGE)
    .withExposedPorts({ container: 9092, host: port })
    .withEnvironment({
      KAFKA_NODE_ID: '1',
      KAFKA_PROCESS_ROLES: 'broker,controller',
      KAFKA_LISTENERS: 'PLAINTEXT://0.0.0.0:9092,CONTROLLER://0.0.0.0:9093',
      KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://${host}:${port}`,
      KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
      KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
      KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
      KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
      KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
    })
    .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
    .withStartupTimeout(120_000)
    .start();
  return { container, brokers: [`${host}:${port}`] };
}

/** The environment before the read model's Redis topology is settled. */
type BaseEnvironment = Omit<TestEnvironment, 'redisTopology' | 'redisClusterNodes'>;

async function startContainers(): Promise<BaseEnvironment> {
  const { RedisContainer } = await import('@testcontainers/redis');
  const [kafka, redis] = await Promise.allSettled([startKafkaContainer(), new RedisContainer(REDIS_IMAGE).start()]);
  if (kafka.status === 'rejected' || redis.status === 'rejected') {
    // Stop the one that did start rather than leave it to the reaper.
    await Promise.allSettled([
      ...(kafka.status === 'fulfilled' ? [kafka.value.container.stop()] : []),
      ...(redis.status === 'fulfilled' ? [redis.value.stop()] : []),
    ]);
    throw kafka.status === 'rejected' ? kafka.reason : (redis as PromiseRejectedResult).reason;
  }
  const stop = async () => {
    await Promise.all([kafka.value.container.stop(), redis.value.stop()]);
  };
  const kafkaBrokers = kafka.value.brokers;
  try {
    await createTopics(kafkaBrokers, DECLARED_TOPICS);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    kind: 'containers',
    redisUrl: redis.value.getConnectionUrl(),
    kafkaBrokers,
    ownRedis: true,
    mockBroker: false,
    stop,
  };
}

async function startLocal(log: (msg: string) => void): Promise<BaseEnvironment> {
  const given = process.env.REDIS_URL;
  let redisUrl: string;
  let stopRedis = async () => {};
  if (given) {
    redisUrl = given;
  } else {
    if (!redisServerInstalled()) {
      throw new Error(
        'No container runtime and no redis-server on PATH: install Redis (apt-get install redis-server) or set REDIS_URL',
      );
    }
    const redis = await startRedisServer();
    redisUrl = redis.url;
    stopRedis = redis.stop;
  }
  const broker = await startMokapi({ topicPool: TOPIC_POOL_SIZE });
  log(`local processes: redis ${redisUrl}${given ? ' (REDIS_URL)' : ' (own redis-server)'}, go-mokapi broker 127.0.0.1:${broker.port}`);
  return {
    kind: 'local',
    redisUrl,
    kafkaBrokers: [broker.url],
    ownRedis: !given,
    mockBroker: true,
    stop: async () => {
      await Promise.all([broker.stop(), stopRedis()]);
    },
  };
}

export async function startTestEnvironment(log: (msg: string) => void = console.log): Promise<TestEnvironment> {
  const topology = testRedisTopology();
  if (topology === 'single') return { ...(await startBase(log)), redisTopology: 'single', redisClusterNodes: [] };
  const [base, cluster] = await Promise.allSettled([startBase(log), startTestRedisCluster()]);
  if (base.status === 'rejected' || cluster.status === 'rejected') {
    // Stop the one that did start.
    await Promise.allSettled([
      ...(base.status === 'fulfilled' ? [base.value.stop()] : []),
      ...(cluster.status === 'fulfilled' ? [cluster.value.cluster.stop()] : []),
    ]);
    throw base.status === 'rejected' ? base.reason : (cluster as PromiseRejectedResult).reason;
  }
  const { nodes } = cluster.value;
  log(`test environment: TEST_REDIS=cluster: the read model on a local Redis Cluster (3 masters, 3 replicas) ${nodes.join(',')}`);
  return {
    ...base.value,
    redisTopology: 'cluster',
    redisClusterNodes: nodes,
    stop: async () => {
      await Promise.all([base.value.stop(), cluster.value.cluster.stop()]);
    },
  };
}

async function startBase(log: (msg: string) => void): Promise<BaseEnvironment> {
  const forced = process.env.TEST_ENV;
  if (forced && forced !== 'local' && forced !== 'containers') {
    throw new Error(`TEST_ENV must be "local" or "containers", not "${forced}"`);
  }
  if (forced !== 'local') {
    const problem = await containerRuntimeProblem();
    if (problem === undefined) {
      try {
        const env = await startContainers();
        log(`test environment: containers (Apache Kafka ${env.kafkaBrokers.join(',')}, Redis ${env.redisUrl})`);
        return env;
      } catch (err) {
        const reason = (err as Error).message.split('\n')[0];
        if (forced === 'containers') {
          throw new Error(`TEST_ENV=containers: the containers did not start: ${reason}`, { cause: err });
        }
        log(`test environment: container runtime answered but containers failed (${reason}); using local processes`);
      }
    } else if (forced === 'containers') {
      const err = new Error(
        `TEST_ENV=containers, but no container runtime answered (${problem}). ` +
          'Start Docker or Podman, or unset TEST_ENV to use local processes (redis-server + go-mokapi).',
      );
      err.stack = `Error: ${err.message}`; // a machine setup problem: a stack trace would only be noise
      throw err;
    } else {
      log(`test environment: no container runtime (${problem}); using local processes`);
    }
  }
  return startLocal((m) => log(`test environment: ${m}`));
}

