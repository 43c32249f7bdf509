import fc from 'fast-check';
import { historyArb } from '../test/support/sdk-history.ts';
const xs = fc.sample(historyArb, { numRuns: 200, seed: 42 });
const lens = xs.map((x) => x.steps.length);
console.log('avg len', lens.reduce((a, b) => a + b, 0) / lens.length, 'max', Math.max(...lens));
const kinds: Record<string, number> = {};
for (const x of xs) for (const s of x.steps) kinds[s.kind] = (kinds[s.kind] ?? 0) + 1;
console.log(kinds);
