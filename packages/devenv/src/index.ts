/**
 * Local infrastructure for people and test runs, on this machine: the
 * embedded go-mokapi broker, a redis-server and a Redis Cluster (3 masters,
 * 3 replicas by default), each on its own ports, as children that die with
 * the process that started them. Used by `pnpm start`,
 * the benches, and the test kit's local-process fallback (where no container
 * runtime answers). Production code never imports it.
 */
export { REPO_ROOT } from './paths.js';
export { freePort, isListening, spawnSupervised, waitForPort, type LocalProcess } from './processes.js';
export { redisServerInstalled, startRedisServer } from './redis-server.js';
export { ASYNCAPI_FILE, mokapiBinary, POOL_PARTITIONS, poolTopic, startMokapi } from './broker.js';
export {
  redisClusterInstalled,
  startRedisCluster,
  type LocalRedisCluster,
  type RedisClusterNode,
  type RedisClusterOptions,
} from './redis-cluster.js';
