// kcat (librdkafka 2.0.x): metadata, produce in every codec with keys and headers, consume byte for byte.
import { describe, expect, test } from 'vitest';
import { uniqueTopic, useNode } from '../support/fixtures.ts';
import { kcatConsume, runOk } from '../support/kcat.ts';
import { codecs, expectRecords, recordCount, textRecord, type TestRecord } from '../support/records.ts';
import { WireConnection, createTopic } from '../support/wire.ts';

const node = useNode();

async function create(topic: string, partitions = 1): Promise<void> {
  const conn = await WireConnection.openTo(node().bootstrap);
  try {
    const result = await createTopic(conn, topic, partitions);
    expect(result.errorCode, `CreateTopics ${topic}: ${result.errorMessage}`).toBe(0);
  } finally {
    conn.close();
  }
}

describe('kcat', () => {
  test('-L lists the broker and a created topic (JSON)', async () => {
    const topic = uniqueTopic('kcat-meta');
    await create(topic, 3);
    const result = await runOk('kcat', ['-L', '-J', '-b', node().bootstrap, '-t', topic], { timeoutMs: 30_000 });
    const listing = JSON.parse(result.stdout.toString('utf8')) as {
      brokers: Array<{ id: number; name: string }>;
      topics: Array<{ topic: string; partitions: Array<{ partition: number; leader: number }>; error?: string }>;
    };
    expect(listing.brokers.map((b) => b.name)).toContain(node().bootstrap);
    const entry = listing.topics.find((t) => t.topic === topic);
    expect(entry, JSON.stringify(listing)).toBeDefined();
    expect(entry!.error).toBeUndefined();
    expect(entry!.partitions.map((p) => p.partition).sort()).toEqual([0, 1, 2]);
    const brokerIds = listing.brokers.map((b) => b.id);
    for (const p of entry!.partitions) expect(brokerIds).toContain(p.leader);
  });

  for (const codec of codecs) {
    test(`-P -K -H -z ${codec}: ${recordCount} records, then -C -e -f reads them back exactly`, async () => {
      const topic = uniqueTopic(`kcat-${codec}`);
      await create(topic);
      const lines: string[] = [];
      const expected: TestRecord[] = [];
      const headers: Array<[string, Buffer]> = [['run', Buffer.from('kcat')], ['codec', Buffer.from(codec)]];
      for (let i = 0; i < recordCount; i++) {
        const r = textRecord(i);
        lines.push(`${r.key}\t${r.value}\n`);
        expected.push({ key: Buffer.from(r.key), value: Buffer.from(r.value), headers });
      }
      await runOk('kcat', [
        '-P', '-b', node().bootstrap, '-t', topic, '-p', '0', '-K', '\t', '-H', 'run=kcat', '-H', `codec=${codec}`, '-z', codec,
        '-X', 'linger.ms=20', '-X', 'batch.num.messages=2000',
      ], { input: lines.join(''), timeoutMs: 120_000 });
      const received = await kcatConsume(node().bootstrap, topic);
      expectRecords(received, expected, { firstOffset: 0 });
    });
  }
});
