import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/group/errors.ts';
import { ctx, flush, harness, heartbeat, joinRequest, stableGroup, syncAs, track } from './helpers.ts';

const G = 'edges';

describe('rebalance edge cases', () => {
  it('a static leader rejoining with v9 gets the members and skipAssignment, without a rebalance', async () => {
    const h = await harness();
    const [leader, follower] = await stableGroup(h, G, 2, [{ groupInstanceId: 'lead' }, { groupInstanceId: 'follow' }]);
    const rejoin = await h.coordinator.joinGroup(9, joinRequest(G, '', { groupInstanceId: 'lead' }), ctx);
    expect(rejoin.errorCode).toBe(ErrorCode.NONE);
    expect(rejoin.skipAssignment).toBe(true);
    expect(rejoin.leader).toBe(rejoin.memberId);
    expect(rejoin.generationId).toBe(1);
    expect(rejoin.members.map((m) => m.groupInstanceId)).toEqual(['lead', 'follow']);
    expect(h.coordinator.inspectGroup(G)?.state).toBe('Stable');
    expect((await heartbeat(h, G, follower!.memberId, 1)).errorCode).toBe(ErrorCode.NONE);
    expect((await heartbeat(h, G, leader!.memberId, 1, 'lead')).errorCode).toBe(ErrorCode.FENCED_INSTANCE_ID);
  });

  it('a static leader rejoining before v9 forces a rebalance', async () => {
    const h = await harness();
    await stableGroup(h, G, 2, [{ groupInstanceId: 'lead' }, { groupInstanceId: 'follow' }]);
    const rejoin = track(h.coordinator.joinGroup(5, joinRequest(G, '', { groupInstanceId: 'lead' }), ctx));
    await flush();
    expect(rejoin.done).toBe(false);
    expect(h.coordinator.inspectGroup(G)?.state).toBe('PreparingRebalance');
  });

  it('members that never send SyncGroup are removed after the rebalance timeout', async () => {
    const h = await harness();
    const joins = [track(h.coordinator.joinGroup(3, joinRequest(G), ctx)), track(h.coordinator.joinGroup(3, joinRequest(G), ctx))];
    h.timer.advance(6000);
    await flush();
    const [a, b] = joins.map((j) => j.value);
    const leader = a!.members.length > 0 ? a! : b!;
    const silent = leader === a ? b! : a!;
    await syncAs(h, G, leader, [{ memberId: leader.memberId, assignment: Buffer.from('l') }]);
    expect(h.coordinator.inspectGroup(G)?.state).toBe('Stable');
    // The silent member heartbeats (so its session lives) but never syncs.
    for (let t = 0; t < 30_000; t += 5000) {
      await heartbeat(h, G, silent.memberId, 1);
      await heartbeat(h, G, leader.memberId, 1);
      h.timer.advance(5000);
    }
    const group = h.coordinator.inspectGroup(G);
    expect(group?.members.map((m) => m.memberId)).toEqual([leader.memberId]);
    expect(group?.state).toBe('PreparingRebalance');
  });

  it('a repeated JoinGroup supersedes the parked one', async () => {
    const h = await harness();
    const [a, b] = await stableGroup(h, G, 2);
    const first = track(h.coordinator.joinGroup(3, joinRequest(G, a!.memberId), ctx));
    await flush();
    const second = track(h.coordinator.joinGroup(3, joinRequest(G, a!.memberId), ctx));
    await flush();
    expect(first.value.errorCode).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    expect(second.done).toBe(false);
    await h.coordinator.joinGroup(3, joinRequest(G, b!.memberId), ctx);
    await flush();
    expect(second.value.generationId).toBe(2);
  });
});
