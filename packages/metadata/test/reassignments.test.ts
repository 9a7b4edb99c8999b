import { describe, expect, it } from 'vitest';
import {
  alterPartition,
  alterPartitionReassignments,
  apply,
  decodeSnapshot,
  electLeaders,
  ElectionType,
  encodeSnapshot,
  ErrorCode,
  imageInvariantViolations,
  imagesEqual,
  listPartitionReassignments,
  type AlterPartitionReassignmentsResponse,
  type MetadataImage,
} from '../src/index.ts';
import { TestCluster, testContext } from './harness.ts';

/** Brokers 1..5 unfenced; topic `t` with partitions on [1, 2, 3] (led by 1) and [2, 3, 4] (led by 2). */
function cluster(c = new TestCluster()): { c: TestCluster; topicId: string } {
  c.addBrokers([1, 2, 3, 4, 5]);
  const topicId = c.createTopic('t', -1, -1, {
    assignments: [
      { partitionIndex: 0, brokerIds: [1, 2, 3] },
      { partitionIndex: 1, brokerIds: [2, 3, 4] },
    ],
  });
  return { c, topicId };
}

function reassign(c: TestCluster, partitions: { partitionIndex: number; replicas: number[] | null }[], name = 't') {
  return alterPartitionReassignments(c.image, { topics: [{ name, partitions }] }, c.ctx);
}

const errors = (r: AlterPartitionReassignmentsResponse): number[] => r.responses.flatMap((t) => t.partitions.map((p) => p.errorCode));

/** The leader's AlterPartition setting the ISR of t-<index>. */
function setIsr(c: TestCluster, topicId: string, index: number, isr: number[]) {
  const p = c.image.partition(topicId, index)!;
  return alterPartition(c.image, {
    brokerId: p.leader,
    brokerEpoch: c.image.broker(p.leader)!.brokerEpoch,
    topics: [{ topicId, partitions: [{ partitionIndex: index, leaderEpoch: p.leaderEpoch, partitionEpoch: p.partitionEpoch, newIsrWithEpochs: isr.map((brokerId) => ({ brokerId, brokerEpoch: -1 })) }] }],
  });
}

function expectSound(image: MetadataImage): void {
  expect(imageInvariantViolations(image)).toEqual([]);
  expect(imagesEqual(decodeSnapshot(encodeSnapshot(image)), image)).toBe(true);
}

describe('alterPartitionReassignments', () => {
  it('adds the new replicas next to the old ones, then completes when the leader puts them in the ISR (leader handed over)', () => {
    const { c, topicId } = cluster();
    const start = reassign(c, [{ partitionIndex: 0, replicas: [2, 3, 4] }]);
    expect(start.response).toEqual({ errorCode: ErrorCode.NONE, errorMessage: null, responses: [{ name: 't', partitions: [{ partitionIndex: 0, errorCode: ErrorCode.NONE, errorMessage: null }] }] });
    // Target first (the preferred leader becomes 2), the replica being removed last; the leader and ISR stay.
    expect(start.records).toEqual([
      { type: 'partition-change', topicId, partitionId: 0, leader: -2, isr: null, replicas: [2, 3, 4, 1], addingReplicas: [4], removingReplicas: [1] },
    ]);
    c.commit(start);
    expect(c.image.partition(topicId, 0)).toMatchObject({ replicas: [2, 3, 4, 1], isr: [1, 2, 3], leader: 1, leaderEpoch: 0, partitionEpoch: 1, addingReplicas: [4], removingReplicas: [1] });
    expectSound(c.image);
    expect(listPartitionReassignments(c.image, { topics: null })).toEqual({
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      topics: [{ name: 't', partitions: [{ partitionIndex: 0, replicas: [2, 3, 4, 1], addingReplicas: [4], removingReplicas: [1] }] }],
    });

    // Broker 4 caught up: the leader's ISR expansion completes the reassignment in the same record.
    const grow = setIsr(c, topicId, 0, [1, 2, 3, 4]);
    expect(grow.records).toEqual([
      { type: 'partition-change', topicId, partitionId: 0, leader: 2, isr: [2, 3, 4], replicas: [2, 3, 4], addingReplicas: [], removingReplicas: [] },
    ]);
    expect(grow.response.topics[0]!.partitions[0]).toMatchObject({ errorCode: ErrorCode.NONE, leaderId: 2, leaderEpoch: 1, isr: [2, 3, 4], partitionEpoch: 2 });
    c.commit(grow);
    expect(c.image.partition(topicId, 0)).toMatchObject({ replicas: [2, 3, 4], isr: [2, 3, 4], leader: 2, addingReplicas: [], removingReplicas: [] });
    expect(listPartitionReassignments(c.image, { topics: null }).topics).toEqual([]);
    expectSound(c.image);
  });

  it('keeps going while only part of the target is in the ISR, and keeps a leader that stays', () => {
    const { c, topicId } = cluster();
    c.commit(reassign(c, [{ partitionIndex: 0, replicas: [1, 4, 5] }]));
    expect(c.image.partition(topicId, 0)).toMatchObject({ replicas: [1, 4, 5, 2, 3], addingReplicas: [4, 5], removingReplicas: [2, 3] });
    c.commit(setIsr(c, topicId, 0, [1, 2, 3, 4]));
    expect(c.image.partition(topicId, 0)).toMatchObject({ isr: [1, 2, 3, 4], addingReplicas: [4, 5] });
    expectSound(c.image);
    c.commit(setIsr(c, topicId, 0, [1, 2, 3, 4, 5]));
    expect(c.image.partition(topicId, 0)).toMatchObject({ replicas: [1, 4, 5], isr: [1, 4, 5], leader: 1, leaderEpoch: 0, addingReplicas: [], removingReplicas: [] });
    expectSound(c.image);
  });

  it('completes at once when the ISR already holds the target (shrinking, reordering)', () => {
    const { c, topicId } = cluster();
    const shrink = reassign(c, [{ partitionIndex: 0, replicas: [3, 2] }]);
    expect(shrink.records).toEqual([{ type: 'partition-change', topicId, partitionId: 0, leader: 3, isr: [2, 3], replicas: [3, 2] }]);
    c.commit(shrink);
    expect(c.image.partition(topicId, 0)).toMatchObject({ replicas: [3, 2], isr: [2, 3], leader: 3, addingReplicas: [], removingReplicas: [] });
    // The same replicas again: nothing to write.
    const again = reassign(c, [{ partitionIndex: 0, replicas: [3, 2] }]);
    expect(again.records).toEqual([]);
    expect(errors(again.response)).toEqual([ErrorCode.NONE]);
    expectSound(c.image);
  });

  it('a new target during a reassignment starts from the current (union) replicas', () => {
    const { c, topicId } = cluster();
    c.commit(reassign(c, [{ partitionIndex: 0, replicas: [2, 3, 4] }]));
    c.commit(reassign(c, [{ partitionIndex: 0, replicas: [3, 4, 5] }]));
    expect(c.image.partition(topicId, 0)).toMatchObject({ replicas: [3, 4, 5, 2, 1], addingReplicas: [5], removingReplicas: [2, 1], leader: 1 });
    expectSound(c.image);
    // 4 is not in the ISR yet: adding 5 alone does not complete it.
    c.commit(setIsr(c, topicId, 0, [1, 2, 3, 5]));
    expect(c.image.partition(topicId, 0)).toMatchObject({ addingReplicas: [5], removingReplicas: [2, 1] });
    c.commit(setIsr(c, topicId, 0, [1, 2, 3, 5, 4]));
    expect(c.image.partition(topicId, 0)).toMatchObject({ replicas: [3, 4, 5], isr: [3, 5, 4], leader: 3, addingReplicas: [], removingReplicas: [] });
    expectSound(c.image);
  });

  it('cancels: back to the original replicas, the adding ones leave the ISR, the leader stays if it can', () => {
    const { c, topicId } = cluster();
    c.commit(reassign(c, [{ partitionIndex: 0, replicas: [4, 5, 1] }]));
    c.commit(setIsr(c, topicId, 0, [1, 2, 3, 4]));
    expect(c.image.partition(topicId, 0)).toMatchObject({ replicas: [4, 5, 1, 2, 3], isr: [1, 2, 3, 4], addingReplicas: [4, 5] });
    const cancel = reassign(c, [{ partitionIndex: 0, replicas: null }]);
    expect(errors(cancel.response)).toEqual([ErrorCode.NONE]);
    expect(cancel.records).toEqual([{ type: 'partition-change', topicId, partitionId: 0, leader: -2, isr: [1, 2, 3], replicas: [1, 2, 3], addingReplicas: [], removingReplicas: [] }]);
    c.commit(cancel);
    expect(c.image.partition(topicId, 0)).toMatchObject({ replicas: [1, 2, 3], isr: [1, 2, 3], leader: 1, leaderEpoch: 0 });
    expectSound(c.image);
    // Nothing left to cancel.
    const none = reassign(c, [{ partitionIndex: 0, replicas: null }]);
    expect(none.records).toEqual([]);
    expect(none.response.responses[0]!.partitions[0]).toMatchObject({ errorCode: ErrorCode.NO_REASSIGNMENT_IN_PROGRESS });
  });

  it('refuses a cancel that needs an unclean election unless the topic allows one', () => {
    // t-0 on [1] moving to [2, 3]; 1 fenced, an unclean election makes 2 the leader with ISR [2].
    const strict = new TestCluster();
    strict.addBrokers([1, 2, 3]);
    const topicId = strict.createTopic('u', -1, -1, { assignments: [{ partitionIndex: 0, brokerIds: [1] }] });
    strict.commit(reassign(strict, [{ partitionIndex: 0, replicas: [2, 3] }], 'u'));
    strict.heartbeat(1, { wantFence: true });
    expect(strict.image.partition(topicId, 0)).toMatchObject({ leader: -1, isr: [1] });
    strict.commit(electLeaders(strict.image, { electionType: ElectionType.UNCLEAN, topicPartitions: [{ topic: 'u', partitions: [0] }] }));
    expect(strict.image.partition(topicId, 0)).toMatchObject({ leader: 2, isr: [2], addingReplicas: [2, 3], removingReplicas: [1] });
    const refused = reassign(strict, [{ partitionIndex: 0, replicas: null }], 'u');
    expect(refused.records).toEqual([]);
    expect(refused.response.responses[0]!.partitions[0]!.errorCode).toBe(ErrorCode.INVALID_REPLICA_ASSIGNMENT);
    expect(refused.response.responses[0]!.partitions[0]!.errorMessage).toMatch(/unclean leader election/);

    // With unclean election enabled the fence itself elects 2; a cancel then goes back to [1], leaderless (1 is fenced).
    const lax = new TestCluster(testContext(1, { uncleanLeaderElectionEnable: true }));
    lax.addBrokers([1, 2, 3]);
    const laxId = lax.createTopic('u', -1, -1, { assignments: [{ partitionIndex: 0, brokerIds: [1] }] });
    lax.commit(reassign(lax, [{ partitionIndex: 0, replicas: [2, 3] }], 'u'));
    lax.heartbeat(1, { wantFence: true });
    expect(lax.image.partition(laxId, 0)).toMatchObject({ leader: 2, isr: [2] });
    lax.commit(reassign(lax, [{ partitionIndex: 0, replicas: null }], 'u'));
    expect(lax.image.partition(laxId, 0)).toMatchObject({ replicas: [1], isr: [1], leader: -1, addingReplicas: [], removingReplicas: [] });
    expectSound(lax.image);
  });

  it("answers Kafka's error codes per partition and writes only the valid ones", () => {
    const { c, topicId } = cluster();
    const r = alterPartitionReassignments(
      c.image,
      {
        topics: [
          {
            name: 't',
            partitions: [
              { partitionIndex: 0, replicas: [] },
              { partitionIndex: 1, replicas: [2, 2] },
              { partitionIndex: 7, replicas: [1] },
            ],
          },
          { name: 'missing', partitions: [{ partitionIndex: 0, replicas: [1] }] },
        ],
      },
      c.ctx,
    );
    expect(r.records).toEqual([]);
    expect(r.response.responses.map((t) => t.partitions.map((p) => p.errorCode))).toEqual([
      [ErrorCode.INVALID_REPLICA_ASSIGNMENT, ErrorCode.INVALID_REPLICA_ASSIGNMENT, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
      [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
    ]);
    expect(r.response.responses[0]!.partitions[1]!.errorMessage).toMatch(/broker 2 more than once/);

    const unregistered = reassign(c, [{ partitionIndex: 0, replicas: [1, 9] }]);
    expect(unregistered.response.responses[0]!.partitions[0]).toMatchObject({ errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT, errorMessage: expect.stringMatching(/broker 9, but no such broker/) });

    c.heartbeat(5, { wantFence: true });
    const allFenced = reassign(c, [{ partitionIndex: 0, replicas: [5] }]);
    expect(allFenced.response.responses[0]!.partitions[0]).toMatchObject({ errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT, errorMessage: expect.stringMatching(/fenced/) });

    // The same partition twice: neither is applied; the others are.
    const dup = reassign(c, [
      { partitionIndex: 0, replicas: [1, 2] },
      { partitionIndex: 0, replicas: [2, 3] },
      { partitionIndex: 1, replicas: [2, 3] },
    ]);
    expect(errors(dup.response)).toEqual([ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST, ErrorCode.NONE]);
    expect(dup.records.map((x) => x.type === 'partition-change' && x.partitionId)).toEqual([1]);
    c.commit(dup);
    expect(c.image.partition(topicId, 1)).toMatchObject({ replicas: [2, 3] });
  });

  it('refuses requests over the per-request partition limit as a whole (POLICY_VIOLATION)', () => {
    const c = new TestCluster(testContext(1, { limits: { maxPartitionsPerRequest: 2, maxConfigsPerResource: 10, maxReplicationFactor: 3 } }));
    cluster(c);
    const r = reassign(c, [
      { partitionIndex: 0, replicas: [1] },
      { partitionIndex: 1, replicas: [2] },
      { partitionIndex: 2, replicas: [3] },
    ]);
    expect(r.records).toEqual([]);
    expect(r.response.errorCode).toBe(ErrorCode.POLICY_VIOLATION);
    expect(errors(r.response)).toEqual([ErrorCode.POLICY_VIOLATION, ErrorCode.POLICY_VIOLATION, ErrorCode.POLICY_VIOLATION]);
    expect(reassign(c, [{ partitionIndex: 0, replicas: [1, 2, 3, 4] }]).response.responses[0]!.partitions[0]!.errorCode).toBe(ErrorCode.INVALID_REPLICA_ASSIGNMENT);
  });

  it('fencing a broker being added leaves the reassignment waiting; fencing the leader being removed moves the leadership within the ISR', () => {
    const { c, topicId } = cluster();
    c.commit(reassign(c, [{ partitionIndex: 0, replicas: [2, 3, 4] }]));
    c.heartbeat(4, { wantFence: true });
    expect(c.image.partition(topicId, 0)).toMatchObject({ leader: 1, addingReplicas: [4], removingReplicas: [1] });
    c.heartbeat(1, { wantFence: true });
    expect(c.image.partition(topicId, 0)).toMatchObject({ leader: 2, isr: [2, 3], replicas: [2, 3, 4, 1], addingReplicas: [4] });
    expect(imageInvariantViolations(c.image)).toEqual([]);
  });
});

describe('listPartitionReassignments', () => {
  it('lists the asked partitions that are reassigning, skipping unknown topics and partitions', () => {
    const { c } = cluster();
    c.commit(reassign(c, [{ partitionIndex: 1, replicas: [5, 2, 3] }]));
    const all = listPartitionReassignments(c.image, { topics: null });
    expect(all.topics).toEqual([{ name: 't', partitions: [{ partitionIndex: 1, replicas: [5, 2, 3, 4], addingReplicas: [5], removingReplicas: [4] }] }]);
    expect(listPartitionReassignments(c.image, { topics: [{ name: 't', partitionIndexes: [0, 1, 9] }, { name: 'missing', partitionIndexes: [0] }] })).toEqual(all);
    expect(listPartitionReassignments(c.image, { topics: [{ name: 't', partitionIndexes: [0] }] }).topics).toEqual([]);
  });
});

describe('reassignment records on replay', () => {
  it('refuses adding/removing replicas outside the replicas, overlapping, or removing every replica', () => {
    const { c, topicId } = cluster();
    const change = { type: 'partition-change', topicId, partitionId: 0, leader: -2, isr: null, replicas: null } as const;
    expect(() => apply(c.image, { ...change, addingReplicas: [4], removingReplicas: [] })).toThrow(/adding replicas \[4\] are not a set within replicas/);
    expect(() => apply(c.image, { ...change, addingReplicas: [1], removingReplicas: [1] })).toThrow(/overlap/);
    expect(() => apply(c.image, { ...change, addingReplicas: [], removingReplicas: [1, 2, 3] })).toThrow(/would leave no replica/);
    // Reassignment fields alone are a change.
    expect(apply(c.image, { ...change, addingReplicas: [2], removingReplicas: [] }).partition(topicId, 0)).toMatchObject({ addingReplicas: [2], partitionEpoch: 1 });
  });

  it('flags a reassignment whose target is all in the ISR as an invariant violation', () => {
    const { c, topicId } = cluster();
    const image = apply(c.image, { type: 'partition-change', topicId, partitionId: 0, leader: -2, isr: null, replicas: null, addingReplicas: [], removingReplicas: [3] });
    expect(imageInvariantViolations(image)).toEqual([expect.stringMatching(/t-0: every target replica \[1,2\] is in the ISR/)]);
  });
});
