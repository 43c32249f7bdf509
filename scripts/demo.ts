/**
 * `pnpm demo`: publish a small sample of group events (three groups, a few
 * users, joins, a leave, a rename, a dismissal) to the running service's
 * topic, wait until the query API shows them, and print the curl commands.
 * Event IDs are fixed, so running it twice changes nothing.
 */
import { loadConfigOrExit } from '@imgroups/config';
import { ev, type MemberSpec } from '@imgroups/testing';
import { Kafka, logLevel, Partitioners } from 'kafkajs';

const config = loadConfigOrExit(process.env, 'demo');
const USER = '9906953281';
const t0 = Date.UTC(2026, 0, 1);
const member = (userID: string, minutes: number): MemberSpec => ({ userID, joinTime: t0 + minutes * 60_000, joinSource: 2 });
const created = (groupID: string, groupName: string, owner: string, minutes: number, others: MemberSpec[]) =>
  ev.created(groupID, member(owner, minutes), others, { groupName, introduction: `${groupName} (demo)` });

const events = [
  created('2137448827', '11111', '3517105008', 1, [member(USER, 2), member('2699373280', 3)]),
  created('2759960147', 'Group2', '4771680259', 10, [member('5010203040', 11)]),
  ev.joined('2759960147', [member(USER, 12), member('6020304050', 13)]),
  created('3686066424', 'Group3', USER, 20, [member('7030405060', 21)]),
  ev.infoUpdated('3686066424', { groupName: 'Group3 (renamed)', notification: 'welcome' }),
  ev.left('2759960147', ['5010203040'], 'kicked'),
  created('4000000001', 'Short-lived', '7030405060', 30, [member(USER, 31)]),
  ev.dismissed('4000000001'),
].map((e, i) => ({ ...e, eventID: `demo-${String(i + 1).padStart(3, '0')}`, occurredAt: t0 + (i + 1) * 60_000 }));

const kafka = new Kafka({ clientId: 'imgroups-demo', brokers: config.KAFKA_BROKERS, logLevel: logLevel.ERROR });
const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
await producer.connect();
await producer.send({
  topic: config.EVENTS_TOPIC,
  acks: -1,
  messages: events.map((e) => ({ key: e.groupID, value: JSON.stringify(e) })),
});
await producer.disconnect();
console.log(`published ${events.length} events to ${config.EVENTS_TOPIC} at ${config.KAFKA_BROKERS.join(',')}`);

const api = `http://127.0.0.1:${config.API_PORT}`;
const post = async <Data>(path: string, body: object, headers: Record<string, string> = {}) => {
  const res = await fetch(`${api}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', operationID: String(Date.now()), ...headers },
    body: JSON.stringify(body),
  });
  return (await res.json()) as { errCode: number; errDlt: string; data?: Data };
};

const deadline = Date.now() + 60_000;
let total = 0;
while (Date.now() < deadline) {
  try {
    const auth = await post<{ token: string }>('/auth/get_admin_token', { secret: config.OPENIM_SECRET, userID: config.ADMIN_USER_IDS[0] });
    if (auth.errCode === 0 && auth.data) {
      const page = await post<{ total: number }>(
        '/group/get_joined_group_list',
        { fromUserID: USER, pagination: { pageNumber: 1, showNumber: 10 } },
        { token: auth.data.token },
      );
      total = page.data?.total ?? 0;
      if (total === 3) break;
    }
  } catch {
    // the API is not up yet
  }
  await new Promise((r) => setTimeout(r, 250));
}
if (total !== 3) {
  console.error(`the query API at ${api} did not show the demo data within 60 s (is \`pnpm start\` running?)`);
  process.exit(1);
}
console.log(`user ${USER} is in ${total} groups. Try the curl commands in README.md ("Quickstart").`);
