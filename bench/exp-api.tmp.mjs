import { loadConfig } from '@imgroups/config';
import { build, createRedis } from '@imgroups/query-api';
const config = loadConfig(process.env);
const redis = createRedis(config, { enableAutoPipelining: true });
const app = await build({ config, redis });
process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
await app.listen({ host: config.API_HOST, port: config.API_PORT });
