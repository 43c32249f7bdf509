import { describe, expect, it } from 'vitest';
import { platformName } from './token-status.js';

describe('platform names in the token-status key', () => {
  it.each([
    [1, 'IOS'],
    [2, 'Android'],
    [3, 'Windows'],
    [4, 'OSX'],
    [5, 'Web'],
    [6, 'MiniWeb'],
    [7, 'Linux'],
    [8, 'APad'],
    [9, 'IPad'],
    [10, 'Admin'],
  ])('PlatformID %i is "%s", as upstream names it', (id, name) => {
    expect(platformName(id)).toBe(name);
  });

  it.each([0, 11, -1, undefined])('an unknown PlatformID (%s) names no platform, as upstream', (id) => {
    expect(platformName(id)).toBe('');
  });
});
