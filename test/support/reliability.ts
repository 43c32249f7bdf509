import { ReadModel, type RedisClient } from '@imgroups/read-model';
import { testRedis, unlinkMatching } from '@imgroups/read-model/test-redis';
import { isolatedSettings, testKafka, waitFor, type RawGroupEvent, type TestEnvInfo } from '@imgroups/testing';
import { Partitioners, type Producer } from 'kafkajs';
import { ENTRIES, launchService, type ServiceProcess } from './launch.js';

/** RELIABILITY_FULL=1: the crash test at the full size; RELIABILITY_SMALL=1: everything smaller, for a quick local run. */
export const FULL = process.env.RELIABILITY_FULL === '1';
export const SMALL = process.env.RELIABILITY_SMALL === '1';
export const SEED = Number(process.env.RELIABILITY_SEED ?? (process.env.CI ? 20261127 : Date.now() % 1_000_000_007));

/** One line per scenario, printed at the end of the run too (see reliability-reporter). */
export function report(line: string) {
  console.log(`RELIABILITY ${line}`);
}

/** A projector under test: its own topics, group, key root; processes started and killed at will. */
export class ProjectorLab {
  readonly redis: RedisClient;
  readonly readModel: ReadModel;
  private producer?: Producer;
  readonly processes: ServiceProcess[] = [];
  private published = 0;

  private constructor(
    readonly testEnv: TestEnvInfo,
    readonly id: string,
    readonly topics: { events: string; dlq: string; partitions: number },
    readonly env: Record<string, string>,
  ) {
    this.redis = testRedis(this.env); // REDIS_URL, or REDIS_CLUSTER_NODES with TEST_REDIS=cluster
    this.redis.on('error', () => {}); // an outage scenario stops this Redis on purpose
    this.readModel = new ReadModel(this.redis, { root: this.id, dedupeWindow: 128 });
  }

  static async create(testEnv: TestEnvInfo, extra: Record<string, string> = {}) {
    const { id, topics, vars } = await isolatedSettings(testEnv, 'rel', {
      // Short timeouts: kills and restarts are the point here.
      KAFKA_SESSION_TIMEOUT_MS: '3000',
      KAFKA_HEARTBEAT_INTERVAL_MS: '300',
      KAFKA_REBALANCE_TIMEOUT_MS: '5000',
      LOG_LEVEL: process.env.RELIABILITY_LOG_LEVEL ?? 'warn',
      ...extra,
    });
    return new ProjectorLab(testEnv, id, topics, vars);
  }

  start(name = `projector-${this.processes.length + 1}`, extra: Record<string, string> = {}): ServiceProcess {
    const p = launchService(name, ENTRIES.projector, { ...this.env, ...extra });
    this.processes.push(p);
    return p;
  }

  async publish(events: (RawGroupEvent | { key: string | null; value: string })[], batchSize = 500) {
    if (!this.producer) {
      this.producer = testKafka(this.testEnv.kafkaBrokers).producer({ createPartitioner: Partitioners.DefaultPartitioner });
      await this.producer.connect();
    }
    for (let i = 0; i < events.length; i += batchSize) {
      await this.producer.send({
        topic: this.topics.events,
        acks: -1,
        messages: events
          .slice(i, i + batchSize)
          .map((e) => ('eventID' in e ? { key: e.groupID, value: JSON.stringify(e) } : e)),
      });
    }
    this.published += events.length;
  }

  /** Sum over partitions of the offsets applied (checkpoint + 1): how many messages are done. */
  async applied(): Promise<number> {
    const gen = await this.readModel.generations.active();
    if (gen === null) return 0;
    const ckpt = await this.readModel.checkpoints(gen);
    return Object.values(ckpt).reduce((n, o) => n + Number(o) + 1, 0);
  }

  /** Wait until every published message is applied (or dead-lettered). */
  async caughtUp(timeoutMs = 120_000) {
    await waitFor(async () => (await this.applied()) >= this.published, {
      timeoutMs,
      message: `all ${this.published} messages applied`,
    });
  }

  get publishedCount() {
    return this.published;
  }

  async close() {
    await Promise.all(this.processes.map((p) => p.stop('SIGKILL')));
    await this.producer?.disconnect();
    // Remove this lab's keys (its own prefix only; never a FLUSH).
    await unlinkMatching(this.redis, `${this.id}:*`);
    this.redis.disconnect();
  }
}

export const sleepMs = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every user ID a generated history mentions (IDs are `<prefix>u<n>`). */
export const usersOf = (history: RawGroupEvent[], prefix: string) => [
  ...new Set(history.flatMap((e) => [...JSON.stringify(e.data).matchAll(new RegExp(`"(${prefix}u\\d+)"`, 'g'))].map((m) => m[1]!))),
];
