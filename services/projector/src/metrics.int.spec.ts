import { describe, expect, it } from 'vitest';
import { createProjectorMetrics, startMetricsServer } from './metrics.js';

describe('the projector\'s metrics server', () => {
  it('serves GET /metrics in the Prometheus text format on its own port, 404 elsewhere, and closes', async () => {
    const metrics = createProjectorMetrics(() => ({ batches: 1, messages: 2, deadLettered: 0, redisRetries: 0, outcomes: {} }));
    const server = await startMetricsServer(metrics.registry, '127.0.0.1', 0);
    try {
      const res = await fetch(`http://127.0.0.1:${server.port}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      expect(await res.text()).toMatch(/^projector_messages_total 2$/m);
      expect((await fetch(`http://127.0.0.1:${server.port}/other`)).status).toBe(404);
    } finally {
      await server.close();
    }
    await expect(fetch(`http://127.0.0.1:${server.port}/metrics`)).rejects.toThrow();
  });

  it('fails to start on a port already taken (main.ts logs it and projects on)', async () => {
    const metrics = createProjectorMetrics(() => undefined);
    const first = await startMetricsServer(metrics.registry, '127.0.0.1', 0);
    try {
      await expect(startMetricsServer(metrics.registry, '127.0.0.1', first.port)).rejects.toThrow(/EADDRINUSE/);
    } finally {
      await first.close();
    }
  });
});
