import { CodeError, ErrCode } from '@imgroups/contracts';
import { createSigner, createVerifier, TokenError } from 'fast-jwt';

/**
 * OpenIM-compatible tokens: JWT HS256 signed with the shared secret, claims
 * `{UserID, PlatformID, exp, nbf, iat}` in that order, header
 * `{"alg":"HS256","typ":"JWT"}`. That is byte for byte what open-im-server's
 * `tokenverify.BuildClaims` + golang-jwt emit, so tokens flow both ways.
 */

/** Upstream's `constant.AdminPlatformID`: admin tokens say PlatformID 10. */
export const ADMIN_PLATFORM_ID = 10;
/** Upstream backdates `nbf` by five minutes to absorb clock skew between its nodes. */
const NOT_BEFORE_SKEW_SECONDS = 5 * 60;
const DAY_SECONDS = 24 * 60 * 60;
/** A cached token counts as valid only this far inside its nbf..exp window. */
const CACHE_MARGIN_MS = 1000;
/** Verified tokens remembered (see verify below): the hot path skips decode + HMAC. */
const VERIFY_CACHE_SIZE = 1024;

export interface TokenClaims {
  UserID: string;
  PlatformID: number;
  exp: number;
  nbf: number;
  iat: number;
}

export interface MintedToken {
  token: string;
  /** Lifetime in seconds (not an instant), as upstream's GetAdminTokenResp reports it. */
  expireTimeSeconds: number;
}

/** What a verified token says about its caller. */
export interface Caller {
  userID: string;
  /** The PlatformID claim, when present (it names the token-status hash). */
  platformID: number | undefined;
}

export interface Auth {
  /** The token's caller, or a CodeError 1501/1503/1504/1505. */
  verify(token: string): Caller;
  mint(userID: string, platformID: number, nowMs?: number): MintedToken;
}

/**
 * fast-jwt error -> OpenIM token error, as upstream's tokenverify maps
 * golang-jwt's: expired 1501, not-yet-valid 1504, undecodable 1503, and every
 * other failure (signature, algorithm, missing signature) 1505 TokenUnknown.
 * Unlike golang-jwt, fast-jwt checks the signature before the time claims, so a
 * forged token that is also expired is 1505 here where upstream says 1501; a
 * forger learns nothing about time windows from us.
 */
function tokenError(err: unknown): CodeError {
  const code = err instanceof TokenError ? err.code : undefined;
  switch (code) {
    case TokenError.codes.expired:
      return new CodeError(ErrCode.TokenExpired, 'token has expired');
    case TokenError.codes.inactive:
      return new CodeError(ErrCode.TokenNotValidYet, 'token is not valid yet');
    case TokenError.codes.malformed:
    case TokenError.codes.invalidPayload:
    case TokenError.codes.invalidClaimType:
    case TokenError.codes.invalidClaimValue:
    case TokenError.codes.missingRequiredClaim:
      return new CodeError(ErrCode.TokenMalformed, 'token is malformed');
    default:
      return new CodeError(ErrCode.TokenUnknown, 'token could not be verified', {}, { cause: err });
  }
}

export function createAuth(options: { secret: string; expireDays: number }): Auth {
  const verifier = createVerifier({
    key: options.secret,
    algorithms: ['HS256'],
    // Every token OpenIM or we mint carries exp; one without it would never expire.
    requiredClaims: ['exp'],
  });
  // Token string -> its verified caller and time window. fast-jwt has a cache
  // of its own, but keys it by a hash of the token, computed per request
  // (~3% of the hot route's CPU); a Map keyed by the string itself hashes
  // nothing V8 has not hashed already. Only successes are remembered, and a
  // hit counts only well inside the token's window: near or past either end
  // the token is verified again, so the answer (1501, 1504) is fast-jwt's.
  const verified = new Map<string, { caller: Caller; nbfMs: number; expMs: number }>();
  // The claims carry their own iat/exp/nbf so the key order matches golang-jwt's output.
  const signer = createSigner({ key: options.secret, algorithm: 'HS256' });
  const lifetime = options.expireDays * DAY_SECONDS;

  return {
    verify(token) {
      const now = Date.now();
      const hit = verified.get(token);
      if (hit !== undefined && now >= hit.nbfMs && now < hit.expMs - CACHE_MARGIN_MS) return hit.caller;
      let claims: Record<string, unknown>;
      try {
        claims = verifier(token) as Record<string, unknown>;
      } catch (err) {
        throw tokenError(err);
      }
      const userID = claims.UserID;
      const platformID = claims.PlatformID;
      // Upstream decodes claims into a Go struct: a UserID or PlatformID of the
      // wrong JSON type fails decoding there, which it reports as malformed.
      if (typeof userID !== 'string' || userID === '') {
        throw new CodeError(ErrCode.TokenMalformed, 'token has no UserID claim');
      }
      if (platformID !== undefined && !Number.isInteger(platformID)) {
        throw new CodeError(ErrCode.TokenMalformed, 'token PlatformID claim is not an integer');
      }
      const caller = { userID, platformID: platformID as number | undefined };
      if (verified.size >= VERIFY_CACHE_SIZE) verified.delete(verified.keys().next().value!);
      const nbfMs = typeof claims.nbf === 'number' ? claims.nbf * 1000 : 0;
      verified.set(token, { caller, nbfMs: nbfMs + CACHE_MARGIN_MS, expMs: (claims.exp as number) * 1000 });
      return caller;
    },

    mint(userID, platformID, nowMs = Date.now()) {
      const iat = Math.floor(nowMs / 1000);
      const claims: TokenClaims = {
        UserID: userID,
        PlatformID: platformID,
        exp: iat + lifetime,
        nbf: iat - NOT_BEFORE_SKEW_SECONDS,
        iat,
      };
      return { token: signer(claims), expireTimeSeconds: lifetime };
    },
  };
}
