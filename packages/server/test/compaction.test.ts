// The broker runs the log cleaner on compacted topics: a keyed topic with many updates compacts to
// the latest value per key, and tombstones disappear after delete.retention.ms.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { KafkaClient, type FetchedRecord } from '@tributary/client';
import { silentLogger } from '@tributary/common';
import { startNode, type RunningNode } from '../src/node.ts';

let dir: string;
let node: RunningNode;
let client: KafkaClient;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'trib-compaction-'));
  node = await startNode({ overrides: { listeners: 'PLAINTEXT://127.0.0.1:0', 'log.dirs': dir, 'offsets.topic.num.partitions': '1', 'log.cleaner.backoff.ms': '50' }, logger: silentLogger });
  client = new KafkaClient({ bootstrapServers: `127.0.0.1:${node.port}` });
  await client.connect();
});

afterAll(async () => {
  await client?.close();
  await node?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function readAll(topic: string): Promise<FetchedRecord[]> {
  const out: FetchedRecord[] = [];
  let offset = 0;
  const end = (await client.listOffsets(topic, 0, -1)).offset;
  for (let i = 0; i < 1000 && offset < end; i++) {
    const res = await client.fetch(topic, 0, offset, { maxWaitMs: 0, maxBytes: 1 << 20 });
    const fresh = res.records.filter((r) => r.offset >= offset);
    if (fresh.length === 0) break;
    out.push(...fresh);
    offset = fresh.at(-1)!.offset + 1;
  }
  return out;
}

async function waitFor(what: string, check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

it('compacts a keyed topic to the latest value per key and drops tombstones after delete.retention.ms', async () => {
  const topic = 'compacted-updates';
  await client.createTopics([{
    name: topic, numPartitions: 1, replicationFactor: 1,
    configs: { 'cleanup.policy': 'compact', 'segment.bytes': '2048', 'min.cleanable.dirty.ratio': '0.01', 'delete.retention.ms': '200' },
  }]);
  const keys = 40;
  const rounds = 15;
  const latest = new Map<string, string>();
  for (let round = 0; round < rounds; round++) {
    const batch = Array.from({ length: keys }, (_, k) => ({ key: `key-${k}`, value: `value-${k}-${round}` }));
    for (const r of batch) latest.set(r.key, r.value);
    await client.produce(topic, 0, batch, { acks: 1 });
  }
  const producedCount = keys * rounds;
  await waitFor('the cleaner to remove superseded records', async () => (await readAll(topic)).length < producedCount / 3);

  const records = await readAll(topic);
  const seen = new Map<string, string>();
  for (const r of records) seen.set(r.key!.toString(), r.value!.toString());
  expect(seen).toEqual(latest);
  // Offsets keep their identity: ascending, with gaps where records were removed.
  for (let i = 1; i < records.length; i++) expect(records[i]!.offset).toBeGreaterThan(records[i - 1]!.offset);

  // A tombstone for key-0, then enough updates of other keys to roll its segment out of the active one.
  await client.produce(topic, 0, [{ key: 'key-0', value: null }], { acks: 1 });
  for (let round = 0; round < 3; round++) {
    await client.produce(topic, 0, Array.from({ length: keys - 1 }, (_, k) => ({ key: `key-${k + 1}`, value: `late-${round}` })), { acks: 1 });
  }
  await waitFor('the tombstone and every key-0 record to disappear', async () => !(await readAll(topic)).some((r) => r.key!.toString() === 'key-0'));
  const after = await readAll(topic);
  const values = new Map(after.map((r) => [r.key!.toString(), r.value?.toString() ?? null]));
  expect(values.has('key-0')).toBe(false);
  expect(values.get('key-5')).toBe('late-2');
});
