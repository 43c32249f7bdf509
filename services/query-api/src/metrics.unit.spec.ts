import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { LATENCY_BUCKETS, routeHistogram } from './metrics.js';

/**
 * The request-latency histogram is observed on every request, so it is ours
 * (two Map lookups and a few additions) rather than prom-client's (which
 * validates and hashes the label set per call); what it exposes must be
 * exactly what prom-client's Histogram would.
 */
describe('the route latency histogram', () => {
  it('exposes the same Prometheus text as prom-client\'s Histogram for the same observations', async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const fast = routeHistogram('h_seconds', 'help text', LATENCY_BUCKETS);
    ours.registerMetric(fast.metric);
    const reference = new Histogram({ name: 'h_seconds', help: 'help text', labelNames: ['route', 'errCode'], buckets: LATENCY_BUCKETS, registers: [theirs] });
    const observations: [string, number, number][] = [
      ['/group/get_joined_group_list', 0, 0.0003],
      ['/group/get_joined_group_list', 0, 0.0005], // on a bound: counted in it (le is inclusive)
      ['/group/get_joined_group_list', 0, 0.07],
      ['/group/get_joined_group_list', 1001, 0.0002],
      ['not_found', 1004, 3], // above every bound: +Inf only
      ['/healthz', 0, 0.0001],
    ];
    for (const [route, errCode, seconds] of observations) {
      fast.observe(route, errCode, seconds);
      reference.observe({ route, errCode: String(errCode) }, seconds);
    }
    const lines = async (r: Registry) => (await r.metrics()).split('\n').filter(Boolean).sort();
    expect(await lines(ours)).toEqual(await lines(theirs));
  });

  it('starts empty again after a reset', async () => {
    const registry = new Registry();
    const fast = routeHistogram('h_seconds', 'help', LATENCY_BUCKETS);
    registry.registerMetric(fast.metric);
    fast.observe('/x', 0, 0.001);
    registry.resetMetrics();
    expect((await registry.metrics()).trim()).toBe('# HELP h_seconds help\n# TYPE h_seconds histogram');
  });
});
