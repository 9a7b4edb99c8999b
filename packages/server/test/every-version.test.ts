/**
 * Every (API, version) the broker advertises, sent over a real socket with a request built for
 * that version, must get a well-formed response with the expected outcome. This is the test
 * behind the promise "every advertised version is implemented".
 */
import { mkdtempSync, readdirSync, rmSync, statSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KafkaConnection } from '@tributary/client';
import { advertisedApis } from '@tributary/broker';
import { silentLogger } from '@tributary/common';
import { ApiKey, encodeRecordBatch } from '@tributary/protocol';
import { startNode, type RunningNode } from '../src/node.ts';
import { awaitGroupCoordinator } from './coordinator.ts';

let dir: string;
let node: RunningNode;
let conn: KafkaConnection;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'trib-versions-'));
  node = await startNode({
    overrides: { listeners: 'PLAINTEXT://127.0.0.1:0', 'log.dirs': dir, 'offsets.topic.num.partitions': '2', 'group.initial.rebalance.delay.ms': '0' },
    logger: silentLogger,
  });
  conn = await KafkaConnection.connect({ host: '127.0.0.1', port: node.port, clientId: 'matrix' });
  await awaitGroupCoordinator(conn, 'g');
  await conn.request(ApiKey.CreateTopics, 5, { topics: [{ name: 'matrix', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 1000, validateOnly: false });
});

afterAll(async () => {
  await conn?.close();
  await node?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const call = (apiKey: number, version: number, body: object): Promise<any> => conn.request(apiKey, version, body, { timeoutMs: 15_000 });
const range = (apiKey: number): number[] => {
  const r = advertisedApis.find((a) => a.apiKey === apiKey)!;
  return Array.from({ length: r.maxVersion - r.minVersion + 1 }, (_, i) => r.minVersion + i);
};
const batch = (): Buffer => encodeRecordBatch({ records: [{ key: 'k', value: 'v', timestamp: Date.now() }], compression: 'none' });
const consumerMetadata = Buffer.from([0, 0, 0, 0, 0, 1, 0, 6, ...Buffer.from('matrix'), 0xff, 0xff, 0xff, 0xff]);

describe('every advertised version', () => {
  it('covers every API in the profile', () => {
    const tested = new Set([
      ApiKey.ApiVersions, ApiKey.Metadata, ApiKey.Produce, ApiKey.Fetch, ApiKey.ListOffsets, ApiKey.CreateTopics, ApiKey.DeleteTopics,
      ApiKey.CreatePartitions, ApiKey.DescribeConfigs, ApiKey.AlterConfigs, ApiKey.IncrementalAlterConfigs, ApiKey.DescribeCluster,
      ApiKey.InitProducerId, ApiKey.DeleteRecords, ApiKey.FindCoordinator, ApiKey.JoinGroup, ApiKey.SyncGroup, ApiKey.Heartbeat,
      ApiKey.LeaveGroup, ApiKey.OffsetCommit, ApiKey.OffsetFetch, ApiKey.DescribeGroups, ApiKey.ListGroups, ApiKey.DeleteGroups, ApiKey.OffsetDelete,
      ApiKey.DescribeQuorum,
      ApiKey.ElectLeaders, ApiKey.OffsetForLeaderEpoch, ApiKey.AlterPartitionReassignments, ApiKey.ListPartitionReassignments,
      ApiKey.DescribeLogDirs,
    ] as number[]);
    expect(advertisedApis.map((a) => a.apiKey).filter((k) => !tested.has(k))).toEqual([]);
  });

  it('ApiVersions', async () => {
    for (const v of range(ApiKey.ApiVersions)) {
      const res = await call(ApiKey.ApiVersions, v, { clientSoftwareName: 'matrix', clientSoftwareVersion: '1.0' });
      expect(res.errorCode, `v${v}`).toBe(0);
      expect(res.apiKeys.find((a: any) => a.apiKey === ApiKey.Fetch), `v${v}`).toMatchObject({ minVersion: 4, maxVersion: 12 });
    }
  });

  it('Metadata', async () => {
    for (const v of range(ApiKey.Metadata)) {
      const res = await call(ApiKey.Metadata, v, { topics: [{ name: 'matrix', topicId: 'AAAAAAAAAAAAAAAAAAAAAA' }], allowAutoTopicCreation: v < 4, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false });
      expect(res.brokers[0].port, `v${v}`).toBe(node.port);
      expect(res.topics[0], `v${v}`).toMatchObject({ errorCode: 0, name: 'matrix' });
      expect(res.topics[0].partitions[0], `v${v}`).toMatchObject({ partitionIndex: 0, leaderId: node.nodeId });
    }
  });

  it('Produce: v0-2 refused per partition, v3+ appended', async () => {
    let expectedOffset = 0;
    for (const v of range(ApiKey.Produce)) {
      // acks=-1 where the version has it answers once the record is below the high watermark (on disk), so the
      // Fetch matrix below sees every record at once; an acks=1 answer can come before the group-commit flush.
      const res = await call(ApiKey.Produce, v, { transactionalId: null, acks: -1, timeoutMs: 1000, topicData: [{ name: 'matrix', partitionData: [{ index: 0, records: batch() }] }] });
      const p = res.responses[0].partitionResponses[0];
      if (v < 3) {
        expect(p.errorCode, `v${v}`).toBe(35);
      } else {
        expect(p, `v${v}`).toMatchObject({ errorCode: 0, baseOffset: expectedOffset++ });
      }
    }
  });

  it('Fetch', async () => {
    for (const v of range(ApiKey.Fetch)) {
      const res = await call(ApiKey.Fetch, v, {
        replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
        topics: [{ topic: 'matrix', partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0, logStartOffset: -1, partitionMaxBytes: 1 << 20 }] }],
        forgottenTopicsData: [], rackId: '',
      });
      const p = res.responses[0].partitions[0];
      expect(p.errorCode, `v${v}`).toBe(0);
      expect(p.highWatermark, `v${v}`).toBe(9);
      expect(p.records.length, `v${v}`).toBeGreaterThan(61);
    }
  });

  it('ListOffsets', async () => {
    for (const v of range(ApiKey.ListOffsets)) {
      const res = await call(ApiKey.ListOffsets, v, { replicaId: -1, isolationLevel: 0, topics: [{ name: 'matrix', partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1 }] }] });
      expect(res.topics[0].partitions[0], `v${v}`).toMatchObject({ errorCode: 0, offset: 9 });
    }
  });

  it('CreateTopics, CreatePartitions, DescribeConfigs, AlterConfigs, IncrementalAlterConfigs, DeleteTopics', async () => {
    for (const v of range(ApiKey.CreateTopics)) {
      const res = await call(ApiKey.CreateTopics, v, { topics: [{ name: `ct-${v}`, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [{ name: 'retention.ms', value: '1000' }] }], timeoutMs: 1000, validateOnly: false });
      expect(res.topics[0], `v${v}`).toMatchObject({ name: `ct-${v}`, errorCode: 0 });
    }
    for (const v of range(ApiKey.CreatePartitions)) {
      const res = await call(ApiKey.CreatePartitions, v, { topics: [{ name: `ct-${2 + v}`, count: 3, assignments: null }], timeoutMs: 1000, validateOnly: false });
      expect(res.results[0], `v${v}`).toMatchObject({ errorCode: 0 });
    }
    for (const v of range(ApiKey.DescribeConfigs)) {
      const res = await call(ApiKey.DescribeConfigs, v, { resources: [{ resourceType: 2, resourceName: 'ct-2', configurationKeys: null }], includeSynonyms: true, includeDocumentation: v >= 3 });
      expect(res.results[0].errorCode, `v${v}`).toBe(0);
      expect(res.results[0].configs.find((c: any) => c.name === 'retention.ms'), `v${v}`).toMatchObject({ value: '1000' });
    }
    for (const v of range(ApiKey.AlterConfigs)) {
      const res = await call(ApiKey.AlterConfigs, v, { resources: [{ resourceType: 2, resourceName: 'ct-3', configs: [{ name: 'retention.ms', value: String(2000 + v) }] }], validateOnly: false });
      expect(res.responses[0], `v${v}`).toMatchObject({ errorCode: 0 });
    }
    for (const v of range(ApiKey.IncrementalAlterConfigs)) {
      const res = await call(ApiKey.IncrementalAlterConfigs, v, { resources: [{ resourceType: 2, resourceName: 'ct-4', configs: [{ name: 'cleanup.policy', configOperation: 2, value: 'compact' }] }], validateOnly: false });
      expect(res.responses[0], `v${v}`).toMatchObject({ errorCode: 0 });
    }
    const described = await call(ApiKey.DescribeConfigs, 4, { resources: [{ resourceType: 2, resourceName: 'ct-4', configurationKeys: ['cleanup.policy'] }], includeSynonyms: false, includeDocumentation: false });
    expect(described.results[0].configs[0]).toMatchObject({ name: 'cleanup.policy', value: 'delete,compact' });
    for (const v of range(ApiKey.DeleteTopics)) {
      const res = await call(ApiKey.DeleteTopics, v, v >= 6 ? { topics: [{ name: `ct-${v + 1}`, topicId: 'AAAAAAAAAAAAAAAAAAAAAA' }], timeoutMs: 1000 } : { topicNames: [`ct-${v + 1}`], timeoutMs: 1000 });
      expect(res.responses[0], `v${v}`).toMatchObject({ errorCode: 0 });
    }
  });

  it('DescribeQuorum (forwarded to the controller quorum: this node is its one voter and leader)', async () => {
    for (const v of range(ApiKey.DescribeQuorum)) {
      const res = await call(ApiKey.DescribeQuorum, v, { topics: [{ topicName: '__cluster_metadata', partitions: [{ partitionIndex: 0 }] }] });
      expect(res.errorCode, `v${v}`).toBe(0);
      const p = res.topics[0].partitions[0];
      expect(p, `v${v}`).toMatchObject({ errorCode: 0, leaderId: node.nodeId });
      expect(p.leaderEpoch, `v${v}`).toBeGreaterThan(0);
      expect(p.highWatermark, `v${v}`).toBeGreaterThan(0);
      expect(p.currentVoters.map((r: any) => r.replicaId), `v${v}`).toEqual([node.nodeId]);
      if (v >= 2) expect(res.nodes.map((n: any) => n.nodeId), `v${v}`).toEqual([node.nodeId]);
      const bad = await call(ApiKey.DescribeQuorum, v, { topics: [{ topicName: 'other', partitions: [{ partitionIndex: 0 }] }] });
      expect(bad.errorCode, `v${v}`).toBe(42);
    }
  });

  it('DescribeCluster, InitProducerId, DeleteRecords', async () => {
    for (const v of range(ApiKey.DescribeCluster)) {
      const res = await call(ApiKey.DescribeCluster, v, { includeClusterAuthorizedOperations: false, endpointType: 1 });
      expect(res, `v${v}`).toMatchObject({ errorCode: 0, clusterId: node.clusterId, controllerId: node.nodeId });
      expect(res.brokers, `v${v}`).toHaveLength(1);
    }
    const ids = new Set<number>();
    for (const v of range(ApiKey.InitProducerId)) {
      const res = await call(ApiKey.InitProducerId, v, { transactionalId: null, transactionTimeoutMs: 60000, producerId: -1, producerEpoch: -1 });
      expect(res, `v${v}`).toMatchObject({ errorCode: 0, producerEpoch: 0 });
      ids.add(res.producerId);
    }
    expect(ids.size).toBe(range(ApiKey.InitProducerId).length);
    for (const v of range(ApiKey.DeleteRecords)) {
      const res = await call(ApiKey.DeleteRecords, v, { topics: [{ name: 'matrix', partitions: [{ partitionIndex: 0, offset: v + 1 }] }], timeoutMs: 1000 });
      expect(res.topics[0].partitions[0], `v${v}`).toMatchObject({ errorCode: 0, lowWatermark: v + 1 });
    }
  });

  it('ElectLeaders: a single replica is already its preferred leader (ELECTION_NOT_NEEDED), null asks for every partition', async () => {
    for (const v of range(ApiKey.ElectLeaders)) {
      for (const electionType of v >= 1 ? [0, 1] : [0]) {
        const res = await call(ApiKey.ElectLeaders, v, { electionType, topicPartitions: [{ topic: 'matrix', partitions: [0] }, { topic: 'no-such-topic', partitions: [0] }], timeoutMs: 5000 });
        if (v >= 1) expect(res.errorCode, `v${v}`).toBe(0);
        expect(res.replicaElectionResults, `v${v} type ${electionType}`).toEqual([
          { topic: 'matrix', partitionResult: [{ partitionId: 0, errorCode: 84, errorMessage: expect.any(String) }] },
          { topic: 'no-such-topic', partitionResult: [{ partitionId: 0, errorCode: 3, errorMessage: expect.any(String) }] },
        ]);
      }
      const all = await call(ApiKey.ElectLeaders, v, { electionType: 0, topicPartitions: null, timeoutMs: 5000 });
      expect(all.replicaElectionResults, `v${v} all`).toEqual([]);
    }
  });

  it('AlterPartitionReassignments and ListPartitionReassignments: per-partition codes from the controller; nothing in progress on one node', async () => {
    for (const v of range(ApiKey.AlterPartitionReassignments)) {
      const res = await call(ApiKey.AlterPartitionReassignments, v, {
        timeoutMs: 5000,
        topics: [
          { name: 'matrix', partitions: [{ partitionIndex: 0, replicas: [node.nodeId] }, { partitionIndex: 0, replicas: null }] },
          { name: 'matrix', partitions: [] },
          { name: 'no-such-topic', partitions: [{ partitionIndex: 0, replicas: [node.nodeId] }] },
        ],
      });
      expect(res.errorCode, `v${v}`).toBe(0);
      // The same partition twice is INVALID_REQUEST (42) for both; then a lone cancel finds nothing (85), a foreign broker 39.
      expect(res.responses.map((t: any) => t.partitions.map((p: any) => p.errorCode)), `v${v}`).toEqual([[42, 42], [], [3]]);
      const cancel = await call(ApiKey.AlterPartitionReassignments, v, { timeoutMs: 5000, topics: [{ name: 'matrix', partitions: [{ partitionIndex: 0, replicas: null }] }] });
      expect(cancel.responses[0].partitions[0], `v${v}`).toMatchObject({ partitionIndex: 0, errorCode: 85, errorMessage: expect.any(String) });
      const foreign = await call(ApiKey.AlterPartitionReassignments, v, { timeoutMs: 5000, topics: [{ name: 'matrix', partitions: [{ partitionIndex: 0, replicas: [node.nodeId + 1000] }] }] });
      expect(foreign.responses[0].partitions[0].errorCode, `v${v}`).toBe(39);
      const same = await call(ApiKey.AlterPartitionReassignments, v, { timeoutMs: 5000, topics: [{ name: 'matrix', partitions: [{ partitionIndex: 0, replicas: [node.nodeId] }] }] });
      expect(same.responses[0].partitions[0].errorCode, `v${v}`).toBe(0);
    }
    for (const v of range(ApiKey.ListPartitionReassignments)) {
      expect(await call(ApiKey.ListPartitionReassignments, v, { timeoutMs: 5000, topics: null }), `v${v}`).toEqual({ throttleTimeMs: 0, errorCode: 0, errorMessage: null, topics: [] });
      const named = await call(ApiKey.ListPartitionReassignments, v, { timeoutMs: 5000, topics: [{ name: 'matrix', partitionIndexes: [0, 9] }, { name: 'no-such-topic', partitionIndexes: [0] }] });
      expect(named.topics, `v${v}`).toEqual([]);
    }
  });

  it('DescribeLogDirs: the data dir with each hosted replica\'s bytes on disk, filtered by the request; volume sizes from v4', async () => {
    const segmentBytes = (partitionDir: string): number =>
      readdirSync(join(dir, partitionDir))
        .filter((f) => f.endsWith('.log'))
        .reduce((sum, f) => sum + statSync(join(dir, partitionDir, f)).size, 0);
    const volume = statfsSync(dir);
    for (const v of range(ApiKey.DescribeLogDirs)) {
      const res = await call(ApiKey.DescribeLogDirs, v, { topics: [{ topic: 'matrix', partitions: [0, 5] }, { topic: 'no-such-topic', partitions: [0] }] });
      expect(res.results, `v${v}`).toHaveLength(1);
      const d = res.results[0];
      expect(d, `v${v}`).toMatchObject({ errorCode: 0, logDir: dir });
      expect(d.topics, `v${v}`).toEqual([{ name: 'matrix', partitions: [{ partitionIndex: 0, partitionSize: segmentBytes('matrix-0'), offsetLag: 0, isFutureKey: false }] }]);
      expect(d.topics[0].partitions[0].partitionSize, `v${v}`).toBeGreaterThan(0);
      if (v >= 4) {
        expect(d.totalBytes, `v${v}`).toBe(volume.blocks * volume.bsize);
        expect(d.usableBytes, `v${v}`).toBeGreaterThan(0);
      } else {
        expect(d, `v${v} has no volume sizes`).toMatchObject({ totalBytes: -1, usableBytes: -1 });
      }
      const all = await call(ApiKey.DescribeLogDirs, v, { topics: null });
      const names = all.results[0].topics.map((t: any) => t.name);
      expect(names, `v${v} null topics`).toContain('matrix');
      expect(names, `v${v} null topics`).toContain('__consumer_offsets');
    }
  });

  it('OffsetForLeaderEpoch: end of the current epoch is the high watermark; fenced and unknown epochs from v2', async () => {
    const md = await call(ApiKey.Metadata, 12, { topics: [{ name: 'matrix', topicId: 'AAAAAAAAAAAAAAAAAAAAAA' }], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false });
    const epoch: number = md.topics[0].partitions[0].leaderEpoch;
    const hw = (await call(ApiKey.ListOffsets, 7, { replicaId: -1, isolationLevel: 0, topics: [{ name: 'matrix', partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1 }] }] })).topics[0].partitions[0].offset;
    for (const v of range(ApiKey.OffsetForLeaderEpoch)) {
      const ask = (currentLeaderEpoch: number, leaderEpoch: number, topic = 'matrix'): Promise<any> =>
        call(ApiKey.OffsetForLeaderEpoch, v, { replicaId: -1, topics: [{ topic, partitions: [{ partition: 0, currentLeaderEpoch, leaderEpoch }] }] });
      const ok = (await ask(-1, epoch)).topics[0].partitions[0];
      expect(ok, `v${v}`).toMatchObject({ errorCode: 0, partition: 0, endOffset: hw, leaderEpoch: v >= 1 ? epoch : -1 });
      expect((await ask(-1, epoch + 1)).topics[0].partitions[0], `v${v} epoch above the latest`).toMatchObject({ errorCode: 0, endOffset: -1 });
      expect((await ask(-1, epoch, 'no-such-topic')).topics[0].partitions[0].errorCode, `v${v}`).toBe(3);
      if (v >= 2) {
        expect((await ask(epoch + 1, epoch)).topics[0].partitions[0].errorCode, `v${v}`).toBe(75);
        if (epoch > 0) expect((await ask(epoch - 1, epoch)).topics[0].partitions[0].errorCode, `v${v}`).toBe(74);
      }
    }
  });

  it('the group APIs: FindCoordinator, JoinGroup, SyncGroup, Heartbeat, OffsetCommit, OffsetFetch, DescribeGroups, ListGroups, LeaveGroup, OffsetDelete, DeleteGroups', async () => {
    for (const v of range(ApiKey.FindCoordinator)) {
      const res = await call(ApiKey.FindCoordinator, v, v >= 4 ? { keyType: 0, coordinatorKeys: ['g'] } : { key: 'g', keyType: 0 });
      const c = v >= 4 ? res.coordinators[0] : res;
      expect(c, `v${v}`).toMatchObject({ errorCode: 0, nodeId: node.nodeId, port: node.port });
    }
    for (const v of range(ApiKey.JoinGroup)) {
      const groupId = `group-v${v}`;
      const join = (memberId: string): Promise<any> =>
        call(ApiKey.JoinGroup, v, { groupId, sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, memberId, groupInstanceId: null, protocolType: 'consumer', protocols: [{ name: 'range', metadata: consumerMetadata }], reason: null });
      let joined = await join('');
      if (v >= 4) {
        expect(joined.errorCode, `v${v}`).toBe(79);
        joined = await join(joined.memberId);
      }
      expect(joined, `JoinGroup v${v}`).toMatchObject({ errorCode: 0, generationId: 1, protocolName: 'range' });
      expect(joined.leader).toBe(joined.memberId);
      const syncV = Math.min(v, 5);
      const synced = await call(ApiKey.SyncGroup, syncV, { groupId, generationId: 1, memberId: joined.memberId, groupInstanceId: null, protocolType: 'consumer', protocolName: 'range', assignments: [{ memberId: joined.memberId, assignment: Buffer.from([0, 0]) }] });
      expect(synced, `SyncGroup v${syncV}`).toMatchObject({ errorCode: 0 });
      const hbV = Math.min(v, 4);
      expect((await call(ApiKey.Heartbeat, hbV, { groupId, generationId: 1, memberId: joined.memberId, groupInstanceId: null })).errorCode, `Heartbeat v${hbV}`).toBe(0);
      expect((await call(ApiKey.Heartbeat, hbV, { groupId, generationId: 7, memberId: joined.memberId, groupInstanceId: null })).errorCode, `Heartbeat v${hbV}`).toBe(22);
      const commitV = Math.max(2, v);
      const committed = await call(ApiKey.OffsetCommit, commitV, {
        groupId, generationIdOrMemberEpoch: 1, memberId: joined.memberId, groupInstanceId: null, retentionTimeMs: -1,
        topics: [{ name: 'matrix', partitions: [{ partitionIndex: 0, committedOffset: 5 + v, committedLeaderEpoch: -1, commitTimestamp: -1, committedMetadata: '' }] }],
      });
      expect(committed.topics[0].partitions[0].errorCode, `OffsetCommit v${commitV}`).toBe(0);
      const fetchV = Math.max(1, v);
      const fetched = await call(
        ApiKey.OffsetFetch,
        fetchV,
        fetchV >= 8
          ? { groups: [{ groupId, memberId: null, memberEpoch: -1, topics: [{ name: 'matrix', partitionIndexes: [0] }] }], requireStable: false }
          : { groupId, topics: [{ name: 'matrix', partitionIndexes: [0] }], requireStable: false },
      );
      const part = fetchV >= 8 ? fetched.groups[0].topics[0].partitions[0] : fetched.topics[0].partitions[0];
      expect(part, `OffsetFetch v${fetchV}`).toMatchObject({ committedOffset: 5 + v, errorCode: 0 });
      const descV = Math.min(v, 5);
      const described = await call(ApiKey.DescribeGroups, descV, { groups: [groupId], includeAuthorizedOperations: false });
      expect(described.groups[0], `DescribeGroups v${descV}`).toMatchObject({ errorCode: 0, groupState: 'Stable', protocolType: 'consumer' });
      expect(described.groups[0].members[0].clientId).toBe('matrix');
      const leaveV = Math.min(v, 5);
      const left = await call(ApiKey.LeaveGroup, leaveV, leaveV >= 3 ? { groupId, members: [{ memberId: joined.memberId, groupInstanceId: null, reason: null }] } : { groupId, memberId: joined.memberId });
      expect(left.errorCode, `LeaveGroup v${leaveV}`).toBe(0);
    }
    for (const v of range(ApiKey.ListGroups)) {
      const res = await call(ApiKey.ListGroups, v, { statesFilter: [], typesFilter: [] });
      expect(res.errorCode, `v${v}`).toBe(0);
      expect(res.groups.map((g: any) => g.groupId), `v${v}`).toContain('group-v0');
    }
    const od = await call(ApiKey.OffsetDelete, 0, { groupId: 'group-v0', topics: [{ name: 'matrix', partitions: [{ partitionIndex: 0 }] }] });
    expect(od.errorCode).toBe(0);
    expect(od.topics[0].partitions[0].errorCode).toBe(0);
    for (const v of range(ApiKey.DeleteGroups)) {
      const res = await call(ApiKey.DeleteGroups, v, { groupsNames: [`group-v${v}`] });
      expect(res.results[0], `v${v}`).toMatchObject({ groupId: `group-v${v}`, errorCode: 0 });
    }
  });
});
