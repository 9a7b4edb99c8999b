import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/group/errors.ts';
import type { OffsetCommitRequest } from '../../src/group/messages.ts';
import { ctx, flush, harness, joinRequest, stableGroup, subscription, track, type Harness } from './helpers.ts';

const G = 'analytics';

function commitRequest(groupId: string, offsets: [topic: string, partition: number, offset: number, metadata?: string | null][], member: { generationId?: number; memberId?: string } = {}): OffsetCommitRequest {
  const topics = new Map<string, OffsetCommitRequest['topics'][number]>();
  for (const [topic, partition, offset, metadata] of offsets) {
    let t = topics.get(topic);
    if (t === undefined) topics.set(topic, (t = { name: topic, partitions: [] }));
    t.partitions.push({ partitionIndex: partition, committedOffset: offset, committedLeaderEpoch: 4, commitTimestamp: -1, committedMetadata: metadata ?? null });
  }
  return { groupId, generationIdOrMemberEpoch: member.generationId ?? -1, memberId: member.memberId ?? '', groupInstanceId: null, retentionTimeMs: -1, topics: [...topics.values()] };
}

const errorsOf = (r: { topics: { name: string; partitions: { partitionIndex: number; errorCode: number }[] }[] }) =>
  r.topics.flatMap((t) => t.partitions.map((p) => `${t.name}-${p.partitionIndex}:${p.errorCode}`));

async function fetchV7(h: Harness, groupId: string, topics: { name: string; partitionIndexes: number[] }[] | null) {
  return h.coordinator.offsetFetch(7, { groupId, topics, groups: [], requireStable: false }, ctx);
}

describe('OffsetCommit and OffsetFetch', () => {
  it('a simple consumer (generation -1) commits to a group with no members and fetches back', async () => {
    const h = await harness();
    const commit = await h.coordinator.offsetCommit(8, commitRequest(G, [['orders', 0, 42, 'checkpoint'], ['orders', 1, 7], ['refunds', 0, 3]]), ctx);
    expect(errorsOf(commit)).toEqual(['orders-0:0', 'orders-1:0', 'refunds-0:0']);
    expect(h.coordinator.inspectGroup(G)?.state).toBe('Empty');
    expect(h.coordinator.inspectGroup(G)?.protocolType).toBeNull();

    const some = await fetchV7(h, G, [{ name: 'orders', partitionIndexes: [0, 2] }, { name: 'unknown', partitionIndexes: [0] }]);
    expect(some.errorCode).toBe(ErrorCode.NONE);
    expect(some.topics).toEqual([
      {
        name: 'orders',
        partitions: [
          { partitionIndex: 0, committedOffset: 42, committedLeaderEpoch: 4, metadata: 'checkpoint', errorCode: 0 },
          { partitionIndex: 2, committedOffset: -1, committedLeaderEpoch: -1, metadata: '', errorCode: 0 },
        ],
      },
      { name: 'unknown', partitions: [{ partitionIndex: 0, committedOffset: -1, committedLeaderEpoch: -1, metadata: '', errorCode: 0 }] },
    ]);

    // topics = null (v2+): everything the group committed.
    const all = await fetchV7(h, G, null);
    const flat = all.topics.flatMap((t) => t.partitions.map((p) => `${t.name}-${p.partitionIndex}=${p.committedOffset}`)).sort();
    expect(flat).toEqual(['orders-0=42', 'orders-1=7', 'refunds-0=3']);

    // Unknown group: -1 for what was asked, nothing for "all".
    expect((await fetchV7(h, 'nobody', [{ name: 'orders', partitionIndexes: [0] }])).topics[0]!.partitions[0]!.committedOffset).toBe(-1);
    expect((await fetchV7(h, 'nobody', null)).topics).toEqual([]);
  });

  it('v8+ fetches several groups at once', async () => {
    const h = await harness();
    await h.coordinator.offsetCommit(8, commitRequest('g1', [['t', 0, 10]]), ctx);
    await h.coordinator.offsetCommit(8, commitRequest('g2', [['t', 0, 20], ['u', 3, 30]]), ctx);
    const r = await h.coordinator.offsetFetch(8, { groupId: '', topics: null, requireStable: false, groups: [
      { groupId: 'g1', memberId: null, memberEpoch: -1, topics: [{ name: 't', partitionIndexes: [0, 1] }] },
      { groupId: 'g2', memberId: null, memberEpoch: -1, topics: null },
      { groupId: 'g3', memberId: null, memberEpoch: -1, topics: null },
    ] }, ctx);
    expect(r.groups.map((g) => [g.groupId, g.errorCode, g.topics.flatMap((t) => t.partitions.map((p) => `${t.name}-${p.partitionIndex}=${p.committedOffset}`))])).toEqual([
      ['g1', 0, ['t-0=10', 't-1=-1']],
      ['g2', 0, ['t-0=20', 'u-3=30']],
      ['g3', 0, []],
    ]);
  });

  it('members commit with their generation; others are refused while the group has members', async () => {
    const h = await harness();
    const [a] = await stableGroup(h, G, 1);
    const ok = await h.coordinator.offsetCommit(8, commitRequest(G, [['orders', 0, 5]], { generationId: 1, memberId: a!.memberId }), ctx);
    expect(errorsOf(ok)).toEqual(['orders-0:0']);
    const simple = await h.coordinator.offsetCommit(8, commitRequest(G, [['orders', 0, 6]]), ctx);
    expect(errorsOf(simple)).toEqual([`orders-0:${ErrorCode.UNKNOWN_MEMBER_ID}`]);
    const unknownGroupWithGeneration = await h.coordinator.offsetCommit(8, commitRequest('other', [['orders', 0, 6]], { generationId: 3, memberId: 'x' }), ctx);
    expect(errorsOf(unknownGroupWithGeneration)).toEqual([`orders-0:${ErrorCode.ILLEGAL_GENERATION}`]);
    expect((await fetchV7(h, G, [{ name: 'orders', partitionIndexes: [0] }])).topics[0]!.partitions[0]!.committedOffset).toBe(5);
  });

  it('a commit during the sync phase gets REBALANCE_IN_PROGRESS; during the join phase it is accepted', async () => {
    const h = await harness();
    const [a, b] = await stableGroup(h, G, 2);
    // The leader rejoins: the group prepares a rebalance; b (still generation 1) may commit before it rejoins.
    const a2 = track(h.coordinator.joinGroup(3, joinRequest(G, a!.memberId), ctx));
    const during = await h.coordinator.offsetCommit(8, commitRequest(G, [['orders', 0, 9]], { generationId: 1, memberId: b!.memberId }), ctx);
    expect(errorsOf(during)).toEqual(['orders-0:0']);
    const b2 = track(h.coordinator.joinGroup(3, joinRequest(G, b!.memberId), ctx));
    await flush();
    expect(a2.value.generationId).toBe(2);
    expect(b2.value.generationId).toBe(2);
    const syncing = await h.coordinator.offsetCommit(8, commitRequest(G, [['orders', 0, 10]], { generationId: 2, memberId: a!.memberId }), ctx);
    expect(errorsOf(syncing)).toEqual([`orders-0:${ErrorCode.REBALANCE_IN_PROGRESS}`]);
  });

  it('too-large metadata fails only its partition', async () => {
    const h = await harness({ offsetMetadataMaxBytes: 8 });
    const r = await h.coordinator.offsetCommit(8, commitRequest(G, [['t', 0, 1, '12345678'], ['t', 1, 1, '123456789']]), ctx);
    expect(errorsOf(r)).toEqual(['t-0:0', `t-1:${ErrorCode.OFFSET_METADATA_TOO_LARGE}`]);
    const f = await fetchV7(h, G, null);
    expect(f.topics[0]!.partitions.map((p) => p.partitionIndex)).toEqual([0]);
  });

  it('write-then-ack: a failed append fails the commit and leaves the old offset', async () => {
    const h = await harness();
    await h.coordinator.offsetCommit(8, commitRequest(G, [['t', 0, 1]]), ctx);
    h.store.failNext = Object.assign(new Error('disk full'), { errorCode: ErrorCode.NOT_COORDINATOR });
    const failed = await h.coordinator.offsetCommit(8, commitRequest(G, [['t', 0, 2]]), ctx);
    expect(errorsOf(failed)).toEqual([`t-0:${ErrorCode.NOT_COORDINATOR}`]);
    expect((await fetchV7(h, G, null)).topics[0]!.partitions[0]!.committedOffset).toBe(1);
    h.store.failNext = new Error('no code');
    const failed2 = await h.coordinator.offsetCommit(8, commitRequest(G, [['t', 0, 3]]), ctx);
    expect(errorsOf(failed2)).toEqual([`t-0:${ErrorCode.COORDINATOR_NOT_AVAILABLE}`]);
  });

  it('requireStable reports a commit still being written as UNSTABLE_OFFSET_COMMIT', async () => {
    const h = await harness();
    const commit = track(h.coordinator.offsetCommit(8, commitRequest(G, [['t', 0, 1]]), ctx));
    const stable = await h.coordinator.offsetFetch(8, { groupId: '', topics: null, requireStable: true, groups: [{ groupId: G, memberId: null, memberEpoch: -1, topics: [{ name: 't', partitionIndexes: [0] }] }] }, ctx);
    expect(stable.groups[0]!.topics[0]!.partitions[0]!.errorCode).toBe(ErrorCode.UNSTABLE_OFFSET_COMMIT);
    await flush();
    expect(commit.done).toBe(true);
  });

  it('v0/v1 fetch carries group errors on each partition, v2+ at the top', async () => {
    const h = await harness({ offsetsTopicNumPartitions: 4 });
    h.coordinator.unloadPartition(h.coordinator.partitionFor(G));
    const v1 = await h.coordinator.offsetFetch(1, { groupId: G, topics: [{ name: 't', partitionIndexes: [0] }], groups: [], requireStable: false }, ctx);
    expect(v1.topics[0]!.partitions[0]!.errorCode).toBe(ErrorCode.NOT_COORDINATOR);
    const v5 = await h.coordinator.offsetFetch(5, { groupId: G, topics: [{ name: 't', partitionIndexes: [0] }], groups: [], requireStable: false }, ctx);
    expect(v5.errorCode).toBe(ErrorCode.NOT_COORDINATOR);
    expect(v5.topics).toEqual([]);
  });

  it('v2-4 retention and the broker retention expire offsets of Empty groups', async () => {
    const h = await harness({ offsetsRetentionMinutes: 60 });
    await h.coordinator.offsetCommit(8, commitRequest('simple', [['t', 0, 1]]), ctx);
    await h.coordinator.offsetCommit(3, { ...commitRequest('short', [['t', 0, 1]]), retentionTimeMs: 60_000 }, ctx);
    // A consumer group that went Empty when its last member left.
    const [a] = await stableGroup(h, 'consumers', 1);
    await h.coordinator.offsetCommit(8, commitRequest('consumers', [['t', 0, 5]], { generationId: 1, memberId: a!.memberId }), ctx);
    await h.coordinator.leaveGroup(3, { groupId: 'consumers', memberId: '', members: [{ memberId: a!.memberId, groupInstanceId: null, reason: null }] }, ctx);
    expect(h.coordinator.inspectGroup('consumers')?.state).toBe('Empty');

    h.timer.advance(60_000);
    let expired = h.coordinator.expireOffsets(h.clock.nowMs());
    expect(expired.flatMap((e) => e.records).length).toBe(2); // 'short': offset + group tombstone
    expect(h.coordinator.inspectGroup('short')).toBeUndefined();
    expect(h.coordinator.inspectGroup('simple')?.offsets.length).toBe(1);

    h.timer.advance(59 * 60_000);
    expired = h.coordinator.expireOffsets(h.clock.nowMs());
    const keys = expired.flatMap((e) => e.records);
    expect(keys.every((r) => r.value === null)).toBe(true);
    expect(keys.length).toBe(4);
    expect(h.coordinator.inspectGroup('simple')).toBeUndefined();
    expect(h.coordinator.inspectGroup('consumers')).toBeUndefined();
    expect((await fetchV7(h, 'consumers', null)).topics).toEqual([]);
  });

  it('a stable consumer group keeps offsets of subscribed topics and expires the rest', async () => {
    const h = await harness({ offsetsRetentionMinutes: 1 });
    const [a] = await stableGroup(h, G, 1, [{ protocols: [{ name: 'range', metadata: subscription('orders') }] }]);
    await h.coordinator.offsetCommit(8, commitRequest(G, [['orders', 0, 5], ['old-topic', 0, 9]], { generationId: 1, memberId: a!.memberId }), ctx);
    for (let i = 0; i < 18; i++) {
      h.timer.advance(5000);
      const hb = await h.coordinator.heartbeat(4, { groupId: G, memberId: a!.memberId, generationId: 1, groupInstanceId: null }, ctx);
      expect(hb.errorCode).toBe(ErrorCode.NONE);
    }
    const expired = h.coordinator.expireOffsets(h.clock.nowMs());
    expect(expired.flatMap((e) => e.records).length).toBe(1);
    expect(h.coordinator.inspectGroup(G)?.offsets.map((o) => o.topic)).toEqual(['orders']);
  });
});

describe('OffsetDelete', () => {
  it('refuses subscribed topics of an active consumer group and deletes the rest', async () => {
    const h = await harness();
    const [a] = await stableGroup(h, G, 1, [{ protocols: [{ name: 'range', metadata: subscription('orders') }] }]);
    await h.coordinator.offsetCommit(8, commitRequest(G, [['orders', 0, 5], ['legacy', 0, 9], ['legacy', 1, 9]], { generationId: 1, memberId: a!.memberId }), ctx);
    const r = await h.coordinator.offsetDelete(0, { groupId: G, topics: [{ name: 'orders', partitions: [{ partitionIndex: 0 }] }, { name: 'legacy', partitions: [{ partitionIndex: 0 }] }] }, ctx);
    expect(r.errorCode).toBe(ErrorCode.NONE);
    expect(errorsOf(r)).toEqual([`orders-0:${ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC}`, 'legacy-0:0']);
    expect(h.coordinator.inspectGroup(G)?.offsets.map((o) => `${o.topic}-${o.partition}`).sort()).toEqual(['legacy-1', 'orders-0']);
    const log = h.store.records(h.coordinator.partitionFor(G));
    expect(log[log.length - 1]!.value).toBeNull();
    expect((await h.coordinator.offsetDelete(0, { groupId: 'missing', topics: [] }, ctx)).errorCode).toBe(ErrorCode.GROUP_ID_NOT_FOUND);
  });

  it('deletes anything from an Empty group', async () => {
    const h = await harness();
    await h.coordinator.offsetCommit(8, commitRequest(G, [['orders', 0, 5]]), ctx);
    const r = await h.coordinator.offsetDelete(0, { groupId: G, topics: [{ name: 'orders', partitions: [{ partitionIndex: 0 }] }] }, ctx);
    expect(errorsOf(r)).toEqual(['orders-0:0']);
    expect(h.coordinator.inspectGroup(G)?.offsets).toEqual([]);
  });
});
