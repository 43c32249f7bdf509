/**
 * A load generator in a process of its own: `node --import tsx cannon-child.ts <spec.json>`.
 * Prints the LoadResult as one JSON line on stdout; its latencies go to <spec.json>.latencies (raw float64).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { runLoadHere, type LoadSpec } from './cannon.js';

const spec = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as LoadSpec;
const { latencies, ...result } = await runLoadHere(spec);
writeFileSync(`${process.argv[2]!}.latencies`, Buffer.from(latencies.buffer, latencies.byteOffset, latencies.byteLength));
process.stdout.write(`${JSON.stringify(result)}\n`);
