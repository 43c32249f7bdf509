export * from './kafka-offsets.js';
export * from './status.js';
