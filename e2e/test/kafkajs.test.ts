// kafkajs 2.2.4: admin, producer in every codec (gzip built in; snappy via kafkajs-snappy; lz4 via lz4-napi frames;
// zstd via node:zlib, since Node 24 ships zstd), consumer group read-back.
import kafkajs from 'kafkajs';
import SnappyCodec from 'kafkajs-snappy';
import { compressFrameSync, decompressFrameSync } from 'lz4-napi';
import { zstdCompressSync, zstdDecompressSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { uniqueTopic, useNode } from '../support/fixtures.ts';
import { binaryRecord, codecs, expectRecords, recordCount, type Codec, type ReceivedRecord } from '../support/records.ts';
import { WireConnection, fetchAll } from '../support/wire.ts';

const { Kafka, CompressionTypes, CompressionCodecs, logLevel } = kafkajs;
process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
CompressionCodecs[CompressionTypes.Snappy] = SnappyCodec;
CompressionCodecs[CompressionTypes.LZ4] = () => ({
  compress: async (encoder: { buffer: Buffer }) => compressFrameSync(encoder.buffer),
  decompress: async (buffer: Buffer) => decompressFrameSync(buffer),
});
CompressionCodecs[CompressionTypes.ZSTD] = () => ({
  compress: async (encoder: { buffer: Buffer }) => zstdCompressSync(encoder.buffer),
  decompress: async (buffer: Buffer) => zstdDecompressSync(buffer),
});

const compressionOf: Record<Codec, kafkajs.CompressionTypes> = {
  none: CompressionTypes.None, gzip: CompressionTypes.GZIP, snappy: CompressionTypes.Snappy, lz4: CompressionTypes.LZ4, zstd: CompressionTypes.ZSTD,
};

const node = useNode();
let kafka: kafkajs.Kafka;
let admin: kafkajs.Admin;
const topics = new Map<Codec, string>();

beforeAll(async () => {
  kafka = new Kafka({ clientId: 'trib-e2e-kafkajs', brokers: [node().bootstrap], logLevel: logLevel.WARN, retry: { retries: 3 } });
  admin = kafka.admin();
  await admin.connect();
});
afterAll(async () => {
  await admin?.disconnect();
});

describe('kafkajs 2.2.4', () => {
  test('admin creates topics and fetches their metadata', async () => {
    const topic = uniqueTopic('kafkajs-admin');
    expect(await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true })).toBe(true);
    expect(await admin.listTopics()).toContain(topic);
    const meta = await admin.fetchTopicMetadata({ topics: [topic] });
    expect(meta.topics[0]!.partitions.map((p) => p.partitionId).sort()).toEqual([0, 1, 2]);
  });

  test('an idempotent producer (idempotent: true, 5 requests in flight): every record once and in order', async () => {
    const topic = uniqueTopic('kafkajs-idempotent');
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    const producer = kafka.producer({ allowAutoTopicCreation: false, idempotent: true, maxInFlightRequests: 5 });
    await producer.connect();
    try {
      // Concurrent sends: several requests in flight with consecutive sequence numbers.
      await Promise.all(Array.from({ length: 20 }, (_, i) => producer.send({ topic, acks: -1, messages: Array.from({ length: 50 }, (_, j) => ({ partition: 0, key: `k${i}`, value: `v${i}-${j}` })) })));
    } finally {
      await producer.disconnect();
    }
    const conn = await WireConnection.openTo(node().bootstrap);
    try {
      const { records } = await fetchAll(conn, topic, 0);
      expect(records).toHaveLength(1000);
      expect(records.map((r) => r.offset)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
      expect(new Set(records.map((r) => r.value!.toString())).size).toBe(1000);
      // Each send's records stay together and in order.
      for (let i = 0; i < 20; i++) {
        const mine = records.filter((r) => r.key!.toString() === `k${i}`).map((r) => r.value!.toString());
        expect(mine).toEqual(Array.from({ length: 50 }, (_, j) => `v${i}-${j}`));
      }
    } finally {
      conn.close();
    }
  });

  for (const codec of codecs) {
    test(`codec ${codec}: produces ${recordCount} records with keys and headers (checked with a raw fetch)`, async () => {
      const topic = uniqueTopic(`kafkajs-${codec}`);
      await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
      const producer = kafka.producer({ allowAutoTopicCreation: false });
      await producer.connect();
      const expected = Array.from({ length: recordCount }, (_, i) => binaryRecord(i, codec));
      const chunk = 1000;
      try {
        for (let start = 0; start < recordCount; start += chunk) {
          const messages = expected.slice(start, start + chunk).map((r) => ({ key: r.key, value: r.value, partition: 0, headers: Object.fromEntries(r.headers) }));
          const metadata = await producer.send({ topic, acks: -1, compression: compressionOf[codec], messages });
          expect(metadata[0]!.errorCode).toBe(0);
          expect(Number(metadata[0]!.baseOffset)).toBe(start);
        }
      } finally {
        await producer.disconnect();
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
    test(`codec ${codec}: a consumer group reads the ${recordCount} records back in order`, async () => {
      const topic = topics.get(codec);
      expect(topic, 'the produce test for this codec must pass first').toBeDefined();
      const consumer = kafka.consumer({ groupId: uniqueTopic(`kafkajs-group-${codec}`), sessionTimeout: 10_000, heartbeatInterval: 1000 });
      const received: ReceivedRecord[] = [];
      try {
        await consumer.connect();
        await consumer.subscribe({ topic: topic!, fromBeginning: true });
        await new Promise<void>((resolveDone, reject) => {
          const timer = setTimeout(() => reject(new Error(`timed out with ${received.length} records`)), 120_000);
          consumer.run({
            eachMessage: async ({ message }) => {
              received.push({
                offset: Number(message.offset),
                key: message.key,
                value: message.value,
                headers: Object.entries(message.headers ?? {}).map(([k, v]) => [k, v === undefined ? null : Buffer.isBuffer(v) ? v : Buffer.from(String(v))]),
              });
              if (received.length >= recordCount) { clearTimeout(timer); resolveDone(); }
            },
          }).catch(reject);
        });
      } finally {
        await consumer.disconnect();
      }
      expectRecords(received, Array.from({ length: recordCount }, (_, i) => binaryRecord(i, codec)), { firstOffset: 0 });
    });
  }
});
