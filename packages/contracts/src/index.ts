export * from './ids.js';
export * from './errors.js';
export * from './events.js';
export * from './api.js';
export * from './sync-api.js';
