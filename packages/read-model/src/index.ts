export * from './keys.js';
export * from './evolve.js';
export * from './lua.js';
export * from './read-model.js';
export * from './script.js';
export * from './generations.js';
