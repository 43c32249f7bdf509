import { loadConfig } from '@imgroups/config';
import { build } from '@imgroups/query-api';
import { Redis } from 'ioredis';

/**
 * The query API's Fastify server options, read from the product itself: the
 * app is built (never listening, Redis never connected), its `initialConfig`
 * taken and the app closed. The bench server (server.ts) starts with exactly
 * these, so the ceiling and the baseline run on the same server settings even
 * when app.ts changes them. Done in the driver, not in the bench server, so
 * nothing of the product (its metrics' event-loop monitor) lives on there.
 *
 * Also returns the hooks the product runs on get_joined_group_list, which a
 * bare route does not: the difference between (a) and (b) beyond the route.
 */
export interface ProductServerShape {
  options: Record<string, unknown>;
  routeHooks: string;
}

/** initialConfig keys that are server behaviour (http2/https are off in both and cannot be passed as booleans). */
const PASSED = [
  'requestIdHeader',
  'bodyLimit',
  'requestTimeout',
  'connectionTimeout',
  'keepAliveTimeout',
  'maxRequestsPerSocket',
  'handlerTimeout',
  'caseSensitive',
  'allowUnsafeRegex',
  'ignoreTrailingSlash',
  'ignoreDuplicateSlashes',
  'maxParamLength',
  'onProtoPoisoning',
  'onConstructorPoisoning',
  'pluginTimeout',
  'exposeHeadRoutes',
  'useSemicolonDelimiter',
];

export async function productServerShape(env: Record<string, string>): Promise<ProductServerShape> {
  // The bench's own Redis (never the machine's 6379), and never connected: nothing is read.
  const redis = new Redis(env.REDIS_URL!, { lazyConnect: true, enableOfflineQueue: false });
  const app = await build({ config: loadConfig(env), redis, logger: false });
  try {
    await app.ready();
    const initial = app.initialConfig as Record<string, unknown>;
    const options: Record<string, unknown> = {};
    for (const key of PASSED) if (key in initial) options[key] = initial[key];
    const routes = app.printRoutes({ includeHooks: true, commonPrefix: false });
    const at = routes.indexOf('/group/get_joined_group_list');
    const routeHooks = at < 0 ? '(route not found)' : routes.slice(at, routes.indexOf('├──', at + 1) >>> 0).trim();
    return { options, routeHooks };
  } finally {
    await app.close();
    redis.disconnect();
  }
}
