/** Group admin calls and GroupConsumer against a real Tributary node started in this process. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@tributary/common';
import { startNode, type RunningNode } from '@tributary/server';
import { KafkaClient, type ClientOptions } from '@tributary/client';
import { GroupConsumer, type ConsumedBatch } from '@tributary/client';

let node: RunningNode;
let dir: string;
let client: KafkaClient;
let clientOptions: ClientOptions;
const consumers: GroupConsumer[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'trib-client-groups-'));
  node = await startNode({
    overrides: { listeners: 'PLAINTEXT://127.0.0.1:0', 'log.dirs': dir, 'group.initial.rebalance.delay.ms': '0' },
    logger: silentLogger,
  });
  clientOptions = { bootstrapServers: `${node.host}:${node.port}`, clientId: 'groups-test' };
  client = new KafkaClient(clientOptions);
}, 60_000);

afterAll(async () => {
  await Promise.all(consumers.map((c) => c.close()));
  await client?.close();
  await node?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function consumer(groupId: string, topics: string[], extra: { autoOffsetReset?: 'earliest' | 'latest' } = {}): GroupConsumer {
  // Fast heartbeats so a member notices a rebalance quickly; the session stays at the broker's minimum range.
  const c = new GroupConsumer({ ...clientOptions, clientId: `member-${consumers.length}` }, { groupId, topics, sessionTimeoutMs: 6000, heartbeatIntervalMs: 200, ...extra });
  consumers.push(c);
  return c;
}

async function produceSpread(topic: string, partitions: number, perPartition: number, tag: string): Promise<string[]> {
  const values: string[] = [];
  for (let p = 0; p < partitions; p++) {
    const batch = Array.from({ length: perPartition }, (_, i) => `${tag}-${p}-${i}`);
    await client.produce(topic, p, batch.map((value) => ({ value })));
    values.push(...batch);
  }
  return values;
}

const values = (batches: ConsumedBatch[]): string[] => batches.flatMap((b) => b.records.map((r) => r.value?.toString() ?? 'null'));

describe('group admin calls', () => {
  it('finds the coordinator', async () => {
    const c = await client.findCoordinator('any-group');
    expect(c).toMatchObject({ nodeId: node.nodeId, port: node.port });
  });

  it('commits as no member, fetches, lists, describes, deletes offsets and deletes the group', async () => {
    await client.createTopics([{ name: 'admin-t', numPartitions: 3 }]);
    await client.offsetCommit('admin-g', [
      { topic: 'admin-t', partition: 0, offset: 5, metadata: 'note' },
      { topic: 'admin-t', partition: 2, offset: 7 },
    ]);
    expect(await client.offsetFetch('admin-g')).toEqual([
      { topic: 'admin-t', partition: 0, offset: 5, leaderEpoch: -1, metadata: 'note' },
      { topic: 'admin-t', partition: 2, offset: 7, leaderEpoch: -1, metadata: '' },
    ]);
    // By topic name: every partition, -1 where nothing is committed.
    expect((await client.offsetFetch('admin-g', ['admin-t'])).map((o) => [o.partition, o.offset])).toEqual([
      [0, 5],
      [1, -1],
      [2, 7],
    ]);
    expect((await client.offsetFetch('admin-g', [{ topic: 'admin-t', partitions: [2] }])).map((o) => o.offset)).toEqual([7]);

    expect(await client.listGroups()).toContainEqual({ groupId: 'admin-g', protocolType: '', state: 'Empty' });
    expect((await client.listGroups({ states: ['Stable'] })).map((g) => g.groupId)).not.toContain('admin-g');
    expect((await client.listGroups({ states: ['empty'] })).map((g) => g.groupId)).toContain('admin-g');

    const [described] = await client.describeGroups(['admin-g']);
    expect(described).toMatchObject({ groupId: 'admin-g', state: 'Empty', members: [], coordinator: { nodeId: node.nodeId } });

    const deleted = await client.offsetDelete('admin-g', [{ topic: 'admin-t', partitions: [0] }]);
    expect(deleted).toEqual([{ topic: 'admin-t', partition: 0, error: null }]);
    expect((await client.offsetFetch('admin-g')).map((o) => o.partition)).toEqual([2]);

    expect(await client.deleteGroups(['admin-g'])).toEqual([{ groupId: 'admin-g', error: null }]);
    expect(await client.offsetFetch('admin-g')).toEqual([]);
    const [gone] = await client.describeGroups(['admin-g']);
    expect(gone).toMatchObject({ state: 'Dead', members: [] });
    const [again] = await client.deleteGroups(['admin-g']);
    expect(again!.error).toMatchObject({ name: 'GROUP_ID_NOT_FOUND', code: 69 });
    expect(again!.error!.message).toMatch(/^GROUP_ID_NOT_FOUND: group admin-g does not exist/);
  });

  it('refuses a commit for a topic that does not exist with its error name', async () => {
    await expect(client.offsetCommit('admin-missing', [{ topic: 'no-such-topic', partition: 0, offset: 1 }])).rejects.toMatchObject({ name: 'UNKNOWN_TOPIC_OR_PARTITION' });
    await expect(client.offsetFetch('admin-missing', ['no-such-topic'])).rejects.toMatchObject({ name: 'UNKNOWN_TOPIC_OR_PARTITION' });
  });
});

describe('GroupConsumer', () => {
  it('starts at auto.offset.reset, commits, and a new member resumes after the committed offsets', async () => {
    await client.createTopics([{ name: 'resume-t', numPartitions: 2 }]);
    const first = await produceSpread('resume-t', 2, 3, 'a');

    const latest = consumer('resume-latest', ['resume-t']);
    expect(values(await latest.poll({ maxWaitMs: 100 }))).toEqual([]);
    expect(latest.positions().map((p) => p.offset)).toEqual([3, 3]);
    await latest.close();

    const c1 = consumer('resume-g', ['resume-t'], { autoOffsetReset: 'earliest' });
    const got: string[] = [];
    for (let i = 0; i < 50 && got.length < first.length; i++) got.push(...values(await c1.poll({ maxWaitMs: 100 })));
    expect(got.sort()).toEqual([...first].sort());
    expect(c1.isLeader).toBe(true);
    expect(c1.protocol).toBe('range');
    expect(c1.assignment()).toEqual([{ topic: 'resume-t', partitions: [0, 1] }]);

    // While it is a member, describe shows it with its decoded subscription and assignment.
    const [active] = await client.describeGroups(['resume-g']);
    expect(active).toMatchObject({ state: 'Stable', protocolType: 'consumer', protocol: 'range' });
    expect(active!.members).toEqual([
      expect.objectContaining({
        memberId: c1.memberId,
        clientId: 'member-1',
        subscription: expect.objectContaining({ topics: ['resume-t'] }),
        assignment: expect.objectContaining({ assignedPartitions: [{ topic: 'resume-t', partitions: [0, 1] }] }),
      }),
    ]);
    // An active group accepts no commits from outside and cannot be deleted.
    await expect(client.offsetCommit('resume-g', [{ topic: 'resume-t', partition: 0, offset: 0 }])).rejects.toMatchObject({ name: 'UNKNOWN_MEMBER_ID' });
    const [refused] = await client.deleteGroups(['resume-g']);
    expect(refused!.error).toMatchObject({ name: 'NON_EMPTY_GROUP' });

    expect(await c1.commit()).toBe(true);
    await c1.close();
    expect((await client.offsetFetch('resume-g')).map((o) => o.offset)).toEqual([3, 3]);
    const [left] = await client.describeGroups(['resume-g']);
    expect(left).toMatchObject({ state: 'Empty', members: [] });

    const second = await produceSpread('resume-t', 2, 2, 'b');
    const c2 = consumer('resume-g', ['resume-t'], { autoOffsetReset: 'earliest' });
    const got2: string[] = [];
    for (let i = 0; i < 50 && got2.length < second.length; i++) got2.push(...values(await c2.poll({ maxWaitMs: 100 })));
    expect(got2.sort()).toEqual([...second].sort());
    await c2.close();
  }, 60_000);

  it('two members split a 4-partition topic and together read every record exactly once', async () => {
    await client.createTopics([{ name: 'split-t', numPartitions: 4 }]);
    const before = await produceSpread('split-t', 4, 5, 'pre');
    const a = consumer('split-g', ['split-t'], { autoOffsetReset: 'earliest' });
    const b = consumer('split-g', ['split-t'], { autoOffsetReset: 'earliest' });
    const seen = new Map<GroupConsumer, { partition: number; value: string }[]>([
      [a, []],
      [b, []],
    ]);
    // Each member polls, records what it got, and commits after "processing", as an application would.
    const step = async (c: GroupConsumer): Promise<void> => {
      const batches = await c.poll({ maxWaitMs: 100 });
      for (const batch of batches) for (const r of batch.records) seen.get(c)!.push({ partition: batch.partition, value: r.value!.toString() });
      if (batches.length > 0) await c.commit();
    };
    const owned = (c: GroupConsumer): number[] => c.assignment().flatMap((tp) => tp.partitions);
    const total = (): number => seen.get(a)!.length + seen.get(b)!.length;

    // a alone: the whole topic is its.
    for (let i = 0; i < 50 && total() < before.length; i++) await step(a);
    expect(owned(a)).toEqual([0, 1, 2, 3]);
    const firstGeneration = a.generationId;

    // b joins while records keep arriving: a rebalance hands two partitions to each. Each member runs
    // its own loop, since a member parked in JoinGroup must not stop the other from polling.
    const run = async (members: GroupConsumer[], until: () => boolean): Promise<void> => {
      await Promise.all(
        members.map(async (c) => {
          for (let i = 0; i < 300 && !until(); i++) await step(c);
        }),
      );
    };
    const settled = (): boolean => owned(a).length === 2 && owned(b).length === 2 && a.generationId === b.generationId;
    const during: string[] = [];
    await Promise.all([
      run([a, b], () => settled() && total() >= before.length + during.length && during.length > 0),
      (async () => {
        for (let round = 0; round < 5; round++) {
          during.push(...(await produceSpread('split-t', 4, 2, `mid${round}`)));
          await new Promise((r) => setTimeout(r, 50));
        }
      })(),
    ]);
    expect(settled()).toBe(true);
    expect(a.generationId).toBeGreaterThan(firstGeneration);
    expect([...owned(a), ...owned(b)].sort()).toEqual([0, 1, 2, 3]);

    // Once settled, new records go to the owner of their partition only.
    const after = await produceSpread('split-t', 4, 3, 'post');
    await run([a, b], () => total() >= before.length + during.length + after.length);
    const all = [...seen.get(a)!, ...seen.get(b)!].map((r) => r.value);
    expect(all.sort()).toEqual([...before, ...during, ...after].sort()); // every record, none twice
    for (const c of [a, b]) {
      const post = seen.get(c)!.filter((r) => r.value.startsWith('post'));
      expect(post.length).toBe(6);
      expect(post.every((r) => owned(c).includes(r.partition))).toBe(true);
    }
    await a.close();
    await b.close();
    expect((await client.offsetFetch('split-g')).map((o) => o.offset)).toEqual([18, 18, 18, 18]);
  }, 120_000);
});
