import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/group/errors.ts';
import { ctx, flush, harness, heartbeat, joinRequest, stableGroup, subscription, syncAs, track } from './helpers.ts';

const G = 'payments';

describe('JoinGroup and SyncGroup', () => {
  it('two members join one generation; the leader alone receives the member metadata', async () => {
    const h = await harness();
    const a = track(h.coordinator.joinGroup(3, joinRequest(G, '', { protocols: [{ name: 'range', metadata: subscription('orders') }] }), { ...ctx, clientId: 'a' }));
    const b = track(h.coordinator.joinGroup(3, joinRequest(G, '', { protocols: [{ name: 'range', metadata: subscription('refunds') }] }), { ...ctx, clientId: 'b' }));
    await flush();
    // The initial rebalance delay holds the first generation open for more members.
    expect(a.done).toBe(false);
    expect(h.coordinator.inspectGroup(G)?.state).toBe('PreparingRebalance');
    h.timer.advance(3000);
    await flush();
    // b arrived during the first delay window, so the delay runs once more (Kafka's InitialDelayedJoin).
    expect(a.done).toBe(false);
    h.timer.advance(2999);
    await flush();
    expect(a.done).toBe(false);
    h.timer.advance(1);
    await flush();

    expect(a.value.errorCode).toBe(ErrorCode.NONE);
    expect(b.value.errorCode).toBe(ErrorCode.NONE);
    expect(a.value.generationId).toBe(1);
    expect(b.value.generationId).toBe(1);
    expect(a.value.memberId).toMatch(/^a-[0-9a-f-]{36}$/);
    expect(a.value.leader).toBe(a.value.memberId);
    expect(b.value.leader).toBe(a.value.memberId);
    expect(a.value.protocolName).toBe('range');
    expect(a.value.members.map((m) => [m.memberId, m.metadata])).toEqual([
      [a.value.memberId, subscription('orders')],
      [b.value.memberId, subscription('refunds')],
    ]);
    expect(b.value.members).toEqual([]);
    expect(h.coordinator.inspectGroup(G)?.state).toBe('CompletingRebalance');

    // The follower's sync waits for the leader's assignment.
    const bSync = track(syncAs(h, G, b.value));
    await flush();
    expect(bSync.done).toBe(false);
    const aSync = await syncAs(h, G, a.value, [
      { memberId: a.value.memberId, assignment: Buffer.from('for-a') },
      { memberId: b.value.memberId, assignment: Buffer.from('for-b') },
    ]);
    await flush();
    expect(aSync.errorCode).toBe(ErrorCode.NONE);
    expect(aSync.assignment.toString()).toBe('for-a');
    expect(bSync.value.errorCode).toBe(ErrorCode.NONE);
    expect(bSync.value.assignment.toString()).toBe('for-b');
    expect(h.coordinator.inspectGroup(G)?.state).toBe('Stable');
    // The assignment was written before the members heard of it.
    expect(h.store.records(h.coordinator.partitionFor(G)).length).toBe(1);
    expect((await heartbeat(h, G, b.value.memberId, 1)).errorCode).toBe(ErrorCode.NONE);
  });

  it('a third member triggers a rebalance into the next generation', async () => {
    const h = await harness();
    const [a, b] = await stableGroup(h, G, 2);
    const c = track(h.coordinator.joinGroup(3, joinRequest(G), { ...ctx, clientId: 'c' }));
    await flush();
    expect(c.done).toBe(false);
    expect(h.coordinator.inspectGroup(G)?.state).toBe('PreparingRebalance');
    // Existing members learn of the rebalance from their heartbeat.
    expect((await heartbeat(h, G, a!.memberId, 1)).errorCode).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    expect((await syncAs(h, G, b!)).errorCode).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    const a2 = track(h.coordinator.joinGroup(3, joinRequest(G, a!.memberId), ctx));
    await flush();
    expect(a2.done).toBe(false);
    const b2 = track(h.coordinator.joinGroup(3, joinRequest(G, b!.memberId), ctx));
    await flush();
    // All known members rejoined: no waiting for the rebalance timeout.
    for (const r of [a2, b2, c]) {
      expect(r.value.errorCode).toBe(ErrorCode.NONE);
      expect(r.value.generationId).toBe(2);
    }
    expect(a2.value.members.map((m) => m.memberId).sort()).toEqual([a!.memberId, b!.memberId, c.value.memberId].sort());
    expect((await heartbeat(h, G, a!.memberId, 1)).errorCode).toBe(ErrorCode.ILLEGAL_GENERATION);
  });

  it('members that do not rejoin within the rebalance timeout are removed', async () => {
    const h = await harness();
    const [a, b] = await stableGroup(h, G, 2);
    // Keep b's session alive while it ignores the rebalance.
    const a2 = track(h.coordinator.joinGroup(3, joinRequest(G, a!.memberId), ctx));
    await flush();
    for (let t = 0; t < 30_000; t += 5000) {
      expect((await heartbeat(h, G, b!.memberId, 1)).errorCode).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
      h.timer.advance(5000);
    }
    await flush();
    expect(a2.value.errorCode).toBe(ErrorCode.NONE);
    expect(a2.value.generationId).toBe(2);
    expect(a2.value.members.map((m) => m.memberId)).toEqual([a!.memberId]);
    expect((await heartbeat(h, G, b!.memberId, 2)).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('a member that stops heartbeating is removed after its session timeout, and the group rebalances', async () => {
    const h = await harness();
    const [a, b] = await stableGroup(h, G, 2);
    for (let t = 0; t < 9000; t += 3000) {
      h.timer.advance(3000);
      expect((await heartbeat(h, G, a!.memberId, 1)).errorCode).toBe(ErrorCode.NONE);
    }
    expect(h.coordinator.inspectGroup(G)?.members.length).toBe(2);
    h.timer.advance(1000); // b's 10 s session ends
    expect(h.coordinator.inspectGroup(G)?.members.map((m) => m.memberId)).toEqual([a!.memberId]);
    expect(h.coordinator.inspectGroup(G)?.state).toBe('PreparingRebalance');
    expect((await heartbeat(h, G, b!.memberId, 1)).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect((await heartbeat(h, G, a!.memberId, 1)).errorCode).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    const a2 = await h.coordinator.joinGroup(3, joinRequest(G, a!.memberId), ctx);
    expect(a2.generationId).toBe(2);
    expect(a2.leader).toBe(a!.memberId);
  });

  it('the last member timing out leaves the group Empty with its metadata persisted', async () => {
    const h = await harness();
    await stableGroup(h, G, 1);
    h.timer.advance(10_000);
    await flush();
    const group = h.coordinator.inspectGroup(G);
    expect(group?.state).toBe('Empty');
    expect(group?.generationId).toBe(2);
    expect(h.store.records(h.coordinator.partitionFor(G)).length).toBe(2);
  });

  it('MEMBER_ID_REQUIRED: from v4 a new member gets an id to rejoin with', async () => {
    const h = await harness({ groupInitialRebalanceDelayMs: 0 });
    const first = await h.coordinator.joinGroup(4, joinRequest(G), { ...ctx, clientId: 'app' });
    expect(first.errorCode).toBe(ErrorCode.MEMBER_ID_REQUIRED);
    expect(first.memberId).toMatch(/^app-/);
    expect(first.generationId).toBe(-1);
    expect(h.coordinator.inspectGroup(G)?.pendingMemberIds).toEqual([first.memberId]);
    const second = await h.coordinator.joinGroup(4, joinRequest(G, first.memberId), ctx);
    expect(second.errorCode).toBe(ErrorCode.NONE);
    expect(second.memberId).toBe(first.memberId);
    expect(second.generationId).toBe(1);
    expect(second.leader).toBe(first.memberId);
    // v3 and older get a member id straight away.
    const old = await h.coordinator.joinGroup(3, joinRequest('other'), ctx);
    expect(old.errorCode).toBe(ErrorCode.NONE);
  });

  it('a pending member id expires if the member never comes back', async () => {
    const h = await harness({ groupInitialRebalanceDelayMs: 0 });
    const first = await h.coordinator.joinGroup(6, joinRequest(G), ctx);
    expect(first.errorCode).toBe(ErrorCode.MEMBER_ID_REQUIRED);
    h.timer.advance(10_000);
    expect(h.coordinator.inspectGroup(G)).toBeUndefined();
    const late = await h.coordinator.joinGroup(6, joinRequest(G, first.memberId), ctx);
    expect(late.errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('selects the protocol all members support with the most first-choice votes', async () => {
    const h = await harness();
    const p = (...names: string[]) => names.map((name) => ({ name, metadata: Buffer.from(name) }));
    const joins = [p('range', 'roundrobin', 'sticky'), p('sticky', 'range'), p('sticky', 'roundrobin', 'range')].map((protocols) =>
      track(h.coordinator.joinGroup(3, joinRequest(G, '', { protocols }), ctx)),
    );
    h.timer.advance(6000);
    await flush();
    for (const j of joins) expect(j.value.protocolName).toBe('sticky');
    expect(joins[0]!.value.members.map((m) => m.metadata.toString())).toEqual(['sticky', 'sticky', 'sticky']);
  });

  it('rejects a member whose protocol type or protocols do not fit the group', async () => {
    const h = await harness();
    await stableGroup(h, G, 1);
    const wrongType = await h.coordinator.joinGroup(3, joinRequest(G, '', { protocolType: 'connect' }), ctx);
    expect(wrongType.errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    const noCommon = await h.coordinator.joinGroup(3, joinRequest(G, '', { protocols: [{ name: 'cooperative-sticky', metadata: Buffer.alloc(0) }] }), ctx);
    expect(noCommon.errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    const none = await h.coordinator.joinGroup(3, joinRequest('fresh', '', { protocols: [] }), ctx);
    expect(none.errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    expect(h.coordinator.inspectGroup('fresh')).toBeUndefined();
    expect(h.coordinator.inspectGroup(G)?.members.length).toBe(1);
  });

  it('v0 uses the session timeout as rebalance timeout', async () => {
    const h = await harness();
    const v0 = { sessionTimeoutMs: 6000, rebalanceTimeoutMs: -1 };
    const [a, b] = await stableGroup(h, G, 2, [v0, v0]);
    const a2 = track(h.coordinator.joinGroup(0, joinRequest(G, a!.memberId, v0), ctx));
    await flush();
    h.timer.advance(3000);
    expect((await heartbeat(h, G, b!.memberId, 1)).errorCode).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    h.timer.advance(2999);
    await flush();
    expect(a2.done).toBe(false);
    // 6 s after the rebalance began, b (which heartbeats but never rejoined) is dropped.
    h.timer.advance(1);
    await flush();
    expect(a2.value.errorCode).toBe(ErrorCode.NONE);
    expect(a2.value.generationId).toBe(2);
    expect(a2.value.members.map((m) => m.memberId)).toEqual([a!.memberId]);
  });
});

describe('static membership', () => {
  it('a restarted instance rejoining with a new member id fences the old id without a rebalance', async () => {
    const h = await harness();
    const [leader, follower] = await stableGroup(h, G, 2, [{ groupInstanceId: 'host-1' }, { groupInstanceId: 'host-2' }]);
    const rejoin = await h.coordinator.joinGroup(5, joinRequest(G, '', { groupInstanceId: 'host-2' }), { ...ctx, clientId: 'restarted' });
    expect(rejoin.errorCode).toBe(ErrorCode.NONE);
    expect(rejoin.memberId).not.toBe(follower!.memberId);
    expect(rejoin.memberId).toMatch(/^host-2-/);
    expect(rejoin.generationId).toBe(1);
    expect(rejoin.leader).toBe(leader!.memberId);
    expect(h.coordinator.inspectGroup(G)?.state).toBe('Stable');
    // The new id takes over the old one's assignment.
    const sync = await syncAs(h, G, rejoin);
    expect(sync.assignment.toString()).toBe(`assignment-${follower!.memberId}`);
    // The old incarnation is fenced.
    expect((await heartbeat(h, G, follower!.memberId, 1, 'host-2')).errorCode).toBe(ErrorCode.FENCED_INSTANCE_ID);
    const commit = await h.coordinator.offsetCommit(
      7,
      { groupId: G, generationIdOrMemberEpoch: 1, memberId: follower!.memberId, groupInstanceId: 'host-2', retentionTimeMs: -1, topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, committedOffset: 5, committedLeaderEpoch: -1, commitTimestamp: -1, committedMetadata: null }] }] },
      ctx,
    );
    expect(commit.topics[0]!.partitions[0]!.errorCode).toBe(ErrorCode.FENCED_INSTANCE_ID);
    expect((await heartbeat(h, G, rejoin.memberId, 1, 'host-2')).errorCode).toBe(ErrorCode.NONE);
  });

  it('a fenced instance parked in a rebalance is answered FENCED_INSTANCE_ID', async () => {
    const h = await harness();
    const [, follower] = await stableGroup(h, G, 2, [{ groupInstanceId: 'host-1' }, { groupInstanceId: 'host-2' }]);
    const parked = track(h.coordinator.joinGroup(5, joinRequest(G, follower!.memberId, { groupInstanceId: 'host-2', protocols: [{ name: 'range', metadata: subscription('new-topic') }] }), ctx));
    await flush();
    expect(parked.done).toBe(false);
    const replacement = track(h.coordinator.joinGroup(5, joinRequest(G, '', { groupInstanceId: 'host-2' }), ctx));
    await flush();
    expect(parked.value.errorCode).toBe(ErrorCode.FENCED_INSTANCE_ID);
    expect(replacement.done).toBe(false);
  });

  it('a static member that leaves by instance id is removed and the group rebalances', async () => {
    const h = await harness();
    await stableGroup(h, G, 2, [{ groupInstanceId: 'host-1' }, { groupInstanceId: 'host-2' }]);
    const leave = await h.coordinator.leaveGroup(4, { groupId: G, memberId: '', members: [{ memberId: '', groupInstanceId: 'host-2', reason: null }, { memberId: '', groupInstanceId: 'host-9', reason: null }] }, ctx);
    expect(leave.members.map((m) => m.errorCode)).toEqual([ErrorCode.NONE, ErrorCode.UNKNOWN_MEMBER_ID]);
    expect(h.coordinator.inspectGroup(G)?.members.map((m) => m.groupInstanceId)).toEqual(['host-1']);
    expect(h.coordinator.inspectGroup(G)?.state).toBe('PreparingRebalance');
  });
});

describe('member and generation checks', () => {
  it('wrong generation gets ILLEGAL_GENERATION', async () => {
    const h = await harness();
    const [a] = await stableGroup(h, G, 1);
    expect((await heartbeat(h, G, a!.memberId, 7)).errorCode).toBe(ErrorCode.ILLEGAL_GENERATION);
    expect((await syncAs(h, G, { ...a!, generationId: 0 })).errorCode).toBe(ErrorCode.ILLEGAL_GENERATION);
    const commit = await h.coordinator.offsetCommit(
      8,
      { groupId: G, generationIdOrMemberEpoch: 3, memberId: a!.memberId, groupInstanceId: null, retentionTimeMs: -1, topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, committedOffset: 1, committedLeaderEpoch: -1, commitTimestamp: -1, committedMetadata: null }] }] },
      ctx,
    );
    expect(commit.topics[0]!.partitions[0]!.errorCode).toBe(ErrorCode.ILLEGAL_GENERATION);
  });

  it('unknown members get UNKNOWN_MEMBER_ID', async () => {
    const h = await harness();
    await stableGroup(h, G, 1);
    expect((await heartbeat(h, G, 'nobody', 1)).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect((await heartbeat(h, 'no-such-group', 'nobody', 1)).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect((await h.coordinator.joinGroup(5, joinRequest(G, 'nobody'), ctx)).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect((await h.coordinator.joinGroup(5, joinRequest('no-such-group', 'nobody'), ctx)).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect((await syncAs(h, G, { ...(await stableGroupJoinShape()), memberId: 'nobody', generationId: 1 })).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    const leave = await h.coordinator.leaveGroup(0, { groupId: G, memberId: 'nobody', members: [] }, ctx);
    expect(leave.errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('rejects session timeouts outside the configured bounds and empty group ids', async () => {
    const h = await harness();
    expect((await h.coordinator.joinGroup(5, joinRequest(G, '', { sessionTimeoutMs: 5999 }), ctx)).errorCode).toBe(ErrorCode.INVALID_SESSION_TIMEOUT);
    expect((await h.coordinator.joinGroup(5, joinRequest(G, '', { sessionTimeoutMs: 1_800_001 }), ctx)).errorCode).toBe(ErrorCode.INVALID_SESSION_TIMEOUT);
    expect((await h.coordinator.joinGroup(5, joinRequest(''), ctx)).errorCode).toBe(ErrorCode.INVALID_GROUP_ID);
  });

  it('LeaveGroup v0 removes one member; v3 batches', async () => {
    const h = await harness();
    const [a, b, c] = await stableGroup(h, G, 3);
    const v0 = await h.coordinator.leaveGroup(0, { groupId: G, memberId: a!.memberId, members: [] }, ctx);
    expect(v0.errorCode).toBe(ErrorCode.NONE);
    const v3 = await h.coordinator.leaveGroup(3, { groupId: G, memberId: '', members: [{ memberId: b!.memberId, groupInstanceId: null, reason: null }, { memberId: c!.memberId, groupInstanceId: null, reason: null }] }, ctx);
    expect(v3.errorCode).toBe(ErrorCode.NONE);
    expect(v3.members.map((m) => m.errorCode)).toEqual([ErrorCode.NONE, ErrorCode.NONE]);
    const group = h.coordinator.inspectGroup(G);
    expect(group?.state).toBe('Empty');
    expect(group?.members).toEqual([]);
  });
});

describe('bounds', () => {
  it('rejects member metadata beyond groupMaxMemberMetadataBytes', async () => {
    const h = await harness({ groupMaxMemberMetadataBytes: 1024, groupInitialRebalanceDelayMs: 0 });
    const huge = await h.coordinator.joinGroup(5, joinRequest(G, '', { protocols: [{ name: 'range', metadata: Buffer.alloc(1025) }] }), ctx);
    expect(huge.errorCode).toBe(ErrorCode.INVALID_REQUEST);
    expect(h.coordinator.inspectGroup(G)).toBeUndefined();
    const fits = await h.coordinator.joinGroup(3, joinRequest(G, '', { protocols: [{ name: 'range', metadata: Buffer.alloc(1024) }] }), { ...ctx });
    expect(fits.errorCode).toBe(ErrorCode.NONE);
  });

  it('refuses members beyond group.max.size, counting members awaiting their id', async () => {
    const h = await harness({ groupMaxSize: 2 });
    const a = track(h.coordinator.joinGroup(3, joinRequest(G), ctx));
    const pending = await h.coordinator.joinGroup(5, joinRequest(G), ctx);
    expect(pending.errorCode).toBe(ErrorCode.MEMBER_ID_REQUIRED);
    const third = await h.coordinator.joinGroup(5, joinRequest(G), ctx);
    expect(third.errorCode).toBe(ErrorCode.GROUP_MAX_SIZE_REACHED);
    const b = track(h.coordinator.joinGroup(5, joinRequest(G, pending.memberId), ctx));
    h.timer.advance(6000);
    await flush();
    expect(a.value.errorCode).toBe(ErrorCode.NONE);
    expect(b.value.errorCode).toBe(ErrorCode.NONE);
    expect(a.value.generationId).toBe(1);
    expect((await h.coordinator.joinGroup(3, joinRequest(G), ctx)).errorCode).toBe(ErrorCode.GROUP_MAX_SIZE_REACHED);
  });

  it('refuses new groups beyond groupMaxCount', async () => {
    const h = await harness({ groupMaxCount: 1, groupInitialRebalanceDelayMs: 0 });
    expect((await h.coordinator.joinGroup(3, joinRequest('g1'), ctx)).errorCode).toBe(ErrorCode.NONE);
    expect((await h.coordinator.joinGroup(3, joinRequest('g2'), ctx)).errorCode).toBe(ErrorCode.COORDINATOR_NOT_AVAILABLE);
  });
});

async function stableGroupJoinShape() {
  return { throttleTimeMs: 0, errorCode: 0, generationId: 1, protocolType: 'consumer', protocolName: 'range', leader: '', skipAssignment: false, memberId: '', members: [] };
}
