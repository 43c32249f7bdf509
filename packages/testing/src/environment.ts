import { TOPIC_POOL_SIZE } from './topics.js';
import { isListening, redisServerInstalled, startMokapi, startRedisServer } from './processes.js';

/**
 * One test environment for every suite. Where a container runtime answers,
 * testcontainers start Apache Kafka (KRaft) and Redis; otherwise local
 * processes: redis-server on a free port (or REDIS_URL when given) and the
 * go-mokapi broker on a free port. It never fails for lack of Docker, and it
 * says which environment it used.
 *
 * TEST_ENV=local|containers forces one; REDIS_URL reuses a Redis you run
 * (tests only ever touch their own key prefixes there).
 */

export interface TestEnvInfo {
  kind: 'containers' | 'local';
  redisUrl: string;
  kafkaBrokers: string[];
  /** True when the tests may stop/restart this Redis (it is the suite's own). */
  ownRedis: boolean;
  /** Kafka-protocol mock in use: it evicts dead members only after their session timeout. */
  mockBroker: boolean;
}

export interface TestEnvironment extends TestEnvInfo {
  stop(): Promise<void>;
}

async function containerRuntimeAvailable(): Promise<boolean> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    const probe = getContainerRuntimeClient();
    const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timeout')), 5000).unref());
    await Promise.race([probe, timeout]);
    return true;
  } catch {
    return false;
  }
}

async function startContainers(): Promise<TestEnvironment> {
  const { KafkaContainer } = await import('@testcontainers/kafka');
  const { RedisContainer } = await import('@testcontainers/redis');
  const [kafka, redis] = await Promise.all([
    new KafkaContainer('apache/kafka:3.9.1').withKraft().start(),
    new RedisContainer('redis:7.4-alpine').start(),
  ]);
  return {
    kind: 'containers',
    redisUrl: redis.getConnectionUrl(),
    kafkaBrokers: [`${kafka.getHost()}:${kafka.getMappedPort(9093)}`],
    ownRedis: true,
    mockBroker: false,
    stop: async () => {
      await Promise.all([kafka.stop(), redis.stop()]);
    },
  };
}

async function startLocal(log: (msg: string) => void): Promise<TestEnvironment> {
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
  const forced = process.env.TEST_ENV;
  if (forced && forced !== 'local' && forced !== 'containers') {
    throw new Error(`TEST_ENV must be "local" or "containers", not "${forced}"`);
  }
  if (forced !== 'local' && (forced === 'containers' || (await containerRuntimeAvailable()))) {
    try {
      const env = await startContainers();
      log(`test environment: containers (Apache Kafka ${env.kafkaBrokers.join(',')}, Redis ${env.redisUrl})`);
      return env;
    } catch (err) {
      if (forced === 'containers') throw err;
      log(`test environment: container runtime answered but containers failed (${(err as Error).message}); using local processes`);
    }
  } else if (forced !== 'local') {
    log('test environment: no container runtime found; using local processes');
  }
  const env = await startLocal((m) => log(`test environment: ${m}`));
  return env;
}

export { isListening };
