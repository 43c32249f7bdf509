export { build, type Projector, type ProjectorDeps, type ProjectorStats } from './app.js';
export { deadLetter, type DeadLetter } from './dead-letter.js';
export { createProjectorMetrics, startMetricsServer, type MetricsServer, type ProjectorMetrics } from './metrics.js';
