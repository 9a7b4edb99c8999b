import { seededRng } from '@tributary/common';
import { describe, expect, it } from 'vitest';
import { GroupCoordinator } from '../../src/group/coordinator.ts';
import { ErrorCode } from '../../src/group/errors.ts';
import { decodeGroupMetadataValue, decodeGroupRecordKey } from '../../src/group/records.ts';
import { InMemoryGroupStore, type GroupRecord } from '../../src/group/store.ts';
import { ctx, FakeTimer, flush, harness, heartbeat, joinRequest, stableGroup, syncAs, track } from './helpers.ts';

const G = 'billing';

const commit = (groupId: string, topic: string, partition: number, offset: number, member: { generationId: number; memberId: string } = { generationId: -1, memberId: '' }) => ({
  groupId,
  generationIdOrMemberEpoch: member.generationId,
  memberId: member.memberId,
  groupInstanceId: null,
  retentionTimeMs: -1,
  topics: [{ name: topic, partitions: [{ partitionIndex: partition, committedOffset: offset, committedLeaderEpoch: 2, commitTimestamp: -1, committedMetadata: `m${offset}` }] }],
});

describe('persistence in __consumer_offsets', () => {
  it('a restarted coordinator loads the same offsets and group state from the store', async () => {
    const store = new InMemoryGroupStore();
    const before = await harness({}, store);
    const [a, b] = await stableGroup(before, G, 2, [{ groupInstanceId: 'pod-0' }, {}]);
    await before.coordinator.offsetCommit(8, commit(G, 'invoices', 0, 100, { generationId: 1, memberId: a!.memberId }), ctx);
    await before.coordinator.offsetCommit(8, commit(G, 'invoices', 0, 120, { generationId: 1, memberId: b!.memberId }), ctx);
    await before.coordinator.offsetCommit(8, commit(G, 'invoices', 1, 7, { generationId: 1, memberId: b!.memberId }), ctx);
    await before.coordinator.offsetCommit(8, commit('standalone', 'audit', 3, 55), ctx);
    await before.coordinator.offsetCommit(8, commit('deleted', 'audit', 0, 1), ctx);
    expect((await before.coordinator.deleteGroups(2, { groupsNames: ['deleted'] }, ctx)).results[0]!.errorCode).toBe(ErrorCode.NONE);
    const described = await before.coordinator.describeGroups(5, { groups: [G], includeAuthorizedOperations: false }, ctx);
    before.coordinator.close();

    const after = await harness({}, store);
    const fetched = await after.coordinator.offsetFetch(8, { groupId: '', topics: null, requireStable: true, groups: [{ groupId: G, memberId: null, memberEpoch: -1, topics: null }, { groupId: 'standalone', memberId: null, memberEpoch: -1, topics: null }, { groupId: 'deleted', memberId: null, memberEpoch: -1, topics: null }] }, ctx);
    expect(fetched.groups).toEqual([
      {
        groupId: G,
        errorCode: 0,
        topics: [{ name: 'invoices', partitions: [
          { partitionIndex: 0, committedOffset: 120, committedLeaderEpoch: 2, metadata: 'm120', errorCode: 0 },
          { partitionIndex: 1, committedOffset: 7, committedLeaderEpoch: 2, metadata: 'm7', errorCode: 0 },
        ] }],
      },
      { groupId: 'standalone', errorCode: 0, topics: [{ name: 'audit', partitions: [{ partitionIndex: 3, committedOffset: 55, committedLeaderEpoch: 2, metadata: 'm55', errorCode: 0 }] }] },
      { groupId: 'deleted', errorCode: 0, topics: [] },
    ]);
    // Same generation, members, leader, protocol, assignments, static instance ids.
    expect(await after.coordinator.describeGroups(5, { groups: [G], includeAuthorizedOperations: false }, ctx)).toEqual(described);
    expect(described.groups[0]!.groupState).toBe('Stable');
    const snapshot = after.coordinator.inspectGroup(G);
    expect(snapshot?.generationId).toBe(1);
    expect(snapshot?.leaderId).toBe(a!.memberId);
    expect(snapshot?.members.map((m) => m.groupInstanceId)).toEqual(['pod-0', null]);
    // The members carry on with their generation; a static member's stale id is still fenced.
    expect((await heartbeat(after, G, a!.memberId, 1, 'pod-0')).errorCode).toBe(ErrorCode.NONE);
    expect((await syncAs(after, G, b!)).assignment.toString()).toBe(`assignment-${b!.memberId}`);
    expect((await heartbeat(after, G, 'old-id', 1, 'pod-0')).errorCode).toBe(ErrorCode.FENCED_INSTANCE_ID);
    expect(after.coordinator.inspectGroup('deleted')).toBeUndefined();
    // Loaded members must heartbeat like any other: a silent one times out.
    for (let i = 0; i < 4; i++) {
      after.timer.advance(3000);
      await heartbeat(after, G, a!.memberId, 1, 'pod-0');
    }
    expect(after.coordinator.inspectGroup(G)?.members.map((m) => m.memberId)).toEqual([a!.memberId]);
  });

  it('writes the group metadata record in Kafka format before answering SyncGroup', async () => {
    const h = await harness();
    const [a, b] = await stableGroup(h, G, 2);
    const log = h.store.records(h.coordinator.partitionFor(G));
    expect(log.length).toBe(1);
    expect(decodeGroupRecordKey(log[0]!.key)).toEqual({ type: 'group', groupId: G });
    const value = decodeGroupMetadataValue(log[0]!.value!);
    expect(value.protocolType).toBe('consumer');
    expect(value.generationId).toBe(1);
    expect(value.protocolName).toBe('range');
    expect(value.leaderId).toBe(a!.memberId);
    expect(value.members.map((m) => [m.memberId, m.clientId, m.sessionTimeoutMs, m.rebalanceTimeoutMs, m.assignment.toString()])).toEqual([
      [a!.memberId, 'c0', 10_000, 30_000, `assignment-${a!.memberId}`],
      [b!.memberId, 'c1', 10_000, 30_000, `assignment-${b!.memberId}`],
    ]);
  });

  it('a failed assignment write answers the syncs with the error and restarts the rebalance', async () => {
    const h = await harness();
    const joins = [track(h.coordinator.joinGroup(3, joinRequest(G), ctx)), track(h.coordinator.joinGroup(3, joinRequest(G), ctx))];
    h.timer.advance(6000);
    await flush();
    const [a, b] = joins.map((j) => j.value);
    const leader = a!.members.length > 0 ? a! : b!;
    const follower = leader === a ? b! : a!;
    const followerSync = track(syncAs(h, G, follower));
    h.store.failNext = new Error('log offline');
    const leaderSync = await syncAs(h, G, leader, [{ memberId: leader.memberId, assignment: Buffer.from('x') }]);
    await flush();
    expect(leaderSync.errorCode).toBe(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    expect(followerSync.value.errorCode).toBe(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    expect(h.coordinator.inspectGroup(G)?.state).toBe('PreparingRebalance');
    expect(h.store.records(h.coordinator.partitionFor(G))).toEqual([]);
  });

  it('answers COORDINATOR_LOAD_IN_PROGRESS while a partition loads and NOT_COORDINATOR for partitions it does not own', async () => {
    const store = new InMemoryGroupStore();
    const seed = await harness({}, store);
    await seed.coordinator.offsetCommit(8, commit(G, 't', 0, 9), ctx);
    const partition = seed.coordinator.partitionFor(G);
    const otherGroup = ['a', 'b', 'c', 'd', 'e', 'f', 'g'].find((g) => seed.coordinator.partitionFor(g) !== partition)!;

    const timer = new FakeTimer();
    const coordinator = new GroupCoordinator({ config: { offsetsTopicNumPartitions: 4 }, clock: timer.clock, timer, rng: seededRng(2), store });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    async function* gated(): AsyncGenerator<GroupRecord> {
      await gate;
      yield* store.read(partition);
    }
    const loading = coordinator.loadPartition(partition, gated());
    await flush();
    expect((await coordinator.heartbeat(4, { groupId: G, memberId: 'm', generationId: 1, groupInstanceId: null }, ctx)).errorCode).toBe(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
    expect((await coordinator.joinGroup(5, joinRequest(G), ctx)).errorCode).toBe(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
    const fetchDuring = await coordinator.offsetFetch(8, { groupId: '', topics: null, requireStable: false, groups: [{ groupId: G, memberId: null, memberEpoch: -1, topics: null }] }, ctx);
    expect(fetchDuring.groups[0]!.errorCode).toBe(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
    expect((await coordinator.listGroups(4, { statesFilter: [], typesFilter: [] }, ctx)).errorCode).toBe(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
    expect((await coordinator.joinGroup(5, joinRequest(otherGroup), ctx)).errorCode).toBe(ErrorCode.NOT_COORDINATOR);
    release();
    await loading;
    const fetched = await coordinator.offsetFetch(8, { groupId: '', topics: null, requireStable: false, groups: [{ groupId: G, memberId: null, memberEpoch: -1, topics: null }] }, ctx);
    expect(fetched.groups[0]!.topics[0]!.partitions[0]!.committedOffset).toBe(9);
    expect((await coordinator.listGroups(4, { statesFilter: [], typesFilter: [] }, ctx)).errorCode).toBe(ErrorCode.NONE);
  });

  it('unloading a partition answers parked requests with NOT_COORDINATOR', async () => {
    const h = await harness();
    const parked = track(h.coordinator.joinGroup(3, joinRequest(G), ctx));
    await flush();
    h.coordinator.unloadPartition(h.coordinator.partitionFor(G));
    await flush();
    expect(parked.value.errorCode).toBe(ErrorCode.NOT_COORDINATOR);
    expect(h.coordinator.inspectGroup(G)).toBeUndefined();
    expect(h.timer.pending).toBe(0);
  });
});
