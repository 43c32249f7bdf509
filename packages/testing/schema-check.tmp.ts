import { Kafka, logLevel } from 'kafkajs';
import { decodeEvent } from '../contracts/src/events.js';
import { startMokapi } from './src/processes.js';
const broker = await startMokapi({ asyncapiFile: process.env.SPEC! });
const kafka = new Kafka({ clientId: 'v', brokers: [broker.url], logLevel: logLevel.NOTHING, retry: { retries: 0 } });
const p = kafka.producer(); await p.connect();
const h = (type: string, data: unknown, extra: object = {}) => ({ eventID: 'e-' + type, type, version: 1, groupID: '2137448827', occurredAt: 1687753739612, operatorUserID: '3517105008', data, ...extra });
const m = (userID: string, roleLevel = 20) => ({ userID, roleLevel, joinTime: 1687753739612 });
const valid = [
  h('group.created', { group: { groupName: 'x', ownerUserID: 'u1', createTime: 1 }, members: [m('u1', 100), { ...m('u2'), joinSource: 2, inviterUserID: 'u1' }] }),
  h('group.created', { group: { groupID: '2137448827', ownerUserID: 'u1', createTime: 1, groupType: 0, notificationUpdateTime: 5 }, members: [m('u1', 100)] }),
  h('group.info_updated', { groupName: 'y' }),
  h('group.info_updated', { needVerification: 2, notificationUserID: '' }),
  h('group.status_changed', { status: 3 }),
  h('group.owner_transferred', { oldOwnerUserID: 'u1', newOwnerUserID: 'u2' }),
  h('group.dismissed', {}),
  h('member.joined', { members: [m('u3')] }),
  h('member.left', { userIDs: ['u3'], reason: 'kicked' }),
  h('member.role_changed', { userID: 'u2', roleLevel: 60 }),
  { ...h('member.left', { userIDs: ['u3'], reason: 'quit' }), operatorUserID: undefined },
];
const invalid = [
  h('member.left', { userIDs: [], reason: 'quit' }),
  h('member.role_changed', { userID: 'u2', roleLevel: 100 }),
  h('group.status_changed', { status: 2 }),
  h('member.joined', { members: [m('a:b')] }),
  h('group.info_updated', {}),
  h('member.joined', { members: [m('u3')] }, { version: 2 }),
  h('group.created', { group: { ownerUserID: 'u1' }, members: [m('u1', 100)] }),
  h('nope', {}),
];
let bad = 0;
for (const [label, list, expectOk] of [['valid', valid, true], ['invalid', invalid, false]] as const) {
  for (const e of list) {
    const value = JSON.stringify(e);
    const zodOk = decodeEvent(value).ok;
    let brokerOk = true;
    try { await p.send({ topic: 'im.group.events', messages: [{ key: '2137448827', value }] }); } catch (err) { brokerOk = false; if (expectOk) console.log((err as Error).message, JSON.stringify(err).slice(0, 300)); }
    const flag = zodOk === expectOk && brokerOk === expectOk ? 'ok ' : 'BAD';
    if (flag === 'BAD') bad++;
    console.log(flag, label, `zod=${zodOk} broker(schema on)=${brokerOk}`, e.type, JSON.stringify(e.data).slice(0, 80), (e as any).version);
  }
}
// DLQ schema
const dl = { reason: 'not JSON', kind: 'invalid_json', topic: 'im.group.events', partition: 3, offset: '1842', key: null, value: 'hello', timestamp: '1687753739612', failedAt: 1, size: 5 };
for (const [v, exp] of [[dl, true], [{ ...dl, kind: 'weird' }, false], [{ ...dl, offset: 12 }, false], [{ ...dl, valueBase64: '/w==', value: undefined, truncated: true }, true]] as const) {
  let ok = true; try { await p.send({ topic: 'im.group.events.dlq', messages: [{ key: null, value: JSON.stringify(v) }] }); } catch { ok = false; }
  if (ok !== exp) bad++;
  console.log(ok === exp ? 'ok ' : 'BAD', 'dlq', JSON.stringify(v).slice(0, 60), ok);
}
await p.disconnect(); await broker.stop();
console.log(bad ? `${bad} BAD` : 'schemas agree with zod on all samples');
