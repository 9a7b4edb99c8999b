import { ErrorCode as ProtocolErrorCode } from '@tributary/protocol';
import { describe, expect, it } from 'vitest';
import {
  allocateProducerIds,
  alterPartition,
  electLeaders,
  ElectionType,
  ErrorCode,
  imageInvariantViolations,
  PRODUCER_ID_BLOCK_SIZE,
  type AlterPartitionPartition,
} from '../src/index.ts';
import { TestCluster } from './harness.ts';

/** Brokers 1..3 unfenced; topic `t` with one partition on [1, 2, 3] led by 1. */
function cluster(): { c: TestCluster; topicId: string } {
  const c = new TestCluster();
  c.addBrokers([1, 2, 3]);
  const topicId = c.createTopic('t', -1, -1, { assignments: [{ partitionIndex: 0, brokerIds: [1, 2, 3] }] });
  return { c, topicId };
}

function alter(c: TestCluster, topicId: string, data: Partial<AlterPartitionPartition> & { isr: number[] }, from = 1) {
  const p = c.image.partition(topicId, data.partitionIndex ?? 0);
  return alterPartition(c.image, {
    brokerId: from,
    brokerEpoch: c.image.broker(from)?.brokerEpoch ?? -1,
    topics: [
      {
        topicId,
        partitions: [
          {
            partitionIndex: data.partitionIndex ?? 0,
            leaderEpoch: data.leaderEpoch ?? p?.leaderEpoch ?? 0,
            partitionEpoch: data.partitionEpoch ?? p?.partitionEpoch ?? 0,
            newIsrWithEpochs: data.newIsrWithEpochs ?? data.isr.map((brokerId) => ({ brokerId, brokerEpoch: -1 })),
          },
        ],
      },
    ],
  });
}

const partitionError = (r: ReturnType<typeof alterPartition>): number => r.response.topics[0]!.partitions[0]!.errorCode;

describe('alterPartition', () => {
  it('shrinks and expands the ISR, bumping only the partition epoch, and answers with the new state', () => {
    const { c, topicId } = cluster();
    const shrink = alter(c, topicId, { isr: [1, 3] });
    expect(shrink.records).toEqual([{ type: 'partition-change', topicId, partitionId: 0, leader: -2, isr: [1, 3], replicas: null }]);
    expect(shrink.response).toEqual({
      errorCode: ErrorCode.NONE,
      topics: [{ topicId, partitions: [{ partitionIndex: 0, errorCode: ErrorCode.NONE, leaderId: 1, leaderEpoch: 0, isr: [1, 3], partitionEpoch: 1 }] }],
    });
    c.commit(shrink);
    const expand = alter(c, topicId, { isr: [1, 3, 2], newIsrWithEpochs: [1, 3, 2].map((brokerId) => ({ brokerId, brokerEpoch: c.image.broker(brokerId)!.brokerEpoch })) });
    expect(partitionError(expand)).toBe(ErrorCode.NONE);
    c.commit(expand);
    expect(c.image.partition(topicId, 0)).toMatchObject({ isr: [1, 3, 2], leaderEpoch: 0, partitionEpoch: 2 });
    // the same ISR again: nothing to write, the current state comes back
    const same = alter(c, topicId, { isr: [1, 3, 2] });
    expect(same.records).toEqual([]);
    expect(same.response.topics[0]!.partitions[0]).toMatchObject({ errorCode: ErrorCode.NONE, partitionEpoch: 2 });
  });

  it('a stale leader epoch is FENCED_LEADER_EPOCH; a newer one is NOT_CONTROLLER', () => {
    const { c, topicId } = cluster();
    c.heartbeat(1, { wantFence: true }); // leader moves to 2, leader epoch 1
    c.heartbeat(1);
    expect(partitionError(alter(c, topicId, { isr: [2, 3], leaderEpoch: 0 }, 2))).toBe(ErrorCode.FENCED_LEADER_EPOCH);
    expect(partitionError(alter(c, topicId, { isr: [2, 3], leaderEpoch: 5 }, 2))).toBe(ErrorCode.NOT_CONTROLLER);
    expect(partitionError(alter(c, topicId, { isr: [2, 3], partitionEpoch: 99 }, 2))).toBe(ErrorCode.NOT_CONTROLLER);
    expect(partitionError(alter(c, topicId, { isr: [2, 3] }, 2))).toBe(ErrorCode.NONE);
  });

  it('a stale partition epoch is INVALID_UPDATE_VERSION (two changes racing)', () => {
    const { c, topicId } = cluster();
    const first = alter(c, topicId, { isr: [1, 2] });
    c.commit(first);
    expect(partitionError(alter(c, topicId, { isr: [1], partitionEpoch: 0 }))).toBe(ErrorCode.INVALID_UPDATE_VERSION);
  });

  it('only the leader may ask; the ISR must be replicas, distinct, non-empty and hold the leader (INVALID_REQUEST)', () => {
    const { c, topicId } = cluster();
    expect(partitionError(alter(c, topicId, { isr: [2, 3] }, 2))).toBe(ErrorCode.INVALID_REQUEST);
    expect(partitionError(alter(c, topicId, { isr: [2, 3] }))).toBe(ErrorCode.INVALID_REQUEST);
    expect(partitionError(alter(c, topicId, { isr: [1, 1] }))).toBe(ErrorCode.INVALID_REQUEST);
    expect(partitionError(alter(c, topicId, { isr: [1, 4] }))).toBe(ErrorCode.INVALID_REQUEST);
    expect(partitionError(alter(c, topicId, { isr: [] }))).toBe(ErrorCode.INVALID_REQUEST);
  });

  it('fenced, shutting down, unregistered or re-registered members are INELIGIBLE_REPLICA', () => {
    const { c, topicId } = cluster();
    c.addBrokers([4]);
    c.commit(alter(c, topicId, { isr: [1] }));
    c.heartbeat(2, { wantFence: true });
    expect(partitionError(alter(c, topicId, { isr: [1, 2] }))).toBe(ErrorCode.INELIGIBLE_REPLICA);
    c.heartbeat(3, { wantShutDown: true });
    expect(partitionError(alter(c, topicId, { isr: [1, 3] }))).toBe(ErrorCode.INELIGIBLE_REPLICA);
    c.heartbeat(2);
    const epoch2 = c.image.broker(2)!.brokerEpoch;
    expect(partitionError(alter(c, topicId, { isr: [1, 2], newIsrWithEpochs: [{ brokerId: 1, brokerEpoch: -1 }, { brokerId: 2, brokerEpoch: epoch2 - 1 }] }))).toBe(ErrorCode.INELIGIBLE_REPLICA);
    expect(partitionError(alter(c, topicId, { isr: [1, 2], newIsrWithEpochs: [{ brokerId: 1, brokerEpoch: -1 }, { brokerId: 2, brokerEpoch: epoch2 }] }))).toBe(ErrorCode.NONE);
  });

  it('a stale requester epoch is STALE_BROKER_EPOCH for the whole request; unknown topics and partitions per partition', () => {
    const { c, topicId } = cluster();
    const stale = alterPartition(c.image, { brokerId: 1, brokerEpoch: 0, topics: [] });
    expect(stale.response).toEqual({ errorCode: ErrorCode.STALE_BROKER_EPOCH, topics: [] });
    expect(alterPartition(c.image, { brokerId: 42, brokerEpoch: 1, topics: [] }).response.errorCode).toBe(ErrorCode.STALE_BROKER_EPOCH);
    expect(partitionError(alter(c, 'AAAAAAAAAAAAAAAAAAAAAQ', { isr: [1] }))).toBe(ErrorCode.UNKNOWN_TOPIC_ID);
    expect(partitionError(alter(c, topicId, { isr: [1], partitionIndex: 3 }))).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  });

  it('two changes to one partition in one request: the second sees the first (and its stale epoch fails)', () => {
    const { c, topicId } = cluster();
    const r = alterPartition(c.image, {
      brokerId: 1,
      brokerEpoch: c.image.broker(1)!.brokerEpoch,
      topics: [
        {
          topicId,
          partitions: [
            { partitionIndex: 0, leaderEpoch: 0, partitionEpoch: 0, newIsrWithEpochs: [{ brokerId: 1, brokerEpoch: -1 }] },
            { partitionIndex: 0, leaderEpoch: 0, partitionEpoch: 0, newIsrWithEpochs: [{ brokerId: 1, brokerEpoch: -1 }, { brokerId: 2, brokerEpoch: -1 }] },
          ],
        },
      ],
    });
    expect(r.response.topics[0]!.partitions.map((p) => p.errorCode)).toEqual([ErrorCode.NONE, ErrorCode.INVALID_UPDATE_VERSION]);
    expect(r.records).toHaveLength(1);
  });
});

describe('electLeaders', () => {
  it('preferred election moves leadership back to the first replica', () => {
    const { c, topicId } = cluster();
    c.heartbeat(1, { wantFence: true });
    c.heartbeat(1);
    c.commit(alter(c, topicId, { isr: [2, 3, 1] }, 2));
    const r = electLeaders(c.image, { electionType: ElectionType.PREFERRED, topicPartitions: [{ topic: 't', partitions: [0] }] });
    expect(r.response).toEqual({ errorCode: ErrorCode.NONE, replicaElectionResults: [{ topic: 't', partitionResult: [{ partitionId: 0, errorCode: ErrorCode.NONE, errorMessage: null }] }] });
    c.commit(r);
    expect(c.image.partition(topicId, 0)).toMatchObject({ leader: 1, leaderEpoch: 2, isr: [2, 3, 1] });
    // again: not needed
    const again = electLeaders(c.image, { electionType: ElectionType.PREFERRED, topicPartitions: [{ topic: 't', partitions: [0] }] });
    expect(again.response.replicaElectionResults[0]!.partitionResult[0]!.errorCode).toBe(ErrorCode.ELECTION_NOT_NEEDED);
    expect(again.records).toEqual([]);
  });

  it('the preferred replica must be in the ISR and usable: PREFERRED_LEADER_NOT_AVAILABLE', () => {
    const { c } = cluster();
    c.heartbeat(1, { wantFence: true });
    const fenced = electLeaders(c.image, { electionType: ElectionType.PREFERRED, topicPartitions: [{ topic: 't', partitions: [0] }] });
    expect(fenced.response.replicaElectionResults[0]!.partitionResult[0]!.errorCode).toBe(ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE);
    c.heartbeat(1); // unfenced but not back in the ISR
    const outOfSync = electLeaders(c.image, { electionType: ElectionType.PREFERRED, topicPartitions: [{ topic: 't', partitions: [0] }] });
    expect(outOfSync.response.replicaElectionResults[0]!.partitionResult[0]!.errorCode).toBe(ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE);
  });

  it('all partitions (null): only partitions that needed an election are reported', () => {
    const c = new TestCluster();
    c.addBrokers([1, 2]);
    c.createTopic('a', 4, 2);
    c.heartbeat(1, { wantFence: true });
    c.heartbeat(1);
    for (const p of c.partitions('a')) {
      if (p.replicas[0] === 1) {
        c.commit(alterPartition(c.image, { brokerId: p.leader, brokerEpoch: c.image.broker(p.leader)!.brokerEpoch, topics: [{ topicId: p.topicId, partitions: [{ partitionIndex: p.partitionId, leaderEpoch: p.leaderEpoch, partitionEpoch: p.partitionEpoch, newIsrWithEpochs: [{ brokerId: 2, brokerEpoch: -1 }, { brokerId: 1, brokerEpoch: -1 }] }] }] }));
      }
    }
    const r = electLeaders(c.image, { electionType: ElectionType.PREFERRED, topicPartitions: null });
    const reported = r.response.replicaElectionResults.flatMap((t) => t.partitionResult);
    expect(reported.every((p) => p.errorCode === ErrorCode.NONE)).toBe(true);
    expect(reported).toHaveLength(c.partitions('a').filter((p) => p.replicas[0] === 1).length);
    c.commit(r);
    expect(c.partitions('a').every((p) => p.leader === p.replicas[0])).toBe(true);
    expect(imageInvariantViolations(c.image)).toEqual([]);
  });

  it('unclean election picks an available replica for a leaderless partition, whatever the topic config', () => {
    const { c, topicId } = cluster();
    c.commit(alter(c, topicId, { isr: [1] }));
    c.heartbeat(1, { wantFence: true });
    expect(c.image.partition(topicId, 0)).toMatchObject({ leader: -1, isr: [1] });
    const r = electLeaders(c.image, { electionType: ElectionType.UNCLEAN, topicPartitions: [{ topic: 't', partitions: [0] }] });
    expect(r.response.replicaElectionResults[0]!.partitionResult[0]!.errorCode).toBe(ErrorCode.NONE);
    c.commit(r);
    expect(c.image.partition(topicId, 0)).toMatchObject({ leader: 2, isr: [2] });
    expect(electLeaders(c.image, { electionType: ElectionType.UNCLEAN, topicPartitions: [{ topic: 't', partitions: [0] }] }).response.replicaElectionResults[0]!.partitionResult[0]!.errorCode).toBe(
      ErrorCode.ELECTION_NOT_NEEDED,
    );
  });

  it('unclean election with no available replica: ELIGIBLE_LEADERS_NOT_AVAILABLE; unknown topics and types', () => {
    const c = new TestCluster();
    c.addBrokers([1]);
    c.createTopic('t', 1, 1);
    c.heartbeat(1, { wantFence: true });
    const r = electLeaders(c.image, { electionType: ElectionType.UNCLEAN, topicPartitions: [{ topic: 't', partitions: [0, 5] }, { topic: 'nope', partitions: [0] }] });
    expect(r.response.replicaElectionResults.map((t) => t.partitionResult.map((p) => p.errorCode))).toEqual([
      [ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
      [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
    ]);
    expect(electLeaders(c.image, { electionType: 7, topicPartitions: null }).response.errorCode).toBe(ErrorCode.INVALID_REQUEST);
  });
});

describe('allocateProducerIds', () => {
  it('hands out consecutive blocks of 1000', () => {
    const { c } = cluster();
    const epoch = c.image.broker(2)!.brokerEpoch;
    const first = c.commit(allocateProducerIds(c.image, { brokerId: 2, brokerEpoch: epoch }));
    expect(first).toEqual({ errorCode: ErrorCode.NONE, errorMessage: null, producerIdStart: 0, producerIdLen: PRODUCER_ID_BLOCK_SIZE });
    const second = c.commit(allocateProducerIds(c.image, { brokerId: 3, brokerEpoch: c.image.broker(3)!.brokerEpoch }));
    expect(second.producerIdStart).toBe(1000);
    expect(c.image.nextProducerId).toBe(2000);
    expect(c.log.at(-1)).toEqual({ type: 'producer-ids', brokerId: 3, brokerEpoch: c.image.broker(3)!.brokerEpoch, nextProducerId: 2000 });
  });

  it('refuses stale or unknown brokers with STALE_BROKER_EPOCH', () => {
    const { c } = cluster();
    expect(allocateProducerIds(c.image, { brokerId: 2, brokerEpoch: 0 }).response.errorCode).toBe(ErrorCode.STALE_BROKER_EPOCH);
    expect(allocateProducerIds(c.image, { brokerId: 9, brokerEpoch: 1 }).response).toMatchObject({ errorCode: ErrorCode.STALE_BROKER_EPOCH, producerIdStart: -1 });
  });

  it('refuses to run past 2^53', () => {
    const { c } = cluster();
    c.commit({ records: [{ type: 'producer-ids', brokerId: 1, brokerEpoch: 1, nextProducerId: Number.MAX_SAFE_INTEGER - 10 }], response: null });
    expect(allocateProducerIds(c.image, { brokerId: 1, brokerEpoch: c.image.broker(1)!.brokerEpoch }).response.errorCode).toBe(ErrorCode.UNKNOWN_SERVER_ERROR);
  });
});

describe('error codes', () => {
  it('are Kafka\'s, as @tributary/protocol has them', () => {
    for (const [name, code] of Object.entries(ErrorCode)) {
      expect((ProtocolErrorCode as Record<string, number>)[name], name).toBe(code);
    }
  });
});
