/**
 * `pnpm docs:config`: renders docs/configuration.md's table of variables from
 * packages/config (their descriptions in src/docs.ts, their defaults from the
 * schema), between the table's marker comments; the rest of the page is left
 * as written. A unit test (packages/config/src/docs.unit.spec.ts) fails while
 * the page and the code differ.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { withConfigTable } from '@imgroups/config/docs';

const PAGE = new URL('../docs/configuration.md', import.meta.url);
const before = readFileSync(PAGE, 'utf8');
const after = withConfigTable(before);
if (after === before) {
  console.log('docs/configuration.md: the table is up to date');
} else {
  writeFileSync(PAGE, after);
  console.log('docs/configuration.md: table rendered');
}
