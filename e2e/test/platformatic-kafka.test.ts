// @platformatic/kafka (latest): admin, producer in all five codecs (its own wasm snappy/lz4, zlib gzip/zstd),
// consumer group stream read-back.
import { Admin, Consumer, ProduceAcks, Producer } from '@platformatic/kafka';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { uniqueTopic, useNode } from '../support/fixtures.ts';
import { binaryRecord, codecs, expectRecords, recordCount, type Codec, type ReceivedRecord } from '../support/records.ts';
import { WireConnection, fetchAll } from '../support/wire.ts';

const node = useNode();
let admin: Admin;
const topics = new Map<Codec, string>();

beforeAll(() => {
  admin = new Admin({ clientId: 'trib-e2e-platformatic', bootstrapBrokers: [node().bootstrap] });
});
afterAll(async () => {
  await admin?.close();
});

describe('@platformatic/kafka', () => {
  test('admin creates a topic and reads its metadata', async () => {
    const topic = uniqueTopic('platformatic-admin');
    await admin.createTopics({ topics: [topic], partitions: 3, replicas: 1 });
    const meta = await admin.metadata({ topics: [topic] });
    expect(meta.topics.get(topic)?.partitionsCount).toBe(3);
  });

  for (const codec of codecs) {
    test(`codec ${codec}: produces ${recordCount} records with keys and headers (checked with a raw fetch)`, async () => {
      const topic = uniqueTopic(`platformatic-${codec}`);
      await admin.createTopics({ topics: [topic], partitions: 1, replicas: 1 });
      const producer = new Producer({ clientId: 'trib-e2e-platformatic-producer', bootstrapBrokers: [node().bootstrap], compression: codec });
      const expected = Array.from({ length: recordCount }, (_, i) => binaryRecord(i, codec));
      const chunk = 1000;
      try {
        for (let start = 0; start < recordCount; start += chunk) {
          const messages = expected.slice(start, start + chunk).map((r) => ({ topic, partition: 0, key: r.key, value: r.value, headers: new Map(r.headers.map(([k, v]) => [Buffer.from(k), v])) }));
          // acks per send: @platformatic/kafka 2.12 ignores the constructor's acks for send() (it defaults to 1 there),
          // and with acks=1 the raw fetch below could run before the last batch is under the high watermark.
          const result = await producer.send({ messages, acks: ProduceAcks.ALL });
          expect(result.offsets?.[0]?.offset, JSON.stringify(result, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))).toBe(BigInt(start));
        }
      } finally {
        await producer.close();
      }
      topics.set(codec, topic);
      const conn = await WireConnection.openTo(node().bootstrap);
      try {
        const { records } = await fetchAll(conn, topic, 0);
        expectRecords(records, expected, { firstOffset: 0 });
      } finally {
        conn.close();
      }
    });
  }

  for (const codec of codecs) {
    test(`codec ${codec}: a consumer group stream reads the ${recordCount} records back in order`, async () => {
      const topic = topics.get(codec);
      expect(topic, 'the produce test for this codec must pass first').toBeDefined();
      const consumer = new Consumer({ groupId: uniqueTopic(`platformatic-group-${codec}`), clientId: 'trib-e2e-platformatic-consumer', bootstrapBrokers: [node().bootstrap] });
      const received: ReceivedRecord[] = [];
      try {
        const stream = await consumer.consume({ topics: [topic!], mode: 'earliest', autocommit: false, sessionTimeout: 10_000, heartbeatInterval: 1000 });
        const timer = setTimeout(() => void stream.close(), 120_000);
        for await (const message of stream) {
          received.push({
            offset: Number(message.offset),
            key: message.key,
            value: message.value,
            headers: message.headerEntries.map(([k, v]) => [k.toString('utf8'), v]),
          });
          if (received.length >= recordCount) break;
        }
        clearTimeout(timer);
      } finally {
        await consumer.close(true);
      }
      expectRecords(received, Array.from({ length: recordCount }, (_, i) => binaryRecord(i, codec)), { firstOffset: 0 });
    });
  }
});
