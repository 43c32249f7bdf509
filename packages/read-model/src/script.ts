import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/** A Lua script run by EVALSHA, loaded on first use or after a Redis restart (NOSCRIPT). */
export class LuaScript {
  readonly sha: string;
  constructor(readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  async run(redis: Redis, args: (string | number)[]): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, 0, ...args);
    } catch (err) {
      if (isNoScript(err)) return redis.eval(this.source, 0, ...args);
      throw err;
    }
  }

  /** As run(), with bulk strings in the reply as Buffers (integers stay numbers): no UTF-8 decoding. */
  async runBuffer(redis: Redis, args: (string | number)[]): Promise<unknown> {
    try {
      return await redis.callBuffer('EVALSHA', this.sha, 0, ...args);
    } catch (err) {
      if (isNoScript(err)) return redis.callBuffer('EVAL', this.source, 0, ...args);
      throw err;
    }
  }
}

const isNoScript = (err: unknown) => err instanceof Error && err.message.startsWith('NOSCRIPT');
