import { redisClusterInstalled, startRedisCluster, type LocalRedisCluster } from '@imgroups/devenv';
import { diffProjection, modelOf } from '@imgroups/read-model/test-helpers';
import { generateHistory, prng, waitFor } from '@imgroups/testing';
import { afterEach, expect, inject, it } from 'vitest';
import { ProjectorLab, report, SEED, SMALL, sleepMs, usersOf } from '../support/reliability.js';

/**
 * Redis Cluster replicates asynchronously: a write its master acknowledged
 * can vanish when a replica takes over. The projector WAITs for a replica
 * (REDIS_WAIT_REPLICAS, 1 by default on a Cluster) before it resolves a
 * chunk's offsets, and every step of a chunk is idempotent, so a master
 * SIGKILLed mid-ingest loses nothing: what its replica lacks is applied again.
 *
 * This scenario starts its own Cluster, whatever TEST_REDIS says: it kills
 * one of its masters. Two replicas per master, so the promoted one still has
 * a replica to WAIT for: with one, the projector would (rightly) stop
 * committing until the killed node is back as a replica (docs/redis-cluster.md).
 */
const testEnv = inject('testEnv');
const EVENTS = SMALL ? 6_000 : 15_000;

let lab: ProjectorLab | undefined;
let cluster: LocalRedisCluster | undefined;
afterEach(async () => {
  await lab?.close();
  lab = undefined;
  await cluster?.stop();
  cluster = undefined;
});

it.skipIf(!redisClusterInstalled())(
  `failover: SIGKILL a Redis Cluster master while the projector ingests ${EVENTS} events; the projection equals the model`,
  async () => {
    cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 2, nodeTimeoutMs: 2000 });
    const nodes = cluster.seeds.map((s) => `${s.host}:${s.port}`).join(',');
    lab = await ProjectorLab.create(testEnv, { REDIS_CLUSTER_NODES: nodes, REDIS_WAIT_REPLICAS: '1' });
    const rand = prng(SEED);
    const history = generateHistory({ seed: SEED, events: EVENTS, groups: Math.round(EVENTS / 100), users: Math.round(EVENTS / 30), prefix: `${lab.id}-` });
    const model = modelOf(history, 128);

    const projector = lab.start('projector');
    const half = Math.floor(EVENTS / 2);
    await lab.publish(history.slice(0, half), 200);
    // Mid-ingest: some of the first half applied, not all of it.
    await waitFor(async () => (await lab!.applied()) > half / 4, { timeoutMs: 60_000, message: 'projector applying' }).catch((err: Error) => {
      throw new Error(`${err.message}\n${projector.output().slice(-3000)}`);
    });
    const publishing = lab.publish(history.slice(half), 200);
    await sleepMs(Math.floor(rand() * 200));
    const masters = await cluster.masters();
    const victim = masters[Math.floor(rand() * masters.length)]!;
    const appliedAtKill = await lab.applied();
    await cluster.killNode(victim.port, 'SIGKILL');
    const promoted = await cluster.waitForFailover(victim.port);
    await publishing;
    await lab.caughtUp(180_000).catch((err: Error) => {
      throw new Error(`${err.message}\n${projector.output().slice(-3000)}`);
    });
    expect(projector.child.exitCode, projector.output().slice(-3000)).toBeNull();

    const diff = await diffProjection(lab.readModel, model, usersOf(history, `${lab.id}-`));
    report(
      `failover: master SIGKILLed mid-ingest, replica promoted, ${EVENTS} events, ${diff.lost} lost, ${diff.duplicated} duplicated ` +
        `(${diff.mismatched} mismatched, ${diff.memberships} memberships; master :${victim.port} killed at ${appliedAtKill} applied, ` +
        `replica :${promoted.port} promoted; seed ${SEED})`,
    );
    expect(diff, diff.examples.join('\n')).toMatchObject({ lost: 0, duplicated: 0, mismatched: 0 });
    expect(appliedAtKill).toBeLessThan(EVENTS);
    expect(diff.memberships).toBeGreaterThan(EVENTS / 10);
  },
);
