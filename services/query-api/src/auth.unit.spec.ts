import { CodeError, ErrCode } from '@imgroups/contracts';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ADMIN_PLATFORM_ID, createAuth } from './auth.js';
import { openImToken, signHs256 } from '@imgroups/testing';

const SECRET = 'openIM123-unit';
const auth = createAuth({ secret: SECRET, expireDays: 90 });
const now = () => Math.floor(Date.now() / 1000);
const GO_HEADER = { alg: 'HS256', typ: 'JWT' };
const b64 = (s: string) => Buffer.from(s).toString('base64url');

function errCodeOf(token: string): number | 'verified' {
  try {
    auth.verify(token);
    return 'verified';
  } catch (err) {
    if (err instanceof CodeError) return err.code;
    throw err;
  }
}

describe('tokens minted by OpenIM', () => {
  it('verify unchanged and yield their UserID', () => {
    expect(auth.verify(openImToken(SECRET, '3517105008'))).toEqual({ userID: '3517105008', platformID: 1 });
  });

  it('verify whatever the PlatformID', () => {
    expect(auth.verify(openImToken(SECRET, 'u1', { platformID: 5 }))).toEqual({ userID: 'u1', platformID: 5 });
  });

  it('verify with extra claims present', () => {
    const t = signHs256(SECRET, GO_HEADER, { UserID: 'u2', PlatformID: 1, exp: now() + 60, nbf: now() - 60, iat: now(), jti: 'x' });
    expect(auth.verify(t).userID).toBe('u2');
  });
});

describe('admin tokens we mint', () => {
  it('are byte for byte what OpenIM would mint for the same claims', () => {
    const nowMs = 1_700_000_000_123;
    const iat = 1_700_000_000;
    const minted = auth.mint('imAdmin', ADMIN_PLATFORM_ID, nowMs);
    const expected = signHs256(SECRET, GO_HEADER, {
      UserID: 'imAdmin',
      PlatformID: 10,
      exp: iat + 90 * 86400,
      nbf: iat - 300,
      iat,
    });
    expect(minted.token).toBe(expected);
    expect(minted.expireTimeSeconds).toBe(90 * 86400);
  });

  it('verify with our own verifier', () => {
    expect(auth.verify(auth.mint('imAdmin', ADMIN_PLATFORM_ID).token)).toEqual({ userID: 'imAdmin', platformID: 10 });
  });
});

describe('token errors map to OpenIM codes', () => {
  it('an expired token is 1501 TokenExpired', () => {
    const t = openImToken(SECRET, 'u1', { nowSeconds: now() - 7200, ttlSeconds: 3600 });
    expect(errCodeOf(t)).toBe(ErrCode.TokenExpired);
  });

  it('a token whose nbf is in the future is 1504 TokenNotValidYet', () => {
    expect(errCodeOf(openImToken(SECRET, 'u1', { nbfOffsetSeconds: 3600 }))).toBe(ErrCode.TokenNotValidYet);
  });

  it.each([
    ['not a JWT at all', 'not-a-jwt'],
    ['one dot only', 'abc.def'],
    ['characters outside base64url', 'ab$c.def.ghi'],
    ['a header that is not JSON', `${b64('nope')}.${b64('{"UserID":"u1"}')}.sig`],
    ['a payload that is not JSON', `${b64(JSON.stringify(GO_HEADER))}.${b64('{"UserID":')}.sig`],
  ])('a malformed token (%s) is 1503 TokenMalformed', (_case, token) => {
    expect(errCodeOf(token)).toBe(ErrCode.TokenMalformed);
  });

  it.each([
    ['no UserID', { PlatformID: 1 }],
    ['an empty UserID', { UserID: '', PlatformID: 1 }],
    ['a numeric UserID', { UserID: 123, PlatformID: 1 }],
    ['a string PlatformID', { UserID: 'u1', PlatformID: '1' }],
    ['an exp that is a string', { UserID: 'u1', PlatformID: 1, exp: 'tomorrow' }],
  ])('a correctly signed token with %s is 1503 TokenMalformed', (_case, claims) => {
    const t = signHs256(SECRET, GO_HEADER, { exp: now() + 60, ...claims });
    expect(errCodeOf(t)).toBe(ErrCode.TokenMalformed);
  });

  it('a correctly signed token without exp is 1503 (it would never expire)', () => {
    expect(errCodeOf(signHs256(SECRET, GO_HEADER, { UserID: 'u1', PlatformID: 1 }))).toBe(ErrCode.TokenMalformed);
  });

  it('a token signed with another secret is 1505 TokenUnknown', () => {
    expect(errCodeOf(openImToken('another-secret', 'u1'))).toBe(ErrCode.TokenUnknown);
  });

  it('a token whose claims were altered after signing is 1505', () => {
    const [h, , s] = openImToken(SECRET, 'u1').split('.');
    const forged = b64(JSON.stringify({ UserID: 'imAdmin', PlatformID: 10, exp: now() + 60, nbf: now() - 60, iat: now() }));
    expect(errCodeOf(`${h}.${forged}.${s}`)).toBe(ErrCode.TokenUnknown);
  });

  it('a token without a signature is 1505', () => {
    const [h, p] = openImToken(SECRET, 'u1').split('.');
    expect(errCodeOf(`${h}.${p}.`)).toBe(ErrCode.TokenUnknown);
  });

  it('an unsigned alg "none" token is 1505', () => {
    const t = `${b64('{"alg":"none","typ":"JWT"}')}.${b64(JSON.stringify({ UserID: 'u1', exp: now() + 60 }))}.`;
    expect(errCodeOf(t)).toBe(ErrCode.TokenUnknown);
  });

  it('a token using another algorithm (HS512) with the right secret is 1505', () => {
    const t = signHs256(SECRET, { alg: 'HS512', typ: 'JWT' }, { UserID: 'u1', exp: now() + 60 });
    expect(errCodeOf(t)).toBe(ErrCode.TokenUnknown);
  });

  it('a forged token that is also expired is 1505, not 1501 (signature first)', () => {
    const t = openImToken('another-secret', 'u1', { nowSeconds: now() - 7200, ttlSeconds: 3600 });
    expect(errCodeOf(t)).toBe(ErrCode.TokenUnknown);
  });
});

describe('the verified-token cache', () => {
  afterEach(() => vi.useRealTimers());

  it('never answers for a token past its exp: the second verify after expiry is 1501', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Math.ceil(Date.now() / 1000) * 1000); // on a whole second, as the claims are
    const a = createAuth({ secret: SECRET, expireDays: 90 });
    const t = signHs256(SECRET, GO_HEADER, { UserID: 'u3', PlatformID: 1, exp: now() + 10, nbf: now() - 60, iat: now() });
    expect(a.verify(t).userID).toBe('u3');
    expect(a.verify(t).userID).toBe('u3'); // a hit
    vi.setSystemTime(Date.now() + 9_500); // inside exp, within the margin: verified again, still valid
    expect(a.verify(t).userID).toBe('u3');
    vi.setSystemTime(Date.now() + 1_000);
    expect(() => a.verify(t)).toThrow(expect.objectContaining({ code: ErrCode.TokenExpired }));
  });

  it('never answers for a token before its nbf: 1504 until then, verified after', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Math.ceil(Date.now() / 1000) * 1000);
    const a = createAuth({ secret: SECRET, expireDays: 90 });
    const t = signHs256(SECRET, GO_HEADER, { UserID: 'u4', PlatformID: 1, exp: now() + 600, nbf: now() + 5, iat: now() });
    expect(() => a.verify(t)).toThrow(expect.objectContaining({ code: ErrCode.TokenNotValidYet }));
    vi.setSystemTime(Date.now() + 6_000);
    expect(a.verify(t).userID).toBe('u4');
  });

  it('keeps a bounded number of tokens and still verifies every one of many', () => {
    const a = createAuth({ secret: SECRET, expireDays: 90 });
    for (let i = 0; i < 3000; i++) expect(a.verify(openImToken(SECRET, `many-${i}`)).userID).toBe(`many-${i}`);
    expect(a.verify(openImToken(SECRET, 'many-0')).userID).toBe('many-0');
  });

  it('does not remember a forged token after its genuine twin verified', () => {
    const a = createAuth({ secret: SECRET, expireDays: 90 });
    const good = openImToken(SECRET, 'u5');
    expect(a.verify(good).userID).toBe('u5');
    const forged = good.slice(0, -2) + (good.endsWith('AA') ? 'BB' : 'AA');
    expect(() => a.verify(forged)).toThrow(expect.objectContaining({ code: ErrCode.TokenUnknown }));
  });
});
