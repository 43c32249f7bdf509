import { describe, expect, it } from 'vitest';
import { decodeEvent } from './events.js';

describe('decodeEvent', () => {
  it('rejects text that is not JSON', () => {
    const r = decodeEvent(Buffer.from('{nope'));
    expect(r).toMatchObject({ ok: false, kind: 'invalid_json' });
  });
});
