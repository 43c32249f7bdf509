import { createHmac } from 'node:crypto';

/**
 * Test fixture: an HS256 JWT exactly as open-im-server mints one (golang-jwt
 * v4, `tokenverify.BuildClaims`): header `{"alg":"HS256","typ":"JWT"}`, claims
 * `{UserID, PlatformID, exp, nbf, iat}` in Go's struct order, unpadded
 * base64url. Written with node:crypto alone so it shares no code with the
 * implementation under test.
 */

const b64url = (buf: Buffer) => buf.toString('base64url');

export interface OpenImClaims {
  UserID?: unknown;
  PlatformID?: unknown;
  exp?: number;
  nbf?: number;
  iat?: number;
  [extra: string]: unknown;
}

export function signHs256(secret: string, header: object, claims: object): string {
  const input = `${b64url(Buffer.from(JSON.stringify(header)))}.${b64url(Buffer.from(JSON.stringify(claims)))}`;
  return `${input}.${b64url(createHmac('sha256', secret).update(input).digest())}`;
}

/** A token as OpenIM issues it to `userID`, valid now unless the times say otherwise. */
export function openImToken(
  secret: string,
  userID: string,
  opts: { platformID?: number; nowSeconds?: number; ttlSeconds?: number; nbfOffsetSeconds?: number } = {},
): string {
  const now = opts.nowSeconds ?? Math.floor(Date.now() / 1000);
  const claims: OpenImClaims = {
    UserID: userID,
    PlatformID: opts.platformID ?? 1,
    exp: now + (opts.ttlSeconds ?? 90 * 24 * 3600),
    nbf: now + (opts.nbfOffsetSeconds ?? -300),
    iat: now,
  };
  return signHs256(secret, { alg: 'HS256', typ: 'JWT' }, claims);
}
