import { diffProjection, modelOf } from '@imgroups/read-model/test-helpers';
import { generateHistory, prng, waitFor } from '@imgroups/testing';
import { afterEach, expect, inject, it } from 'vitest';
import { FULL, ProjectorLab, report, SEED, SMALL, sleepMs, usersOf } from '../support/reliability.js';

const testEnv = inject('testEnv');
let lab: ProjectorLab | undefined;
afterEach(async () => {
  await lab?.close();
  lab = undefined;
});

// CI runs 8 kills over 20,000 events (about a minute here); RELIABILITY_FULL=1
// runs the full size, 20 kills over 50,000 (about three minutes).
const EVENTS = FULL ? 50_000 : SMALL ? 10_000 : 20_000;
const KILLS = FULL ? 20 : SMALL ? 4 : 8;

it(`crash: SIGKILL the projector ${KILLS} times during the ingest of ${EVENTS} events; the projection equals the model`, async () => {
  lab = await ProjectorLab.create(testEnv);
  const rand = prng(SEED);
  const history = generateHistory({ seed: SEED, events: EVENTS, groups: Math.round(EVENTS / 100), users: Math.round(EVENTS / 30), prefix: `${lab.id}-` });
  const model = modelOf(history, 128);
  const slice = Math.ceil(EVENTS / (KILLS + 1));

  let kills = 0;
  for (let round = 0; round <= KILLS; round++) {
    // Each incarnation joins under a new group name: it must resume from the
    // read model's checkpoints alone (projector: resumeFromCheckpoints). This
    // also keeps go-mokapi 0.52's group balancer out of the way: it panics or
    // wedges when members are SIGKILLed and replaced in one group (measured;
    // the rebalance scenario exercises one group with members coming and going).
    const projector = lab.start(`projector-${round + 1}`, { CONSUMER_GROUP: `${lab.env.CONSUMER_GROUP}-${round + 1}` });
    // Publish this round's share while the projector starts and ingests.
    const publishing = lab.publish(history.slice(round * slice, (round + 1) * slice), 200);
    if (round === KILLS) {
      await publishing;
      break;
    }
    // Kill only once it is applying: wait for progress, then a random moment later.
    const before = await lab.applied();
    await waitFor(
      async () => {
        if (projector.child.exitCode !== null) throw new Error(`projector exited ${projector.child.exitCode}: ${projector.output()}`);
        return (await lab!.applied()) > before;
      },
      { timeoutMs: 60_000, message: `round ${round}: projector applying` },
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${projector.output().slice(-3000)}`);
    });
    await sleepMs(Math.floor(rand() * 400));
    await projector.stop('SIGKILL');
    kills++;
    // Restarted at once, as a supervisor would.
    await publishing;
  }
  await lab.caughtUp();
  const diff = await diffProjection(lab.readModel, model, usersOf(history, `${lab.id}-`));
  report(`crash: ${kills} kills, ${EVENTS} events, ${diff.lost} lost, ${diff.duplicated} duplicated, ${diff.mismatched} mismatched (${diff.memberships} memberships, seed ${SEED})`);
  expect(diff, diff.examples.join('\n')).toMatchObject({ lost: 0, duplicated: 0, mismatched: 0 });
  expect(kills).toBe(KILLS);
  expect(diff.memberships).toBeGreaterThan(EVENTS / 10);
});
