export { build, type Backfill, type Bridge, type BridgeDeps, type BridgeStats } from './app.js';
export { createBackfill, plausibleVersion, MAX_PLAUSIBLE_VERSION } from './backfill.js';
export { mapRecord, mapNotification, classify, ContentType, IGNORE_REASONS, type Mapped, type BackfillRequest } from './mapping.js';
export { decodeMsgData, encodeMsgData, peekRoute, MsgDataType, MSGDATA_PROTO_FILE, type MsgData } from './msgdata.js';
export { createBridgeMetrics, startMetricsServer, type BridgeMetrics } from './metrics.js';
export { OpenIMApi, OpenIMApiError } from './openim-api.js';
export { snapshotEvents } from './snapshot.js';
export * from './openim-traffic.js';
