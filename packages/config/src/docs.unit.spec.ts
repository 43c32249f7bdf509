import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONFIG_DOCS, TABLE_END, TABLE_START, configTableIn, devDefaultVariables, renderConfigTable, withConfigTable } from './docs.js';
import { CONFIG_KEYS, devDefaultWarnings, loadConfig } from './index.js';

const PAGE = new URL('../../../docs/configuration.md', import.meta.url);

describe('the configuration page', () => {
  it('shows the table the config module renders (run `pnpm docs:config` after changing a variable)', () => {
    expect(configTableIn(readFileSync(PAGE, 'utf8'))).toBe(renderConfigTable());
  });

  it('describes every variable the config module reads, and no other', () => {
    expect(Object.keys(CONFIG_DOCS).sort()).toEqual([...CONFIG_KEYS].sort());
    for (const key of CONFIG_KEYS) expect(CONFIG_DOCS[key].description.trim(), key).not.toBe('');
  });

  it('lists each variable once, in the schema\'s order, with its default', () => {
    const rows = renderConfigTable().split('\n').slice(2);
    expect(rows.map((row) => /^\| `([A-Z0-9_]+)` \|/.exec(row)?.[1])).toEqual(CONFIG_KEYS);
    expect(rows).toContain(
      '| `QUERY_CACHE_MAX_BYTES` | `268435456` (256 MiB) | ' + CONFIG_DOCS.QUERY_CACHE_MAX_BYTES.description + ' |',
    );
    expect(rows.find((row) => row.startsWith('| `DLQ_TOPIC` |'))).toContain('| `<EVENTS_TOPIC>.dlq` |');
  });

  it('marks every development default that the services warn about at start', () => {
    const marked = devDefaultVariables();
    expect(marked.size).toBe(devDefaultWarnings(loadConfig({})).length);
    expect([...marked].sort()).toEqual(['ADMIN_USER_IDS', 'OPENIM_SECRET']);
    const markedRows = renderConfigTable().split('\n').filter((row) => row.includes('**development default**'));
    expect(markedRows).toHaveLength(marked.size);
  });

  it('rendering replaces only what lies between the markers', () => {
    const page = `# title\n\nbefore\n${TABLE_START}\n| stale |\n${TABLE_END}\nafter\n`;
    const rendered = withConfigTable(page);
    expect(rendered).toBe(`# title\n\nbefore\n${TABLE_START}\n${renderConfigTable()}\n${TABLE_END}\nafter\n`);
    expect(withConfigTable(rendered)).toBe(rendered);
  });

  it('a page without the markers is an error, not a silent no-op', () => {
    expect(() => withConfigTable('# no table here\n')).toThrow(/markers/);
  });
});
