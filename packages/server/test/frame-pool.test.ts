import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KafkaClient, KafkaConnection } from '@tributary/client';
import { silentLogger } from '@tributary/common';
import { ApiKey, encodeRecordBatch } from '@tributary/protocol';
import { startNode, type RunningNode } from '../src/node.ts';

describe('pooled produce frames', () => {
  let dir: string;
  let node: RunningNode;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trib-pool-'));
    node = await startNode({ overrides: { listeners: 'PLAINTEXT://127.0.0.1:0', 'log.dirs': dir, 'offsets.topic.num.partitions': '1' }, logger: silentLogger });
  });
  afterAll(async () => {
    await node?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores every byte of many large pipelined produces whose frames reuse buffers', async () => {
    const client = new KafkaClient({ bootstrapServers: `127.0.0.1:${node.port}` });
    await client.connect();
    await client.createTopics([{ name: 'pooled', numPartitions: 2, replicationFactor: 1 }]);
    const conn = await KafkaConnection.connect({ host: '127.0.0.1', port: node.port, maxInFlight: 16 });
    const requests = 60;
    const valueFor = (i: number, j: number): Buffer => Buffer.alloc(2000 + (i % 7) * 100, (i * 31 + j) & 0xff);
    try {
      const results = await Promise.all(
        Array.from({ length: requests }, (_, i) => {
          const records = Array.from({ length: 50 + (i % 5) * 20 }, (_, j) => ({ key: `r${i}-${j}`, value: valueFor(i, j), timestamp: Date.now() }));
          const batch = encodeRecordBatch({ records, compression: 'none' });
          return conn.request<any>(ApiKey.Produce, 8, { transactionalId: null, acks: 1, timeoutMs: 5000, topicData: [{ name: 'pooled', partitionData: [{ index: i % 2, records: batch }] }] });
        }),
      );
      for (const r of results) expect(r.responses[0].partitionResponses[0].errorCode).toBe(0);
    } finally {
      await conn.close();
    }
    for (const partition of [0, 1]) {
      let offset = 0;
      const got: { key: string; value: Buffer }[] = [];
      for (let n = 0; n < 1000; n++) {
        const res = await client.fetch('pooled', partition, offset, { maxWaitMs: 0, maxBytes: 4 << 20 });
        const fresh = res.records.filter((r) => r.offset >= offset);
        if (fresh.length === 0) break;
        got.push(...fresh.map((r) => ({ key: r.key!.toString(), value: r.value! })));
        offset = fresh.at(-1)!.offset + 1;
      }
      const expectedCount = Array.from({ length: requests }, (_, i) => i).filter((i) => i % 2 === partition).reduce((n, i) => n + 50 + (i % 5) * 20, 0);
      expect(got.length).toBe(expectedCount);
      for (const r of got) {
        const [i, j] = r.key.slice(1).split('-').map(Number) as [number, number];
        expect(r.value.equals(valueFor(i, j))).toBe(true);
      }
    }
    await client.close();
  });
});
