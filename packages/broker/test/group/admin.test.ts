import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/group/errors.ts';
import { decodeGroupRecordKey } from '../../src/group/records.ts';
import { ctx, flush, harness, joinRequest, stableGroup, subscription, track } from './helpers.ts';

const simpleCommit = (groupId: string) => ({
  groupId,
  generationIdOrMemberEpoch: -1,
  memberId: '',
  groupInstanceId: null,
  retentionTimeMs: -1,
  topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 1, committedLeaderEpoch: -1, commitTimestamp: -1, committedMetadata: null }] }],
});

describe('DescribeGroups, ListGroups, DeleteGroups', () => {
  it('describes a stable group with metadata and assignments, and unknown groups as Dead', async () => {
    const h = await harness();
    const [a] = await stableGroup(h, 'stable', 1, [{ protocols: [{ name: 'range', metadata: subscription('orders') }] }]);
    const r = await h.coordinator.describeGroups(5, { groups: ['stable', 'missing'], includeAuthorizedOperations: true }, { ...ctx });
    expect(r.groups[0]).toEqual({
      errorCode: 0,
      groupId: 'stable',
      groupState: 'Stable',
      protocolType: 'consumer',
      protocolData: 'range',
      members: [{ memberId: a!.memberId, groupInstanceId: null, clientId: 'c0', clientHost: '/127.0.0.1', memberMetadata: subscription('orders'), memberAssignment: Buffer.from(`assignment-${a!.memberId}`) }],
      authorizedOperations: (1 << 3) | (1 << 6) | (1 << 8),
    });
    expect(r.groups[1]).toMatchObject({ errorCode: 0, groupId: 'missing', groupState: 'Dead', members: [] });
  });

  it('lists groups with state and type filters', async () => {
    const h = await harness();
    await stableGroup(h, 'stable', 1);
    await h.coordinator.offsetCommit(8, simpleCommit('simple'), ctx);
    track(h.coordinator.joinGroup(3, joinRequest('joining'), ctx));
    await flush();
    const list = async (statesFilter: string[], typesFilter: string[] = []) =>
      (await h.coordinator.listGroups(5, { statesFilter, typesFilter }, ctx)).groups.map((g) => `${g.groupId}:${g.groupState}:${g.protocolType}:${g.groupType}`).sort();
    expect(await list([])).toEqual(['joining:PreparingRebalance:consumer:classic', 'simple:Empty::classic', 'stable:Stable:consumer:classic']);
    expect(await list(['Stable'])).toEqual(['stable:Stable:consumer:classic']);
    expect(await list(['empty', 'preparingrebalance'])).toEqual(['joining:PreparingRebalance:consumer:classic', 'simple:Empty::classic']);
    expect(await list([], ['Classic'])).toHaveLength(3);
    expect(await list([], ['consumer'])).toEqual([]);
  });

  it('deletes only Empty groups, writing tombstones for their offsets and metadata', async () => {
    const h = await harness();
    await stableGroup(h, 'busy', 1);
    await h.coordinator.offsetCommit(8, simpleCommit('idle'), ctx);
    const r = await h.coordinator.deleteGroups(2, { groupsNames: ['idle', 'busy', 'missing', ''] }, ctx);
    expect(r.results).toEqual([
      { groupId: 'idle', errorCode: ErrorCode.NONE },
      { groupId: 'busy', errorCode: ErrorCode.NON_EMPTY_GROUP },
      { groupId: 'missing', errorCode: ErrorCode.GROUP_ID_NOT_FOUND },
      { groupId: '', errorCode: ErrorCode.INVALID_GROUP_ID },
    ]);
    const tombstones = h.store.records(h.coordinator.partitionFor('idle')).filter((rec) => rec.value === null).map((rec) => decodeGroupRecordKey(rec.key));
    expect(tombstones).toEqual([
      { type: 'offset', groupId: 'idle', topic: 't', partition: 0 },
      { type: 'group', groupId: 'idle' },
    ]);
    expect(h.coordinator.inspectGroup('idle')).toBeUndefined();
    expect(h.coordinator.inspectGroup('busy')?.state).toBe('Stable');
    const fetched = await h.coordinator.offsetFetch(7, { groupId: 'idle', topics: [{ name: 't', partitionIndexes: [0] }], groups: [], requireStable: false }, ctx);
    expect(fetched.topics[0]!.partitions[0]!.committedOffset).toBe(-1);
  });
});
