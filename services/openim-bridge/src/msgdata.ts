import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

/**
 * OpenIM's sdkws.MsgData, as the bridge reads it from `toRedis`. The field
 * numbers come from proto/openim-msgdata.proto (one definition, read at
 * start); the cheap routing peek below takes its numbers from the same file.
 */

/** proto/ beside src/ and dist/ alike. */
export const MSGDATA_PROTO_FILE = fileURLToPath(new URL('../proto/openim-msgdata.proto', import.meta.url));

const root = protobuf.parse(readFileSync(MSGDATA_PROTO_FILE, 'utf8'), { keepCase: true }).root;
export const MsgDataType = root.lookupType('openim.sdkws.MsgData');

/** The decoded message, 64-bit fields as numbers (exact up to 2^53: times in ms are). */
export interface MsgData {
  sendID: string;
  recvID: string;
  groupID: string;
  clientMsgID: string;
  serverMsgID: string;
  sessionType: number;
  msgFrom: number;
  contentType: number;
  content: Uint8Array;
  seq: number;
  sendTime: number;
  createTime: number;
  ex: string;
}

const fieldId = (name: string) => {
  const field = MsgDataType.fields[name];
  if (!field) throw new Error(`proto/openim-msgdata.proto has no MsgData.${name}`);
  return field.id;
};
const SESSION_TYPE = fieldId('sessionType');
const CONTENT_TYPE = fieldId('contentType');
const WIRE_VARINT = 0;

export interface Route {
  sessionType: number;
  contentType: number;
}

/**
 * sessionType and contentType without decoding the message: walk the tags,
 * skip every other field by its wire type (a string or bytes field costs a
 * length read, not a copy). Go writes fields in number order, so the walk
 * stops at contentType, before `content`. Throws on bytes that are not
 * protobuf.
 */
export function peekRoute(buf: Uint8Array): Route {
  const reader = protobuf.Reader.create(buf);
  let sessionType = 0;
  let contentType = 0;
  let seen = 0;
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === SESSION_TYPE && wire === WIRE_VARINT) {
      sessionType = reader.int32();
      seen |= 1;
    } else if (field === CONTENT_TYPE && wire === WIRE_VARINT) {
      contentType = reader.int32();
      seen |= 2;
    } else {
      if (field === 0) throw new Error('invalid protobuf: field number 0');
      reader.skipType(wire);
    }
    if (seen === 3) break;
  }
  return { sessionType, contentType };
}

function toNumber(v: number | protobuf.Long | null | undefined): number {
  if (v === null || v === undefined) return 0;
  // int64: the high word is signed; exact while the value is a safe integer.
  return typeof v === 'number' ? v : v.high * 2 ** 32 + (v.low >>> 0);
}

/** The whole message (unknown fields skipped). Throws on bytes that are not a MsgData. */
export function decodeMsgData(buf: Uint8Array): MsgData {
  const m = MsgDataType.decode(buf) as unknown as Record<string, unknown>;
  return {
    sendID: (m.sendID as string) ?? '',
    recvID: (m.recvID as string) ?? '',
    groupID: (m.groupID as string) ?? '',
    clientMsgID: (m.clientMsgID as string) ?? '',
    serverMsgID: (m.serverMsgID as string) ?? '',
    sessionType: (m.sessionType as number) ?? 0,
    msgFrom: (m.msgFrom as number) ?? 0,
    contentType: (m.contentType as number) ?? 0,
    content: (m.content as Uint8Array) ?? new Uint8Array(0),
    seq: toNumber(m.seq as number | protobuf.Long),
    sendTime: toNumber(m.sendTime as number | protobuf.Long),
    createTime: toNumber(m.createTime as number | protobuf.Long),
    ex: (m.ex as string) ?? '',
  };
}

/** Bytes of a MsgData with the given fields: for tests, the bench and tools that publish OpenIM-shaped traffic. */
export function encodeMsgData(fields: Partial<MsgData>): Uint8Array {
  const err = MsgDataType.verify(fields);
  if (err) throw new Error(`not a MsgData: ${err}`);
  return MsgDataType.encode(MsgDataType.fromObject(fields)).finish();
}
