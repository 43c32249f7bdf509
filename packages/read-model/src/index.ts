export * from './keys.js';
export * from './evolve.js';
export * from './wire.js';
export * from './scripts.js';
export * from './apply.js';
export * from './read-page.js';
export * from './read-model.js';
export * from './generations.js';
