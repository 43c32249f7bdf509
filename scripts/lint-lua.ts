/**
 * `pnpm lint:lua`: `luac -p` (Lua 5.1, Redis' Lua; Debian's lua5.1) over every
 * .lua file in the repository and over every script as scripts.ts assembles
 * it, so a syntax error fails CI before any Redis sees the script.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { SCRIPTS } from '@imgroups/read-model';
import { CRASHING_APPLY, WIRE_ECHO } from '@imgroups/read-model/test-helpers';

const ROOT = new URL('..', import.meta.url).pathname;
const DIRS = ['packages/read-model/lua', 'bench/lua'];
const LUAC = ['luac5.1', 'luac'].find((bin) => {
  try {
    execFileSync(bin, ['-v'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
});
if (!LUAC) {
  console.error('lint:lua: no luac found; install Debian\'s lua5.1 (apt-get install lua5.1)');
  process.exit(1);
}

function luaFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.lua'))
    .map((e) => join(e.parentPath, e.name));
}

const tmp = mkdtempSync(join(tmpdir(), 'lint-lua-'));
try {
  const assembled = Object.fromEntries([...Object.values(SCRIPTS), CRASHING_APPLY, WIRE_ECHO].map((s) => [s.name, s.source]));
  const checked = [...DIRS.flatMap((d) => luaFiles(join(ROOT, d)))];
  for (const [name, source] of Object.entries(assembled)) {
    const file = join(tmp, `${name}.lua`);
    writeFileSync(file, source);
    checked.push(file);
  }
  let failed = 0;
  for (const file of checked) {
    try {
      execFileSync(LUAC, ['-p', file], { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (err) {
      failed++;
      console.error(String((err as { stderr?: Buffer }).stderr ?? err).trim());
    }
  }
  const shown = checked.map((f) => (f.startsWith(tmp) ? `(assembled) ${relative(tmp, f)}` : relative(ROOT, f)));
  console.log(`lint:lua: ${checked.length} files and scripts checked with ${LUAC} -p, ${failed} failed\n  ${shown.join('\n  ')}`);
  process.exit(failed === 0 ? 0 : 1);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
