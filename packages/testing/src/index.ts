export * from './environment.js';
export * from './redis-topology.js';
export * from './helpers.js';
export * from './topics.js';
import './vitest-context.js';
export * from './openim-token.js';
export * from './events.js';
export * from './history.js';
