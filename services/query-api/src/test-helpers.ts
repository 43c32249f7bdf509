/**
 * Test helpers: shared arrangements for the query API's *.int.spec.ts (left
 * out of dist by tsconfig.json, like the specs). Data is arranged through the
 * real projection path (decodeEvent -> ReadModel apply) under a key root of
 * the calling file's own, removed at the end.
 */
import { Writable } from 'node:stream';
import { loadConfig, type Config } from '@imgroups/config';
import { decodeEvent } from '@imgroups/contracts';
import { ReadModel, type RedisClient } from '@imgroups/read-model';
import { testRedis, unlinkMatching } from '@imgroups/read-model/test-redis';
import { ev, openImToken, redisVars, uniqueId, type TestEnvInfo } from '@imgroups/testing';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { Redis } from 'ioredis';
import { expect, inject } from 'vitest';
import { build, type AppDeps } from './app.js';

export const SECRET = 'int-test-secret';
export const ADMIN = 'imAdmin';

export interface Reply {
  status: number;
  headers: Record<string, unknown>;
  raw: string;
  body: Record<string, any>;
}

/**
 * A key root in the suite's read-model Redis (one Redis or a Redis Cluster:
 * TEST_REDIS), a projection writer for it, and apps reading it.
 */
export class World {
  readonly root = uniqueId('qa');
  readonly redis: RedisClient;
  /** The suite's one Redis (environment.ts): the read model's too unless TEST_REDIS=cluster. */
  readonly redisUrl: string;
  /**
   * OpenIM's Redis, where its token statuses live (TOKEN_STATUS_CHECK): the
   * suite's one Redis, also with TEST_REDIS=cluster (OpenIM's keys are on one
   * Redis, never the read model's Cluster). Opened on first use.
   */
  get openImRedis(): Redis {
    return (this.openIm ??= new Redis(this.redisUrl));
  }
  private openIm?: Redis;
  /** `syncLogMax`: entries kept per version log by this world's projection (SYNC_LOG_MAX). */
  constructor(
    private readonly env: TestEnvInfo = inject('testEnv'),
    private readonly syncLogMax?: number,
  ) {
    this.redisUrl = env.redisUrl;
    this.redis = testRedis(env);
    this.onCluster = env.redisTopology === 'cluster';
  }
  private readonly onCluster: boolean;
  get readModel(): ReadModel {
    return (this.model ??= new ReadModel(this.redis, { root: this.root, dedupeWindow: 128, syncLogMax: this.syncLogMax }));
  }
  private model?: ReadModel;
  private offset = 0;
  private readonly apps: FastifyInstance[] = [];
  gen = 0;

  async start(): Promise<this> {
    this.gen = await this.readModel.generations.ensureActive();
    return this;
  }

  /** The services' Config for this world; overrides naming a REDIS_URL of their own mean one Redis there (no cluster nodes). */
  config(overrides: Record<string, string> = {}): Config {
    return loadConfig({
      ...('REDIS_URL' in overrides ? {} : redisVars(this.env)),
      REDIS_KEY_PREFIX: this.root,
      LOG_LEVEL: 'silent',
      OPENIM_SECRET: SECRET,
      ADMIN_USER_IDS: `${ADMIN},opsAdmin`,
      ...overrides,
    });
  }

  /** An app on this world (closed by `stop`). */
  async app(overrides: Record<string, string> = {}, deps: Partial<AppDeps> = {}): Promise<FastifyInstance> {
    // On a Cluster the app needs OpenIM's Redis for the token check given apart (as main.ts does).
    const openIm = this.onCluster ? { tokenStatusRedis: this.openImRedis } : {};
    const app = await build({ config: this.config(overrides), redis: this.redis, ...openIm, ...deps });
    this.apps.push(app);
    return app;
  }

  /** The sync routes' versionID of this world's active generation: the epoch, then the generation in 8 hex digits. */
  async versionID(): Promise<string> {
    return `${await this.readModel.generations.ensureEpoch()}${this.gen.toString(16).padStart(8, '0')}`;
  }

  async stop(): Promise<void> {
    await Promise.all(this.apps.map((a) => a.close()));
    // Remove this world's keys only; the Redis is shared.
    await unlinkMatching(this.redis, `${this.root}:*`);
    await this.redis.quit();
    await this.openIm?.quit();
  }

  /** Apply events through the decoder and the apply script; each must apply. */
  async apply(...raw: object[]): Promise<void> {
    const events = raw.map((r) => {
      const decoded = decodeEvent(JSON.stringify(r));
      if (!decoded.ok) throw new Error(`test event is invalid: ${decoded.reason}`);
      this.offset += 1;
      return { offset: String(this.offset), event: decoded.event };
    });
    const outcomes = await this.readModel.apply(this.gen, 0, events);
    expect(outcomes).toEqual(events.map(() => 'applied'));
  }

  /** `user` joins each group at the given time; every group gets its own owner. */
  async joinGroups(user: string, groups: { groupID: string; joinTime: number }[]): Promise<void> {
    await this.apply(
      ...groups.map((g) => ev.created(g.groupID, { userID: uniqueId('owner'), joinTime: 1 }, [{ userID: user, joinTime: g.joinTime }])),
    );
  }
}

export const tokenFor = (userID: string, opts?: Parameters<typeof openImToken>[2]) => openImToken(SECRET, userID, opts);

export function headersFor(userID: string, extra: Record<string, string> = {}): Record<string, string> {
  return { operationID: uniqueId('op'), token: tokenFor(userID), ...extra };
}

/** A get_joined_group_list request for `fromUserID`'s list, sent as `as` (the user themself by default). */
export function listRequest(fromUserID: string, pageNumber: number, showNumber: number, as = fromUserID): InjectOptions {
  return {
    method: 'POST',
    url: '/group/get_joined_group_list',
    headers: headersFor(as),
    payload: { fromUserID, pagination: { pageNumber, showNumber } },
  };
}

/** A POST with a JSON body (an object, or a string sent as is) as `as`. */
export function post(url: string, payload: unknown, as: string, extra: Record<string, string> = {}): InjectOptions {
  return {
    method: 'POST',
    url,
    headers: headersFor(as, { 'content-type': 'application/json', ...extra }),
    payload: payload as InjectOptions['payload'],
  };
}

export async function send(app: FastifyInstance, opts: InjectOptions): Promise<Reply> {
  const res = await app.inject(opts);
  let body: Record<string, any> = {};
  try {
    body = res.json() as Record<string, any>;
  } catch {
    // left empty: the caller's assertion on `raw` says what came back
  }
  return { status: res.statusCode, headers: res.headers, raw: res.body, body };
}

/** Asserts an HTTP 200 ArgsError envelope, no data, with exactly this errDlt (or one matching it). */
export function expectArgsError(res: Reply, errDlt: string | RegExp): void {
  expect(res.status, res.raw).toBe(200);
  expect(Object.keys(res.body)).toEqual(['errCode', 'errMsg', 'errDlt']);
  expect(res.body.errCode).toBe(1001);
  expect(res.body.errMsg).toBe('ArgsError');
  if (typeof errDlt === 'string') expect(res.body.errDlt).toBe(errDlt);
  else expect(res.body.errDlt).toMatch(errDlt);
}

/** JSON log lines written by an app built with `logger: { stream }`. */
export function logCapture(level = 'info') {
  const lines: Record<string, any>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line));
      cb();
    },
  });
  return { lines, logger: { level, stream } };
}
