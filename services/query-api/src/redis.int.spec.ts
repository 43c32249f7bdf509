import { loadConfig } from '@imgroups/config';
import { isCluster } from '@imgroups/read-model';
import { waitFor } from '@imgroups/testing';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, inject, it, vi } from 'vitest';
import { createRedis } from './redis.js';

const url = inject('testEnv').redisUrl;
const clients: Redis[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.disconnect();
});

/** Socket writes (fastify-less: the socket's own _write/_writev) while `n` commands are sent in one turn. */
async function writesFor(redis: Redis, n: number): Promise<number> {
  await redis.ping(); // connected, nothing pending
  const socket = redis.stream as unknown as { _write: () => void; _writev: () => void };
  const write = vi.spyOn(socket, '_write');
  const writev = vi.spyOn(socket, '_writev');
  try {
    const replies = await Promise.all(Array.from({ length: n }, (_, i) => redis.echo(`m${i}`)));
    expect(replies).toEqual(Array.from({ length: n }, (_, i) => `m${i}`));
    return write.mock.calls.length + writev.mock.calls.length;
  } finally {
    write.mockRestore();
    writev.mockRestore();
  }
}

describe("the query API's Redis client", () => {
  it('sends the commands of one event-loop turn in one socket write, each answered in order, also after a reconnect', async () => {
    const redis = createRedis(loadConfig({ REDIS_URL: url }));
    if (isCluster(redis)) throw new Error('REDIS_URL alone makes one Redis, not a Cluster');
    clients.push(redis);
    expect(await writesFor(redis, 100)).toBe(1);

    const first = redis.stream;
    redis.disconnect(true);
    await waitFor(() => redis.status === 'ready' && redis.stream !== first, { timeoutMs: 5000, message: 'reconnected' });
    expect(await writesFor(redis, 100)).toBe(1);
  });

  it('(for comparison: a plain ioredis client writes its commands one by one)', async () => {
    const plain = new Redis(url);
    clients.push(plain);
    expect(await writesFor(plain, 100)).toBeGreaterThan(10);
  });
});
