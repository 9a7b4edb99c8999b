// A cluster of processes: 3 dedicated controllers (ids 1-3, the quorum) and 3 brokers (ids 4-6) on loopback.
// Real clients (kcat, trib) see three brokers; a topic with 6 partitions and replication factor 3 has every
// replica assigned and its leaders spread; admin requests sent to any broker reach the active controller;
// kill -9 of the active controller, then of a broker (fenced after the session timeout, leaderships move,
// it rejoins unfenced after a restart); then replication: a paused follower leaves the ISR and rejoins it, and with
// two of three replicas down acks=all is refused with NOT_ENOUGH_REPLICAS while nothing acknowledged is lost.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KafkaClient, KafkaConnection, OffsetSpec } from '@tributary/client';
import { ApiKey } from '@tributary/protocol';
import { runOk, run } from '../support/kcat.ts';
import { startSplitCluster, TributaryNode, tribBin } from '../support/node.ts';
import { waitFor } from '../support/wait.ts';

const SESSION_TIMEOUT_MS = 3000;
const controllers: TributaryNode[] = [];
const brokers: TributaryNode[] = [];
let bootstrap = '';
let client: KafkaClient;

function nodeById(id: number): TributaryNode {
  return id <= 3 ? controllers[id - 1]! : brokers[id - 4]!;
}

/** Metadata from a fresh connection to one broker (no client-side caching in the way). */
async function metadataFrom(node: TributaryNode, topics: string[] | null): Promise<any> {
  const conn = await KafkaConnection.connect({ host: node.host, port: node.port, clientId: 'cluster-e2e' });
  try {
    return await conn.request(ApiKey.Metadata, 12, { topics: topics === null ? null : topics.map((name) => ({ name, topicId: 'AAAAAAAAAAAAAAAAAAAAAA' })), allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
  } finally {
    await conn.close();
  }
}

async function trib(args: string[]): Promise<string> {
  const r = await runOk(process.execPath, [tribBin, ...args, '--bootstrap-server', bootstrap]);
  return r.stdout.toString('utf8');
}

beforeAll(async () => {
  const started = await startSplitCluster(3, [4, 5, 6].map((id) => ({ id, overrides: { 'broker.rack': `rack-${id % 2}` } })), {
    'broker.session.timeout.ms': String(SESSION_TIMEOUT_MS),
    'broker.heartbeat.interval.ms': '500',
    'replica.lag.time.max.ms': '1500',
    'offsets.topic.replication.factor': '3',
    'offsets.topic.num.partitions': '6',
  });
  controllers.push(...started.controllers);
  brokers.push(...started.brokers);
  bootstrap = brokers.map((b) => b.bootstrap).join(',');
  client = new KafkaClient({ bootstrapServers: bootstrap, requestTimeoutMs: 15_000 });
  await client.connect();
}, 120_000);

afterAll(async () => {
  await client?.close();
  await Promise.all([...brokers, ...controllers].map((n) => n.dispose()));
});

describe('3 controllers + 3 brokers as processes', () => {
  it('kcat -L lists the three brokers, and DescribeCluster names the cluster and a broker as controller', async () => {
    const out = (await runOk('kcat', ['-L', '-b', bootstrap, '-m', '15'])).stdout.toString('utf8');
    expect(out).toMatch(/ 3 brokers:/);
    for (const b of brokers) expect(out).toContain(`at 127.0.0.1:${b.port}`);
    const cluster = await client.describeCluster();
    expect(cluster.brokers.map((b) => b.nodeId).sort()).toEqual([4, 5, 6]);
    expect([4, 5, 6]).toContain(cluster.controllerId);
    expect(cluster.clusterId.length).toBeGreaterThan(0);
  });

  it('places 6 partitions x 3 replicas across the brokers with leaders spread; trib shows replicas, ISR and leader', async () => {
    await trib(['topic', 'create', 'orders', '--partitions', '6', '--replication-factor', '3']);
    // Every broker serves the same committed metadata.
    for (const b of brokers) {
      const md = await waitFor('orders on every broker', async () => (await metadataFrom(b, ['orders'])).topics.find((t: any) => t.name === 'orders' && t.errorCode === 0));
      expect(md.partitions).toHaveLength(6);
      for (const p of md.partitions) {
        expect([...p.replicaNodes].sort()).toEqual([4, 5, 6]);
        expect([...p.isrNodes].sort()).toEqual([4, 5, 6]);
        expect(p.replicaNodes).toContain(p.leaderId);
      }
      const leaders = new Map<number, number>();
      for (const p of md.partitions) leaders.set(p.leaderId, (leaders.get(p.leaderId) ?? 0) + 1);
      expect([...leaders.entries()].sort()).toEqual([[4, 2], [5, 2], [6, 2]]);
    }
    const described = await trib(['topic', 'describe', 'orders']);
    expect(described).toMatch(/replicas/i);
    expect(described).toMatch(/isr/i);
    // One row per partition: its leader, then the replica list and the ISR (each a permutation of 4,5,6).
    const rows = described.split('\n').filter((l) => /^\s*\d+\s/.test(l) && (l.match(/\b[456], ?[456], ?[456]\b/g)?.length ?? 0) === 2);
    expect(rows).toHaveLength(6);
  });

  it('produces to and consumes from leaders on all three brokers with kcat', async () => {
    const lines = Array.from({ length: 600 }, (_, i) => `key-${i}\tvalue-${i}`).join('\n') + '\n';
    await runOk('kcat', ['-P', '-b', bootstrap, '-t', 'orders', '-K', '\t'], { input: lines });
    const out = (await runOk('kcat', ['-C', '-b', bootstrap, '-t', 'orders', '-o', 'beginning', '-e', '-f', '%k=%s\n'])).stdout.toString('utf8');
    const got = out.split('\n').filter(Boolean).sort();
    expect(got).toHaveLength(600);
    expect(new Set(got).size).toBe(600);
  });

  it('refuses bad admin requests with Kafka error codes and messages', async () => {
    const conn = await KafkaConnection.connect({ host: brokers[0]!.host, port: brokers[0]!.port, clientId: 'bad-admin' });
    try {
      const create = async (topics: object[]): Promise<any[]> => ((await conn.request(ApiKey.CreateTopics, 5, { topics, timeoutMs: 10_000, validateOnly: false })) as any).topics;
      const [rf] = await create([{ name: 'too-wide', numPartitions: 1, replicationFactor: 4, assignments: [], configs: [] }]);
      expect(rf).toMatchObject({ errorCode: 38 });
      expect(rf.errorMessage).toMatch(/replication factor/i);
      const [unknownBroker] = await create([{ name: 'bad-assign', numPartitions: -1, replicationFactor: -1, assignments: [{ partitionIndex: 0, brokerIds: [4, 99] }], configs: [] }]);
      expect(unknownBroker.errorCode).toBe(39);
      const [twice] = await create([{ name: 'bad-assign2', numPartitions: -1, replicationFactor: -1, assignments: [{ partitionIndex: 0, brokerIds: [4, 4] }], configs: [] }]);
      expect(twice.errorCode).toBe(39);
      const [exists] = await create([{ name: 'orders', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }]);
      expect(exists.errorCode).toBe(36);
      const dup = await create([
        { name: 'dup', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] },
        { name: 'dup', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] },
      ]);
      expect(dup.map((t) => t.errorCode)).toEqual([42, 42]);
      const [unknownConfig] = await create([{ name: 'cfg1', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [{ name: 'retention.msx', value: '1' }] }]);
      expect(unknownConfig.errorCode).toBe(40);
      expect(unknownConfig.errorMessage).toContain('retention.msx');
      const [badValue] = await create([{ name: 'cfg2', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [{ name: 'retention.ms', value: 'soon' }] }]);
      expect(badValue.errorCode).toBe(40);
      expect(badValue.errorMessage).toContain('retention.ms');
      const md = await metadataFrom(brokers[1]!, null);
      expect(md.topics.map((t: any) => t.name)).not.toEqual(expect.arrayContaining(['too-wide', 'bad-assign', 'dup', 'cfg1', 'cfg2']));
    } finally {
      await conn.close();
    }
  });

  it('survives kill -9 of the active controller: another takes over, topic creation works, no metadata lost', async () => {
    const before = await client.describeQuorum();
    const killed = before.leaderId;
    expect([1, 2, 3]).toContain(killed);
    const ordersBefore = (await metadataFrom(brokers[0]!, ['orders'])).topics[0].topicId;
    const t0 = Date.now();
    await nodeById(killed).kill('SIGKILL');
    const after = await waitFor('a new active controller', async () => {
      const q = await client.describeQuorum();
      return q.leaderId >= 0 && q.leaderId !== killed && q.leaderEpoch > before.leaderEpoch ? q : null;
    });
    const failoverMs = Date.now() - t0;
    console.log(`controller failover: ${killed} -> ${after.leaderId} (epoch ${before.leaderEpoch} -> ${after.leaderEpoch}) in ${failoverMs} ms`);
    await client.createTopics([{ name: 'after-failover', numPartitions: 3, replicationFactor: 3 }]);
    // The broker that forwarded CreateTopics answers once it has applied the topic; the others learn it from the
    // metadata log a moment later. While they do, an existing topic must never go missing from any of them.
    const t1 = Date.now();
    const ordersSeen: unknown[] = [];
    for (const b of brokers) {
      const md = await waitFor(`after-failover on broker ${b.bootstrap}`, async () => {
        const m = await metadataFrom(b, ['orders', 'after-failover']);
        ordersSeen.push([m.topics[0].name, m.topics[0].errorCode, m.topics[0].partitions.length, m.topics[0].topicId]);
        return m.topics[1].errorCode === 0 ? m : null;
      }, 15_000);
      expect(md.topics.map((t: any) => [t.name, t.errorCode, t.partitions.length])).toEqual([['orders', 0, 6], ['after-failover', 0, 3]]);
    }
    console.log(`after-failover visible on every broker ${Date.now() - t1} ms after CreateTopics answered`);
    expect(new Set(ordersSeen.map((o) => JSON.stringify(o)))).toEqual(new Set([JSON.stringify(['orders', 0, 6, ordersBefore])]));
    await nodeById(killed).restart();
    const status = await waitFor('the restarted controller to catch up', async () => {
      const q = await client.describeQuorum();
      const v = q.voters.find((r) => r.replicaId === killed);
      return v && v.logEndOffset >= q.highWatermark ? q : null;
    });
    expect(status.voters.map((v) => v.replicaId).sort()).toEqual([1, 2, 3]);
    const quorum = await trib(['quorum', 'status']);
    expect(quorum).toMatch(/leader/i);
  });

  it('fences a killed broker after the session timeout and moves its leaderships; a restart unfences it', async () => {
    const victim = 5;
    const t0 = Date.now();
    await nodeById(victim).kill('SIGKILL');
    const md = await waitFor('broker 5 fenced and its leaderships moved', async () => {
      const m = await metadataFrom(brokers[0]!, ['orders']);
      const gone = !m.brokers.some((b: any) => b.nodeId === victim);
      const parts = m.topics[0].partitions as any[];
      const moved = parts.every((p) => p.leaderId >= 0 && p.leaderId !== victim && !p.isrNodes.includes(victim));
      return gone && moved ? m : null;
    });
    const fencedMs = Date.now() - t0;
    console.log(`broker ${victim} fenced and leaderships moved after ${fencedMs} ms (session timeout ${SESSION_TIMEOUT_MS} ms)`);
    expect(fencedMs).toBeGreaterThanOrEqual(SESSION_TIMEOUT_MS - 1000);
    for (const p of md.topics[0].partitions) {
      expect(p.replicaNodes).toContain(victim);
      expect(p.offlineReplicas).toContain(victim);
      expect([4, 6]).toContain(p.leaderId);
    }
    await nodeById(victim).restart();
    await waitFor('broker 5 back and unfenced', async () => {
      const m = await metadataFrom(brokers[2]!, ['orders']);
      return m.brokers.some((b: any) => b.nodeId === victim) ? m : null;
    });
    // Clients reach it again: kcat sees three brokers.
    const out = (await run('kcat', ['-L', '-b', bootstrap, '-m', '15'])).stdout.toString('utf8');
    expect(out).toMatch(/ 3 brokers:/);
  });
  it('shrinks the ISR of a paused follower (acks=all waits for it) and expands it when the follower resumes', async () => {
    await trib(['topic', 'create', 'isr', '--partitions', '1', '--replication-factor', '3', '--config', 'min.insync.replicas=2']);
    const p0 = await waitFor('isr-0 fully in sync', async () => {
      const p = (await metadataFrom(brokers[0]!, ['isr'])).topics[0]?.partitions[0];
      return p && p.leaderId > 0 && p.isrNodes.length === 3 ? p : null;
    });
    const follower = (p0.replicaNodes as number[]).find((id) => id !== p0.leaderId)!;
    const values = Array.from({ length: 50 }, (_, i) => ({ key: `k${i}`, value: `v${i}` }));
    await client.produce('isr', 0, values.slice(0, 25), { acks: -1 });
    nodeById(follower).pause();
    try {
      // Answered once the leader dropped the silent follower from the ISR (replica.lag.time.max.ms 1.5 s): the rest of
      // the ISR (2 = min.insync.replicas) has the records.
      const t0 = Date.now();
      await client.produce('isr', 0, values.slice(25), { acks: -1, timeoutMs: 20_000 });
      console.log(`acks=all with a paused follower answered after ${Date.now() - t0} ms (ISR shrink)`);
      const shrunk = (await metadataFrom(brokers.find((b) => b !== nodeById(follower))!, ['isr'])).topics[0].partitions[0];
      expect(shrunk.isrNodes).not.toContain(follower);
      expect(shrunk.isrNodes).toHaveLength(2);
      const described = await trib(['topic', 'describe', 'isr', '--under-replicated']);
      expect(described).toMatch(/isr/);
    } finally {
      nodeById(follower).resume();
    }
    await waitFor('the follower back in the ISR', async () => (await metadataFrom(brokers[0]!, ['isr'])).topics[0]?.partitions[0]?.isrNodes.length === 3);
    expect(await trib(['topic', 'describe', '--under-replicated'])).not.toMatch(/^\s*isr\b/m);
    const fetched = await client.fetch('isr', 0, 0, { maxWaitMs: 1000 });
    expect(fetched.records.map((r) => r.value?.toString())).toEqual(values.map((v) => v.value));
  });

  it('refuses acks=all with NOT_ENOUGH_REPLICAS when two of three replicas are down; nothing acknowledged is lost', async () => {
    await trib(['topic', 'create', 'quorum', '--partitions', '1', '--replication-factor', '3', '--config', 'min.insync.replicas=2']);
    const p0 = await waitFor('quorum-0 fully in sync', async () => {
      const p = (await metadataFrom(brokers[0]!, ['quorum'])).topics[0]?.partitions[0];
      return p && p.leaderId > 0 && p.isrNodes.length === 3 ? p : null;
    });
    const acked: string[] = [];
    for (let i = 0; i < 20; i++) {
      await client.produce('quorum', 0, [{ value: `before-${i}` }], { acks: -1 });
      acked.push(`before-${i}`);
    }
    const followers = (p0.replicaNodes as number[]).filter((id) => id !== p0.leaderId);
    for (const id of followers) await nodeById(id).kill('SIGKILL');
    const leader = nodeById(p0.leaderId);
    await waitFor('the ISR down to the leader', async () => (await metadataFrom(leader, ['quorum'])).topics[0]?.partitions[0]?.isrNodes.length === 1);
    const err = await client.produce('quorum', 0, [{ value: 'refused' }], { acks: -1, timeoutMs: 5000 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'NOT_ENOUGH_REPLICAS' });
    for (const id of followers) await nodeById(id).restart();
    await waitFor('three in-sync replicas again', async () => (await metadataFrom(leader, ['quorum'])).topics[0]?.partitions[0]?.isrNodes.length === 3, 60_000);
    const end = (await client.listOffsets('quorum', 0, OffsetSpec.Latest)).offset;
    expect(end).toBe(acked.length);
    const fetched = await client.fetch('quorum', 0, 0, { maxWaitMs: 1000 });
    expect(fetched.records.map((r) => r.value?.toString())).toEqual(acked);
  });
  it('reassigns a partition with data to other brokers while a producer writes; every record is kept', async () => {
    const conn = await KafkaConnection.connect({ host: brokers[0]!.host, port: brokers[0]!.port, clientId: 'reassign' });
    try {
      const created: any = await conn.request(ApiKey.CreateTopics, 5, { topics: [{ name: 'moving', numPartitions: -1, replicationFactor: -1, assignments: [{ partitionIndex: 0, brokerIds: [4] }], configs: [] }], timeoutMs: 10_000, validateOnly: false });
      expect(created.topics[0].errorCode).toBe(0);
    } finally {
      await conn.close();
    }
    const sent: string[] = [];
    for (let i = 0; i < 2000; i += 100) {
      const batch = Array.from({ length: 100 }, (_, j) => `m${i + j}`);
      await client.produce('moving', 0, batch.map((value) => ({ value })), { acks: -1 });
      sent.push(...batch);
    }
    let writing = true;
    const writer = (async () => {
      for (let i = 2000; writing && i < 1_000_000; i += 10) {
        const batch = Array.from({ length: 10 }, (_, j) => `m${i + j}`);
        try {
          await client.produce('moving', 0, batch.map((value) => ({ value })), { acks: -1 });
          sent.push(...batch);
        } catch {
          // not acknowledged: not counted
        }
      }
    })();
    const plan = join(mkdtempSync(join(tmpdir(), 'trib-plan-')), 'plan.json');
    writeFileSync(plan, JSON.stringify({ version: 1, partitions: [{ topic: 'moving', partition: 0, replicas: [5, 6] }] }));
    try {
      expect(await trib(['partition', 'reassign', '--execute', '--plan', plan])).toMatch(/Successfully started partition reassignment for moving-0/);
      const verified = await trib(['partition', 'reassign', '--verify', '--wait', '--plan', plan, '--interval-ms', '200', '--timeout-ms', '60000']);
      expect(verified).toMatch(/moving-0 is complete/);
      expect(verified).toMatch(/1\/1 partitions complete/);
    } finally {
      writing = false;
      await writer;
    }
    const p = (await metadataFrom(brokers[0]!, ['moving'])).topics[0].partitions[0];
    expect([...p.replicaNodes].sort()).toEqual([5, 6]);
    expect([...p.isrNodes].sort()).toEqual([5, 6]);
    const out = (await runOk('kcat', ['-C', '-b', bootstrap, '-t', 'moving', '-o', 'beginning', '-e', '-q', '-f', '%s\n'])).stdout.toString('utf8').split('\n').filter(Boolean);
    // The writer is not idempotent (at least once): a write retried across the leader change may be stored twice.
    console.log(`reassignment under writes: ${sent.length} acknowledged, ${out.length} read back (${out.length - new Set(out).size} duplicates of retried non-idempotent writes)`);
    const read = new Set(out);
    expect(sent.filter((v) => !read.has(v))).toEqual([]);
  });
});
