import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { decodeEvent } from '../contracts/src/events.js';
const require = createRequire(import.meta.url);
const Ajv = require('/work/main/node_modules/.pnpm/ajv@8.20.0/node_modules/ajv').default;
const YAML = require('/work/main/node_modules/.pnpm/yaml@2.9.1/node_modules/yaml');
const doc = YAML.parse(readFileSync('../../asyncapi/im-group-events.yaml', 'utf8'));
const ajv = new Ajv({ strict: false, allErrors: true });
ajv.addSchema(doc, 'doc');
// rewrite refs '#/components/...' to 'doc#/components/...'
const fix = (o: any): any => Array.isArray(o) ? o.map(fix) : o && typeof o === 'object' ? Object.fromEntries(Object.entries(o).map(([k, v]) => [k, k === '$ref' && typeof v === 'string' && v.startsWith('#') ? 'doc' + v : fix(v)])) : o;
const validators: Record<string, any> = {};
for (const [id, m] of Object.entries<any>(doc.components.messages)) validators[m.name] = ajv.compile(fix(m.payload));
const keySchema = ajv.compile(fix(doc.components.messageTraits.groupEvent.bindings.kafka.key));
const h = (type: string, data: unknown, extra: object = {}) => ({ eventID: 'e-' + type, type, version: 1, groupID: '2137448827', occurredAt: 1687753739612, operatorUserID: '3517105008', data, ...extra });
const m = (userID: string, roleLevel = 20) => ({ userID, roleLevel, joinTime: 1687753739612 });
const samples: any[] = [
  h('group.created', { group: { groupName: 'x', ownerUserID: 'u1', createTime: 1 }, members: [m('u1', 100), { ...m('u2'), joinSource: 2, inviterUserID: 'u1' }] }),
  h('group.created', { group: { groupID: '2137448827', ownerUserID: 'u1', createTime: 1, groupType: 0, notificationUpdateTime: 5, extra: 'ignored' }, members: [m('u1', 100)] }),
  h('group.info_updated', { groupName: 'y' }),
  h('group.info_updated', { needVerification: 2, notificationUserID: '' }),
  h('group.status_changed', { status: 3 }),
  h('group.owner_transferred', { oldOwnerUserID: 'u1', newOwnerUserID: 'u2' }),
  h('group.dismissed', {}),
  h('member.joined', { members: [m('u3')] }),
  h('member.left', { userIDs: ['u3'], reason: 'kicked' }),
  h('member.role_changed', { userID: 'u2', roleLevel: 60 }),
  (() => { const e: any = h('member.left', { userIDs: ['u3'], reason: 'quit' }); delete e.operatorUserID; return e; })(),
  h('member.left', { userIDs: [], reason: 'quit' }),
  h('member.role_changed', { userID: 'u2', roleLevel: 100 }),
  h('group.status_changed', { status: 2 }),
  h('member.joined', { members: [m('a:b')] }),
  h('member.joined', { members: [m('a{b')] }),
  h('member.joined', { members: [m('a\u0001b')] }),
  h('member.joined', { members: [m('x'.repeat(65))] }),
  h('group.info_updated', {}),
  h('group.info_updated', { groupName: 'x'.repeat(1025) }),
  h('group.created', { group: { ownerUserID: 'u1' }, members: [m('u1', 100)] }),
  h('group.created', { group: { ownerUserID: 'u1', createTime: -1 }, members: [m('u1', 100)] }),
  h('member.joined', { members: [{ ...m('u3'), joinSource: 5 }] }),
  h('member.joined', { members: [m('u3')] }, { eventID: '' }),
  h('member.joined', { members: [m('u3')] }, { occurredAt: 1.5 }),
  h('member.joined', { members: [m('u3')] }, { groupID: 'g:1' }),
  h('member.left', { userIDs: ['u3'], reason: 'banned' }),
  h('group.owner_transferred', { oldOwnerUserID: 'u1' }),
  h('group.info_updated', { foo: 1 }),
  h('group.info_updated', { foo: 1, ex: '' }),
];
let disagree = 0;
for (const e of samples) {
  const zod = decodeEvent(JSON.stringify(e)).ok;
  const v = validators[e.type];
  const json = v(e);
  const same = zod === json;
  if (!same) disagree++;
  console.log(same ? 'agree   ' : 'DISAGREE', `zod=${zod} jsonschema=${json}`, e.type, JSON.stringify(e.data).slice(0, 70), same ? '' : JSON.stringify(v.errors?.slice(0, 2)));
}
console.log('key "2137448827":', keySchema('2137448827'), ' key "a:b":', keySchema('a:b'));
const dlq = ajv.compile(fix(doc.components.schemas.DeadLetter));
const dl = { reason: 'not JSON', kind: 'invalid_json', topic: 'im.group.events', partition: 3, offset: '1842', key: null, value: 'hello', timestamp: '1687753739612', failedAt: 1, size: 5 };
console.log('dlq valid', dlq(dl), 'bad kind', dlq({ ...dl, kind: 'x' }), 'numeric offset', dlq({ ...dl, offset: 5 }), 'base64', dlq({ ...dl, value: undefined, valueBase64: '/w==', truncated: true }));
for (const [id, m] of Object.entries<any>(doc.components.messages)) for (const ex of m.examples ?? []) {
  const ok = id === 'deadLetter' ? dlq(ex.payload) : validators[m.name](ex.payload) && decodeEvent(JSON.stringify(ex.payload)).ok;
  console.log('example', id, ex.name, ok);
}
console.log(disagree ? `${disagree} DISAGREE` : 'json schemas agree with zod on all samples');
