/**
 * OpenIM error codes (open-im-server v3.8 pkg/common/errs) and the one error
 * type every layer throws. The query API maps a CodeError to the envelope in a
 * single error handler; nothing else builds error envelopes.
 */
export const ErrCode = {
  ServerInternal: 500,
  Args: 1001,
  NoPermission: 1002,
  DuplicateKey: 1003,
  RecordNotFound: 1004,
  GroupIDNotFound: 1201,
  DismissedAlready: 1204,
  TokenExpired: 1501,
  TokenInvalid: 1502,
  TokenMalformed: 1503,
  TokenNotValidYet: 1504,
  TokenUnknown: 1505,
  TokenKicked: 1506,
  TokenNotExist: 1507,
  TooManyRequests: 429,
  ServiceUnavailable: 503,
  PayloadTooLarge: 413,
} as const;
export type ErrCode = (typeof ErrCode)[keyof typeof ErrCode];

export const ErrMsg: Record<ErrCode, string> = {
  500: 'ServerInternalError',
  1001: 'ArgsError',
  1002: 'NoPermissionError',
  1003: 'DuplicateKeyError',
  1004: 'RecordNotFoundError',
  1201: 'GroupIDNotFoundError',
  1204: 'DismissedAlreadyError',
  1501: 'TokenExpiredError',
  1502: 'TokenInvalidError',
  1503: 'TokenMalformedError',
  1504: 'TokenNotValidYetError',
  1505: 'TokenUnknownError',
  1506: 'TokenKickedError',
  1507: 'TokenNotExistError',
  429: 'TooManyRequests',
  503: 'ServiceUnavailable',
  413: 'PayloadTooLarge',
};

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
