import { describe, expect, it } from 'vitest';
import { CodeError, ErrCode, ErrMsg, HttpStatus } from './errors.js';

/**
 * The error catalogue: upstream's codes travel in an HTTP 200 envelope; the
 * transport's few are answered with the HTTP status of the same meaning, each
 * status by exactly one code (the API description names the code per status).
 */

const codes = Object.values(ErrCode) as ErrCode[];

describe('the error catalogue', () => {
  it("answers upstream's codes with HTTP 200 and each transport code with its own HTTP status", () => {
    const notOk = Object.fromEntries(codes.filter((c) => HttpStatus[c] !== 200).map((c) => [c, HttpStatus[c]]));
    expect(notOk).toEqual({
      [ErrCode.RecordNotFound]: 404,
      [ErrCode.PayloadTooLarge]: 413,
      [ErrCode.TooManyRequests]: 429,
      [ErrCode.ServiceUnavailable]: 503,
    });
    expect(HttpStatus[ErrCode.Args]).toBe(200);
    expect(HttpStatus[ErrCode.ServerInternal]).toBe(200);
  });

  it('gives every code a message, and a CodeError carries it', () => {
    for (const code of codes) expect(ErrMsg[code]).toMatch(/^[A-Z][A-Za-z]+$/);
    expect(new CodeError(ErrCode.Args, 'groupIDs: is required').message).toBe('ArgsError: groupIDs: is required');
    expect(ErrMsg[ErrCode.TokenKicked]).toBe('TokenKickedError');
  });
});
