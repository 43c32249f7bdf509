/**
 * `pnpm bench:bridge`: the OpenIM bridge's per-record path on mixed `toRedis`
 * traffic against a bare loop that only decodes MsgData, in one run.
 *
 *   pnpm bench:bridge [--messages 200000] [--chat 0.92] [--rounds 10]
 *
 * Traffic (services/openim-bridge/src/openim-traffic.ts): OpenIM-shaped
 * protobuf records with upstream's fields the bridge's .proto subset leaves
 * out (sender nickname and face, options, offline push info, ...): a share
 * `--chat` of chat (three in four in groups, the rest one-to-one), the rest
 * group notifications of every mapped content type plus a few it ignores
 * (member mutes, 1516), with Go-shaped tips JSON.
 *
 *   measured  the bridge's work per record without Kafka: mapRecord (the
 *             two-varint peek; for a group notification the full decode, the
 *             two JSON parses, zod, the mapping and the v1.1 self-check) and
 *             JSON.stringify of each event, as app.ts produces them
 *   baseline  MsgDataType.decode of every record, nothing else: the cheapest
 *             consumer that looks at each record at all
 *
 * Rounds alternate which path goes first; each path's figure is the median
 * round. Kafka fetch and produce are left out of both (they are the same for
 * both, and the broker's cost, not the bridge's).
 */
import { parseArgs } from 'node:util';
import { chatRecord, goGroupInfo, goMember, goVersion, mapRecord, MsgDataType, notificationRecord, serverMsgID } from '@imgroups/openim-bridge';

const { values: args } = parseArgs({
  options: {
    messages: { type: 'string', default: '200000' },
    chat: { type: 'string', default: '0.92' },
    rounds: { type: 'string', default: '10' },
  },
});
const total = Number(args.messages);
const chatShare = Number(args.chat);
const rounds = Number(args.rounds);
if (!(chatShare >= 0.9 && chatShare <= 1)) throw new Error('--chat must be at least 0.9 (the issue: mixed traffic with >= 90% chat)');

/** Deterministic pseudo-random numbers, so two runs bench the same traffic. */
let seed = 42;
const rand = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;

const TEXTS = ['ok', 'see you at 7', 'Has anyone seen the slides from yesterday? I cannot find them in the drive.', 'https://example.com/some/long/link?with=params&and=more', '👍', 'lunch?'];
function notification(i: number): { key: string; value: Buffer } {
  const groupID = String(3_000_000_000 + (i % 5000));
  const owner = `${groupID}1`;
  const user = String(1_000_000_000 + ((i * 7919) % 1_000_000));
  const group = goGroupInfo({ groupID, groupName: 'Weekend hiking club', notification: 'Meet at the station at 8.', introduction: 'We walk.', ownerUserID: owner, creatorUserID: owner, createTime: 1_700_000_000_000, memberCount: 40 });
  const op = goMember({ userID: owner, groupID, roleLevel: 100, joinTime: 1_700_000_000_000 });
  const m = goMember({ userID: user, groupID, roleLevel: 20, joinTime: 1_700_000_500_000, joinSource: 2, inviterUserID: owner });
  const v = goVersion(1 + (i % 900));
  const types: [number, Record<string, unknown>][] = [
    [1501, { group, opUser: op, memberList: [op], operationTime: 1_700_000_000_000, groupOwnerUser: op, ...v }],
    [1502, { opUser: op, muteTime: 0, group, ...v }],
    [1504, { group, quitUser: m, operationTime: 0, ...v }],
    [1507, { group, opUser: op, newGroupOwner: m, oldGroupOwner: '', operationTime: 0, oldGroupOwnerInfo: { ...op, roleLevel: 60 }, ...v }],
    [1508, { group, opUser: op, kickedUserList: [m], operationTime: 0, ...v }],
    [1509, { group, opUser: op, invitedUserList: [m, { ...m, userID: `${user}9` }], operationTime: 0, inviterUser: op, ...v }],
    [1510, { group, entrantUser: m, operationTime: 1_700_000_500_000, ...v }],
    [1511, { group, opUser: op, operationTime: 0 }],
    [1512, { group, opUser: op, operationTime: 0, mutedUser: m, mutedSeconds: 600, ...v }],
    [1514, { group, opUser: op, operationTime: 0, ...v }],
    [1516, { group, opUser: op, operationTime: 0, changedUser: m, groupSortVersion: 0, ...v }],
    [1517, { group, opUser: op, operationTime: 0, changedUser: m, groupSortVersion: 3, ...v }],
    [1520, { opUser: op, group, ...v }],
  ];
  const [contentType, tips] = pick(types);
  return notificationRecord({ groupID, contentType, tips, sendID: owner, sendTime: 1_700_000_600_000 + i, serverMsgID: serverMsgID(`bench:${i}`) });
}

const values: Buffer[] = [];
const chatValues: Buffer[] = [];
let chats = 0;
for (let i = 0; i < total; i++) {
  if (rand() < chatShare) {
    chats++;
    const from = String(1_000_000_000 + Math.floor(rand() * 1_000_000));
    const text = pick(TEXTS);
    values.push(
      rand() < 0.75
        ? chatRecord({ from, groupID: String(3_000_000_000 + Math.floor(rand() * 5000)), text, sendTime: 1_700_000_600_000 + i }).value
        : chatRecord({ from, to: String(1_000_000_000 + Math.floor(rand() * 1_000_000)), text, sendTime: 1_700_000_600_000 + i }).value,
    );
    chatValues.push(values[values.length - 1]!);
  } else {
    values.push(notification(i).value);
  }
}
const bytes = values.reduce((n, v) => n + v.length, 0);

let sink = 0; // keeps the work observable so it is not optimised away
function bridgePath(): void {
  for (const v of values) {
    const m = mapRecord(v);
    if (m.kind === 'events') for (const e of m.events) sink += JSON.stringify(e).length;
    else sink += m.contentType;
  }
}
function bareDecode(): void {
  for (const v of values) sink += (MsgDataType.decode(v) as unknown as { contentType: number }).contentType;
}
/** The ignore path alone: the bridge on the chat records only, and the bare decoder on the same. */
function bridgeChat(): void {
  for (const v of chatValues) sink += (mapRecord(v) as { contentType: number }).contentType;
}
function bareChat(): void {
  for (const v of chatValues) sink += (MsgDataType.decode(v) as unknown as { contentType: number }).contentType;
}

function timeIt(fn: () => void): number {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

// Warm-up: both paths once, so the JIT has seen them.
bridgePath();
bareDecode();
bridgeChat();
bareChat();
const measured: number[] = [];
const baseline: number[] = [];
const chatMeasured: number[] = [];
const chatBaseline: number[] = [];
for (let r = 0; r < rounds; r++) {
  const pairs: [() => void, number[]][] = [
    [bridgePath, measured],
    [bareDecode, baseline],
    [bridgeChat, chatMeasured],
    [bareChat, chatBaseline],
  ];
  if (r % 2 === 1) pairs.reverse();
  for (const [fn, into] of pairs) into.push(timeIt(fn));
}
const rate = (s: number) => total / s;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const mRate = rate(median(measured));
const bRate = rate(median(baseline));
const stats = mapStats();
console.log(`bench:bridge: ${fmt(total)} records (${((chats / total) * 100).toFixed(1)}% chat), ${(bytes / total).toFixed(0)} B each on average, ${rounds} rounds, medians`);
console.log(`  mapped ${fmt(stats.mapped)}, ignored ${fmt(stats.ignored)} (${Object.entries(stats.reasons).map(([k, n]) => `${k} ${fmt(n)}`).join(', ')}), unreadable ${fmt(stats.unreadable)}`);
console.log(`  measured  bridge (peek, map, serialise events): ${fmt(mRate)} records/s`);
console.log(`  baseline  bare MsgData decode of every record:  ${fmt(bRate)} records/s`);
const cm = chatValues.length / median(chatMeasured);
const cb = chatValues.length / median(chatBaseline);
console.log(`  ignore path, chat records only: bridge ${fmt(cm)} records/s, bare decode ${fmt(cb)} records/s`);
console.log(
  `bridge/baseline: ${(mRate / bRate).toFixed(2)}x the bare decoder's rate on mixed traffic; ` +
    `${(cm / cb).toFixed(2)}x on the chat it ignores (sink ${sink % 10})`,
);

function mapStats() {
  const out = { mapped: 0, ignored: 0, unreadable: 0, reasons: {} as Record<string, number> };
  for (const v of values) {
    const m = mapRecord(v);
    if (m.kind === 'events') out.mapped++;
    else if (m.kind === 'unreadable') out.unreadable++;
    else {
      out.ignored++;
      out.reasons[m.reason] = (out.reasons[m.reason] ?? 0) + 1;
    }
  }
  return out;
}
