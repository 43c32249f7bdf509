/**
 * Test harness only, exported as `@imgroups/read-model/harness` and never from
 * the package's main entry, so production code cannot reach it (the
 * dependency rules in .dependency-cruiser.cjs say so too).
 */
import { Applier } from './apply.js';
import type { ReadModel } from './read-model.js';
import { APPLY_PARTS, assembleScript, LuaScript } from './scripts.js';

/**
 * lua/apply.lua assembled with lua/test/crash-after.lua in place of
 * lib/writes.lua: it fails after N writes (its last argument), keeping them,
 * as a Redis error half-way (out of memory) would. The production script
 * carries no test hook.
 */
export const CRASHING_APPLY = new LuaScript(
  'apply+crash-after',
  assembleScript(
    'apply',
    APPLY_PARTS.map((p) => (p === 'writes' ? 'crashAfter' : p)),
  ),
);

/** lua/test/wire-echo.lua: the events of a wire as lib/wire.lua reads them, as JSON. */
export const WIRE_ECHO = new LuaScript('wire-echo', assembleScript('test/wire-echo', ['wireSpec', 'wire']));

/** An Applier whose every chunk fails after `writes` writes (the error says INJECTED). */
export function crashingApplier(rm: ReadModel, writes: number): Applier {
  return new Applier(rm.redis, rm.options, CRASHING_APPLY, [writes]);
}
