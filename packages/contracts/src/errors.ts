/**
 * The error catalogue and the one error type every layer throws. The query
 * API maps a CodeError to the envelope in a single error handler
 * (services/query-api/src/errors.ts) and builds every envelope in one module
 * (envelope.ts); nothing else does.
 *
 * One line per code: errCode (open-im-server v3.8 pkg/common/errs), errMsg,
 * and the HTTP status it is answered with. Upstream answers every outcome
 * with HTTP 200 and the code in the envelope; the codes that speak of the
 * transport (no such route, body too large, rate limited, unavailable) are
 * answered with the HTTP status of the same meaning.
 */
const CATALOGUE = {
  ServerInternal: [500, 'ServerInternalError', 200],
  Args: [1001, 'ArgsError', 200],
  NoPermission: [1002, 'NoPermissionError', 200],
  DuplicateKey: [1003, 'DuplicateKeyError', 200],
  // The API answers 1004 for a path that names no route, and for nothing else.
  RecordNotFound: [1004, 'RecordNotFoundError', 404],
  GroupIDNotFound: [1201, 'GroupIDNotFoundError', 200],
  DismissedAlready: [1204, 'DismissedAlreadyError', 200],
  TokenExpired: [1501, 'TokenExpiredError', 200],
  TokenInvalid: [1502, 'TokenInvalidError', 200],
  TokenMalformed: [1503, 'TokenMalformedError', 200],
  TokenNotValidYet: [1504, 'TokenNotValidYetError', 200],
  TokenUnknown: [1505, 'TokenUnknownError', 200],
  TokenKicked: [1506, 'TokenKickedError', 200],
  TokenNotExist: [1507, 'TokenNotExistError', 200],
  TooManyRequests: [429, 'TooManyRequests', 429],
  ServiceUnavailable: [503, 'ServiceUnavailable', 503],
  PayloadTooLarge: [413, 'PayloadTooLarge', 413],
} as const satisfies Record<string, readonly [code: number, errMsg: string, httpStatus: number]>;

type Catalogue = typeof CATALOGUE;
const lines = Object.entries(CATALOGUE);

/** The codes by name (`ErrCode.Args` is 1001), in catalogue order. */
export const ErrCode = Object.fromEntries(lines.map(([name, [code]]) => [name, code])) as {
  readonly [Name in keyof Catalogue]: Catalogue[Name][0];
};
export type ErrCode = (typeof ErrCode)[keyof typeof ErrCode];

export const ErrMsg = Object.fromEntries(lines.map(([, [code, errMsg]]) => [code, errMsg])) as Record<ErrCode, string>;

/** The HTTP status an answer with this code carries. */
export const HttpStatus = Object.fromEntries(lines.map(([, [code, , status]]) => [code, status])) as Record<ErrCode, number>;

export type DetailValue = string | number | boolean;

/** Upstream's errDlt layout: `"message, key1=value1, key2=value2"`. */
export function formatDetail(message: string, fields: Record<string, DetailValue> = {}): string {
  const kv = Object.entries(fields).map(([k, v]) => `${k}=${String(v)}`);
  return [message, ...kv].filter((s) => s !== '').join(', ');
}

export class CodeError extends Error {
  readonly code: ErrCode;
  readonly detail: string;
  readonly fields: Record<string, DetailValue>;

  constructor(code: ErrCode, detail = '', fields: Record<string, DetailValue> = {}, options?: { cause?: unknown }) {
    super(`${ErrMsg[code]}${detail ? `: ${formatDetail(detail, fields)}` : ''}`, options);
    this.name = 'CodeError';
    this.code = code;
    this.detail = detail;
    this.fields = fields;
  }

  get errMsg(): string {
    return ErrMsg[this.code];
  }

  get errDlt(): string {
    return formatDetail(this.detail, this.fields);
  }
}

export const argsError = (detail: string, fields?: Record<string, DetailValue>) =>
  new CodeError(ErrCode.Args, detail, fields);
