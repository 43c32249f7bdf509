export { build, type AppDeps } from './app.js';
export { createAuth, ADMIN_PLATFORM_ID, type Auth, type MintedToken, type TokenClaims } from './auth.js';
export { createRedis, createSingleRedis } from './redis.js';
