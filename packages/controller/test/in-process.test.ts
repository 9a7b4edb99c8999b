/**
 * A single-voter controller in this process (the combined broker+controller shape): brokers talk to it through
 * ControllerClient.inProcess (no network), and the same node is also reached over gRPC to check the wire.
 */
import { imagesEqual, NO_LEADER } from '@tributary/metadata';
import { jsonLogger } from '@tributary/quorum';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ControllerClient, GrpcControllerConnection } from '../src/client.ts';
import { ControllerError, ErrorCode } from '../src/errors.ts';
import { MetadataFollower } from '../src/follower.ts';
import { ControllerNode } from '../src/node.ts';
import type { ControllerSettings } from '../src/quorum-controller.ts';
import { freePort, SimBroker, waitFor } from './helpers.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function startSingle(settings: ControllerSettings = {}): Promise<ControllerNode> {
  const dir = mkdtempSync(join(tmpdir(), 'trib-controller-'));
  const port = await freePort();
  const node = await ControllerNode.start({
    nodeId: 1,
    voters: new Map([[1, `127.0.0.1:${port}`]]),
    listen: `127.0.0.1:${port}`,
    dataDir: dir,
    settings: { brokerSessionTimeoutMs: 2000, ...settings },
    verifyImages: true,
    logger: jsonLogger('warn'),
    onFatal: (err) => {
      throw err;
    },
  });
  cleanups.push(async () => {
    await node.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  await waitFor('the controller to become active', 10_000, () => node.controller.isActive);
  return node;
}

describe('a single-voter controller in process', () => {
  it('registers brokers, unfences them once caught up, creates topics, and followers see the same image', async () => {
    const node = await startSingle();
    const client = ControllerClient.inProcess(node.controller);
    cleanups.push(() => client.close());
    const brokers = [1, 2, 3].map((id) => new SimBroker(client, id).start());
    cleanups.push(async () => {
      for (const b of brokers) await b.stop();
    });
    await waitFor('3 unfenced brokers', 10_000, () => brokers.every((b) => b.lifecycle.state === 'unfenced'));

    const created = await client.createTopics({ topics: [{ name: 'orders', numPartitions: 6, replicationFactor: 3, assignments: [], configs: [] }], validateOnly: false });
    expect(created.topics[0]).toMatchObject({ name: 'orders', errorCode: 0, numPartitions: 6, replicationFactor: 3 });
    const topic = node.controller.committedImage.topic('orders')!;
    expect(topic.partitions).toHaveLength(6);
    const leaders = new Map<number, number>();
    for (const p of topic.partitions) {
      expect([...p.replicas].sort()).toEqual([1, 2, 3]);
      expect(p.leader).not.toBe(NO_LEADER);
      leaders.set(p.leader, (leaders.get(p.leader) ?? 0) + 1);
    }
    expect([...leaders.values()]).toEqual([2, 2, 2]);

    const end = node.controller.appliedOffset;
    await Promise.all(brokers.map((b) => b.follower.waitForOffset(end - 1, 5000)));
    for (const b of brokers) expect(imagesEqual(b.follower.image, node.controller.committedImage)).toBe(true);

    // Producer ids come in blocks from the image's counter.
    const epoch = brokers[0]!.lifecycle.brokerEpoch;
    const a = await client.allocateProducerIds({ brokerId: 1, brokerEpoch: epoch });
    const b = await client.allocateProducerIds({ brokerId: 1, brokerEpoch: epoch });
    expect(a).toMatchObject({ errorCode: 0, producerIdStart: 0, producerIdLen: 1000 });
    expect(b.producerIdStart).toBe(1000);
    expect((await client.allocateProducerIds({ brokerId: 1, brokerEpoch: epoch + 100 })).errorCode).toBe(ErrorCode.STALE_BROKER_EPOCH);
  });

  it('auto.leader.rebalance: a broker back from a fence gets its preferred leaderships back once it is in the ISR again', async () => {
    const intervalMs = 300;
    const node = await startSingle({ leaderImbalanceCheckIntervalMs: intervalMs });
    const client = ControllerClient.inProcess(node.controller);
    cleanups.push(() => client.close());
    const brokers = [1, 2, 3].map((id) => new SimBroker(client, id).start());
    cleanups.push(async () => {
      for (const b of brokers) await b.stop();
    });
    await waitFor('3 unfenced brokers', 10_000, () => brokers.every((b) => b.lifecycle.state === 'unfenced'));
    await client.createTopics({ topics: [{ name: 'orders', numPartitions: 6, replicationFactor: 3, assignments: [], configs: [] }], validateOnly: false });
    const partitions = () => node.controller.committedImage.topic('orders')!.partitions;
    const ledBy = (id: number) => partitions().filter((p) => p.leader === id).length;
    expect(ledBy(2)).toBe(2);

    const b2 = brokers[1]!;
    b2.lifecycle.setWantFence(true);
    await waitFor('broker 2 fenced, out of every ISR', 5000, () => node.controller.committedImage.broker(2)!.fenced && partitions().every((p) => !p.isr.includes(2)));
    expect(ledBy(2)).toBe(0);
    b2.lifecycle.setWantFence(false);
    await waitFor('broker 2 unfenced', 5000, () => !node.controller.committedImage.broker(2)!.fenced);
    // Checks run meanwhile, but broker 2 is in no ISR: nothing may move to it.
    await new Promise((r) => setTimeout(r, 2 * intervalMs));
    expect(ledBy(2)).toBe(0);

    // The leaders take broker 2 back into their ISRs (what follower catch-up does).
    const epochOf = (id: number) => node.controller.committedImage.broker(id)!.brokerEpoch;
    const startedMs = Date.now();
    for (const p of partitions()) {
      const r = await client.alterPartition({
        brokerId: p.leader,
        brokerEpoch: epochOf(p.leader),
        topics: [{ topicId: p.topicId, partitions: [{ partitionIndex: p.partitionId, leaderEpoch: p.leaderEpoch, partitionEpoch: p.partitionEpoch, newIsrWithEpochs: [...p.isr, 2].map((id) => ({ brokerId: id, brokerEpoch: epochOf(id) })) }] }],
      });
      expect(r.topics[0]!.partitions[0]!.errorCode).toBe(0);
    }
    await waitFor('broker 2 to lead its 2 preferred partitions again', 5000, () => ledBy(2) === 2);
    const restoredMs = Date.now() - startedMs;
    process.stdout.write(`auto leader rebalance: preferred leaderships back ${restoredMs} ms after the ISR re-add (check interval ${intervalMs} ms)\n`);
    for (const p of partitions()) expect(p.leader).toBe(p.replicas[0]);
  });

  it('reassigns over gRPC: the union while the new replica catches up, completion on the leader\'s AlterPartition, cancel; brokers see the same image', async () => {
    const node = await startSingle();
    const grpc = new GrpcControllerConnection({ nodeId: 1, address: `127.0.0.1:${node.port}` });
    cleanups.push(() => grpc.close());
    const brokers = [1, 2, 3, 4].map((id) => new SimBroker(grpc, id).start());
    cleanups.push(async () => {
      for (const b of brokers) await b.stop();
    });
    await waitFor('4 unfenced brokers', 10_000, () => brokers.every((b) => b.lifecycle.state === 'unfenced'));
    const assignments = [
      { partitionIndex: 0, brokerIds: [1, 2, 3] },
      { partitionIndex: 1, brokerIds: [2, 3, 1] },
    ];
    expect((await grpc.createTopics({ topics: [{ name: 'r', numPartitions: -1, replicationFactor: -1, assignments, configs: [] }], validateOnly: false })).topics[0]!.errorCode).toBe(0);
    const topicId = node.controller.committedImage.topic('r')!.topicId;

    const started = await grpc.alterPartitionReassignments({
      topics: [
        { name: 'r', partitions: [{ partitionIndex: 0, replicas: [2, 3, 4] }, { partitionIndex: 1, replicas: [2, 4, 3] }, { partitionIndex: 5, replicas: [1] }] },
        { name: 'nope', partitions: [{ partitionIndex: 0, replicas: null }] },
      ],
    });
    expect(started.responses.map((t) => t.partitions.map((p) => p.errorCode))).toEqual([[0, 0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION], [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]);
    const listed = await grpc.listPartitionReassignments({ topics: null });
    expect(listed).toEqual({
      errorCode: 0,
      errorMessage: null,
      topics: [
        {
          name: 'r',
          partitions: [
            { partitionIndex: 0, replicas: [2, 3, 4, 1], addingReplicas: [4], removingReplicas: [1] },
            { partitionIndex: 1, replicas: [2, 4, 3, 1], addingReplicas: [4], removingReplicas: [1] },
          ],
        },
      ],
    });

    // Broker 4 caught up on r-0: its leader (1) puts it in the ISR, which completes the move and hands leadership to 2.
    const p0 = node.controller.committedImage.partition(topicId, 0)!;
    const altered = await grpc.alterPartition({
      brokerId: 1,
      brokerEpoch: brokers[0]!.lifecycle.brokerEpoch,
      topics: [{ topicId, partitions: [{ partitionIndex: 0, leaderEpoch: p0.leaderEpoch, partitionEpoch: p0.partitionEpoch, newIsrWithEpochs: [1, 2, 3, 4].map((brokerId) => ({ brokerId, brokerEpoch: -1 })) }] }],
    });
    expect(altered.topics[0]!.partitions[0]).toMatchObject({ errorCode: 0, leaderId: 2, isr: [2, 3, 4] });
    expect(node.controller.committedImage.partition(topicId, 0)).toMatchObject({ replicas: [2, 3, 4], isr: [2, 3, 4], leader: 2, addingReplicas: [], removingReplicas: [] });

    // r-1 is cancelled: back to [2, 3, 1].
    const cancelled = await grpc.alterPartitionReassignments({ topics: [{ name: 'r', partitions: [{ partitionIndex: 1, replicas: null }, { partitionIndex: 0, replicas: null }] }] });
    expect(cancelled.responses[0]!.partitions.map((p) => p.errorCode)).toEqual([0, ErrorCode.NO_REASSIGNMENT_IN_PROGRESS]);
    expect(node.controller.committedImage.partition(topicId, 1)).toMatchObject({ replicas: [2, 3, 1], addingReplicas: [], removingReplicas: [] });
    expect((await grpc.listPartitionReassignments({ topics: [{ name: 'r', partitionIndexes: [0, 1] }] })).topics).toEqual([]);

    // The version-1 records reach every broker's image.
    const end = node.controller.appliedOffset;
    await Promise.all(brokers.map((b) => b.follower.waitForOffset(end - 1, 5000)));
    for (const b of brokers) expect(imagesEqual(b.follower.image, node.controller.committedImage)).toBe(true);
  });

  it('speaks the same API over gRPC, and a late follower gets a snapshot in chunks', async () => {
    const node = await startSingle();
    const grpc = new GrpcControllerConnection({ nodeId: 1, address: `127.0.0.1:${node.port}` });
    cleanups.push(() => grpc.close());
    const brokers = [1, 2, 3].map((id) => new SimBroker(grpc, id).start());
    cleanups.push(async () => {
      for (const b of brokers) await b.stop();
    });
    await waitFor('3 unfenced brokers', 10_000, () => brokers.every((b) => b.lifecycle.state === 'unfenced'));
    const r = await grpc.createTopics({
      topics: [
        { name: 'a', numPartitions: 3, replicationFactor: 2, assignments: [], configs: [{ name: 'retention.ms', value: '1000' }, { name: 'x', value: null }] },
        { name: 'b', numPartitions: -1, replicationFactor: -1, assignments: [{ partitionIndex: 0, brokerIds: [3, 1] }], configs: [] },
      ],
      validateOnly: false,
    });
    expect(r.topics.map((t) => [t.name, t.errorCode, t.errorMessage])).toEqual([
      ['a', 0, null],
      ['b', 0, null],
    ]);
    expect(node.controller.committedImage.topic('b')!.partitions[0]!.replicas).toEqual([3, 1]);
    const del = await grpc.deleteTopics({ topics: [{ name: 'b', topicId: null }, { name: 'nope', topicId: null }] });
    expect(del.responses.map((x) => x.errorCode)).toEqual([0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
    const q = await grpc.describeQuorum();
    expect(q).toMatchObject({ leaderId: 1, voters: [{ replicaId: 1 }] });
    const status = await grpc.describe(true);
    expect(status).toMatchObject({ nodeId: 1, role: 'leader', active: true, topics: 1, partitions: 3, registeredBrokers: 3 });
    expect(status.image).not.toBeNull();

    // A follower that starts below the tail gets the image as a snapshot, here in 64-byte chunks.
    node.controller.stats.snapshotsServed = 0;
    const late = new MetadataFollower({ client: grpc, maxBytes: 64, nextOffset: 0 });
    // A follower beyond what the controller has applied is refused (unavailable), never sent back in time: it keeps its
    // image and retries (the controller it asked may be a deposed one that has not noticed yet; cluster sim seed 5364).
    const ahead = new MetadataFollower({ client: grpc, maxBytes: 64, nextOffset: 1_000_000 });
    late.start();
    ahead.start();
    cleanups.push(() => late.stop());
    cleanups.push(() => ahead.stop());
    await late.waitForOffset(node.controller.appliedOffset - 1, 5000);
    await waitFor('the ahead follower to be refused', 5000, () => ahead.stats.errors > 0);
    expect(ahead.nextOffset).toBe(1_000_000);
    expect(ahead.stats.snapshotsInstalled).toBe(0);
    expect(imagesEqual(late.image, node.controller.committedImage)).toBe(true);

    // Calls with another cluster id are refused before anything runs.
    const other = new GrpcControllerConnection({ nodeId: 1, address: `127.0.0.1:${node.port}`, clusterId: 'other' });
    cleanups.push(() => other.close());
    const err = await other.createTopics({ topics: [], validateOnly: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ControllerError);
    expect((err as ControllerError).errorCode).toBe(ErrorCode.INCONSISTENT_CLUSTER_ID);
  });
});
