import { CodeError, ErrCode } from '@imgroups/contracts';
import { isCluster, openImTokenStatusKey, type RedisClient } from '@imgroups/read-model';
import type { Redis } from 'ioredis';

/**
 * OpenIM's token status, read from OpenIM's Redis, so a token OpenIM has
 * kicked or logged out stops working here too. open-im-server (v3.8,
 * internal/rpc/auth parseToken) keeps, per user and platform, a HASH
 * `UID_PID_TOKEN_STATUS:{userID}:{platformName}` of token -> status
 * (protocol/constant: 0 NormalToken, 1 InValidToken, 2 KickedToken,
 * 3 ExpiredToken) and decides:
 *
 *   token's field 0            -> valid
 *   token's field 2            -> 1506 TokenKicked
 *   token's field 1, 3, other  -> 1505 TokenUnknown
 *   no field for this token    -> 1507 TokenNotExist (also when the hash is empty or absent)
 *
 * Admin user IDs skip the check, as upstream's parseToken does (their tokens
 * come from get_admin_token and are in no hash). We read the token's field
 * (HGET) where upstream reads the whole hash (HGETALL): the same answer, O(1).
 */

/** Upstream's constant.PlatformIDToName. An unknown ID names no platform (''), as upstream. */
export const PLATFORM_NAMES: Readonly<Record<number, string>> = {
  1: 'IOS',
  2: 'Android',
  3: 'Windows',
  4: 'OSX',
  5: 'Web',
  6: 'MiniWeb',
  7: 'Linux',
  8: 'APad',
  9: 'IPad',
  10: 'Admin',
};

export const TokenStatus = { Normal: 0, Invalid: 1, Kicked: 2, Expired: 3 } as const;

export function platformName(platformID: number | undefined): string {
  return (platformID !== undefined && PLATFORM_NAMES[platformID]) || '';
}

export type TokenStatusCheck = (token: string, userID: string, platformID: number | undefined) => Promise<void>;

/**
 * OpenIM's Redis for the check: the one given, else the read model's, unless
 * that is a Redis Cluster (OpenIM's keys are not on it): then one must be given.
 */
export function tokenStatusRedisOf(readModelRedis: RedisClient, given: Redis | undefined): Redis {
  if (given) return given;
  if (isCluster(readModelRedis)) throw new Error('TOKEN_STATUS_CHECK with the read model on a Redis Cluster: give OpenIM\'s Redis as tokenStatusRedis');
  return readModelRedis;
}

export function createTokenStatusCheck(redis: Redis): TokenStatusCheck {
  return async (token, userID, platformID) => {
    const raw = await redis.hget(openImTokenStatusKey(userID, platformName(platformID)), token);
    if (raw === null) throw new CodeError(ErrCode.TokenNotExist, 'token is not among the user\'s tokens');
    // Upstream parses the value with strconv.Atoi and fails the request when it is not an integer.
    if (!/^[+-]?\d+$/.test(raw)) throw new Error(`token status "${raw.slice(0, 20)}" is not an integer`);
    const status = Number(raw);
    if (status === TokenStatus.Normal) return;
    if (status === TokenStatus.Kicked) throw new CodeError(ErrCode.TokenKicked, 'token was kicked');
    throw new CodeError(ErrCode.TokenUnknown, 'token is no longer valid', { status });
  };
}
