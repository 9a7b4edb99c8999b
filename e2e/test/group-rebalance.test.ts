// Two live members of one group (kafkajs): partitions are split between them without overlap, every
// record is delivered once; when one leaves, the other takes over its partitions.
import kafkajs from 'kafkajs';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { uniqueTopic, useNode } from '../support/fixtures.ts';
import { sleep } from '../support/process.ts';

const { Kafka, logLevel } = kafkajs;
process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';

const node = useNode();
let kafka: kafkajs.Kafka;
const partitions = 4;

beforeAll(() => {
  kafka = new Kafka({ clientId: 'trib-e2e-rebalance', brokers: [node().bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 5 } });
});

const consumers: kafkajs.Consumer[] = [];
afterAll(async () => {
  for (const c of consumers) await c.disconnect().catch(() => undefined);
});

interface Member { consumer: kafkajs.Consumer; received: Array<{ partition: number; key: string }>; assigned: number[] }

async function startMember(topic: string, groupId: string): Promise<Member> {
  const consumer = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 500, rebalanceTimeout: 10_000 });
  consumers.push(consumer);
  const member: Member = { consumer, received: [], assigned: [] };
  consumer.on(consumer.events.GROUP_JOIN, (event) => {
    member.assigned = [...(event.payload.memberAssignment[topic] ?? [])].sort();
  });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ partition, message }) => { member.received.push({ partition, key: message.key!.toString() }); },
  });
  return member;
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

test('two members split the partitions; the survivor takes over when one leaves', async () => {
  const topic = uniqueTopic('rebalance');
  const groupId = uniqueTopic('rebalance-group');
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
  await admin.disconnect();

  const a = await startMember(topic, groupId);
  await waitFor(() => a.assigned.length === partitions, 'the first member to own every partition');
  const b = await startMember(topic, groupId);
  await waitFor(() => b.assigned.length > 0 && a.assigned.length > 0 && a.assigned.length + b.assigned.length === partitions, 'a rebalance that splits the partitions');
  expect([...a.assigned, ...b.assigned].sort()).toEqual([0, 1, 2, 3]);

  const producer = kafka.producer();
  await producer.connect();
  const firstKeys = Array.from({ length: 400 }, (_, i) => `first-${i}`);
  await producer.send({ topic, messages: firstKeys.map((key, i) => ({ key, value: key, partition: i % partitions })) });
  await waitFor(() => a.received.length + b.received.length >= firstKeys.length, 'all first-round records');
  await sleep(1000); // a duplicate would show up here
  const firstSeen = [...a.received, ...b.received].map((r) => r.key);
  expect(firstSeen.length).toBe(firstKeys.length);
  expect(new Set(firstSeen).size).toBe(firstKeys.length);
  for (const r of a.received) expect(a.assigned).toContain(r.partition);
  for (const r of b.received) expect(b.assigned).toContain(r.partition);

  // b leaves; a owns everything again and gets the next records from every partition.
  await b.consumer.disconnect();
  await waitFor(() => a.assigned.length === partitions, 'the survivor to own every partition again');
  const before = a.received.length;
  const secondKeys = Array.from({ length: 100 }, (_, i) => `second-${i}`);
  await producer.send({ topic, messages: secondKeys.map((key, i) => ({ key, value: key, partition: i % partitions })) });
  await producer.disconnect();
  await waitFor(() => a.received.filter((r) => r.key.startsWith('second-')).length >= secondKeys.length, 'all second-round records');
  const secondSeen = a.received.slice(before).filter((r) => r.key.startsWith('second-')).map((r) => r.key);
  expect(new Set(secondSeen).size).toBe(secondKeys.length);
});
