/**
 * AlterPartition (ISR changes asked by partition leaders) and ElectLeaders (preferred and unclean elections).
 */
import { ErrorCode } from '../errors.ts';
import type { MetadataImage, PartitionImage } from '../image.ts';
import { NO_LEADER } from '../records.ts';
import type { ControllerResult } from './context.ts';
import { acceptableLeader, bestLeader, partitionChange, RecordBuilder } from './election.ts';

// ---- AlterPartition ----

export interface AlterPartitionIsrMember {
  readonly brokerId: number;
  /** The member's broker epoch as the leader knows it; -1 skips the check (Kafka's KIP-903). */
  readonly brokerEpoch: number;
}

export interface AlterPartitionPartition {
  readonly partitionIndex: number;
  readonly leaderEpoch: number;
  readonly newIsrWithEpochs: readonly AlterPartitionIsrMember[];
  readonly partitionEpoch: number;
}

export interface AlterPartitionTopic {
  readonly topicId: string;
  readonly partitions: readonly AlterPartitionPartition[];
}

export interface AlterPartitionRequest {
  /** The leader asking. */
  readonly brokerId: number;
  readonly brokerEpoch: number;
  readonly topics: readonly AlterPartitionTopic[];
}

export interface AlterPartitionPartitionResult {
  readonly partitionIndex: number;
  readonly errorCode: number;
  /** The partition as it is after this request (on success) — the leader adopts it. */
  readonly leaderId: number;
  readonly leaderEpoch: number;
  readonly isr: readonly number[];
  readonly partitionEpoch: number;
}

export interface AlterPartitionTopicResult {
  readonly topicId: string;
  readonly partitions: readonly AlterPartitionPartitionResult[];
}

export interface AlterPartitionResponse {
  readonly errorCode: number;
  readonly topics: readonly AlterPartitionTopicResult[];
}

/** Kafka's checks, in Kafka's order; NONE when the ISR change may go ahead. */
function alterPartitionError(image: MetadataImage, brokerId: number, partition: PartitionImage, data: AlterPartitionPartition): number {
  // A request from the future means this controller is behind (no longer active): let the leader find the new one.
  if (data.leaderEpoch > partition.leaderEpoch || data.partitionEpoch > partition.partitionEpoch) return ErrorCode.NOT_CONTROLLER;
  if (data.leaderEpoch < partition.leaderEpoch) return ErrorCode.FENCED_LEADER_EPOCH;
  if (brokerId !== partition.leader) return ErrorCode.INVALID_REQUEST;
  if (data.partitionEpoch < partition.partitionEpoch) return ErrorCode.INVALID_UPDATE_VERSION;
  const newIsr = data.newIsrWithEpochs.map((m) => m.brokerId);
  if (newIsr.length === 0 || new Set(newIsr).size !== newIsr.length || !newIsr.every((r) => partition.replicas.includes(r))) return ErrorCode.INVALID_REQUEST;
  if (!newIsr.includes(partition.leader)) return ErrorCode.INVALID_REQUEST;
  for (const m of data.newIsrWithEpochs) {
    const b = image.broker(m.brokerId);
    if (b === undefined || b.fenced || b.inControlledShutdown || (m.brokerEpoch !== -1 && m.brokerEpoch !== b.brokerEpoch)) return ErrorCode.INELIGIBLE_REPLICA;
  }
  return ErrorCode.NONE;
}

export function alterPartition(image: MetadataImage, request: AlterPartitionRequest): ControllerResult<AlterPartitionResponse> {
  const requester = image.broker(request.brokerId);
  if (requester === undefined || requester.brokerEpoch !== request.brokerEpoch) {
    return { records: [], response: { errorCode: ErrorCode.STALE_BROKER_EPOCH, topics: [] } };
  }
  const builder = new RecordBuilder(image);
  const topics: AlterPartitionTopicResult[] = [];
  for (const t of request.topics) {
    const results: AlterPartitionPartitionResult[] = [];
    for (const data of t.partitions) {
      const fail = (errorCode: number): void => {
        results.push({ partitionIndex: data.partitionIndex, errorCode, leaderId: NO_LEADER, leaderEpoch: -1, isr: [], partitionEpoch: -1 });
      };
      const topic = builder.image.topicById(t.topicId);
      if (topic === undefined) {
        fail(ErrorCode.UNKNOWN_TOPIC_ID);
        continue;
      }
      const partition = topic.partitions[data.partitionIndex];
      if (partition === undefined) {
        fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
        continue;
      }
      const errorCode = alterPartitionError(builder.image, request.brokerId, partition, data);
      if (errorCode !== ErrorCode.NONE) {
        fail(errorCode);
        continue;
      }
      // The last adding replica joining the ISR completes a reassignment (possibly moving the leadership).
      const acceptable = acceptableLeader(builder.image, { brokerToRemove: NO_LEADER, brokerToAdd: NO_LEADER });
      const change = partitionChange(partition, partition.leader, data.newIsrWithEpochs.map((m) => m.brokerId), acceptable);
      if (change !== null) builder.add(change);
      const after = builder.image.partition(t.topicId, data.partitionIndex)!;
      results.push({
        partitionIndex: data.partitionIndex,
        errorCode: ErrorCode.NONE,
        leaderId: after.leader,
        leaderEpoch: after.leaderEpoch,
        isr: after.isr,
        partitionEpoch: after.partitionEpoch,
      });
    }
    topics.push({ topicId: t.topicId, partitions: results });
  }
  return { records: builder.records, response: { errorCode: ErrorCode.NONE, topics } };
}

// ---- ElectLeaders ----

/** Kafka's ElectionType codes. */
export const ElectionType = {
  PREFERRED: 0,
  UNCLEAN: 1,
} as const;

export interface ElectLeadersTopicPartitions {
  readonly topic: string;
  readonly partitions: readonly number[];
}

export interface ElectLeadersRequest {
  readonly electionType: number;
  /** null: every partition (then partitions that need no election are left out of the answer). */
  readonly topicPartitions: readonly ElectLeadersTopicPartitions[] | null;
}

export interface ElectLeadersPartitionResult {
  readonly partitionId: number;
  readonly errorCode: number;
  readonly errorMessage: string | null;
}

export interface ElectLeadersTopicResult {
  readonly topic: string;
  readonly partitionResult: readonly ElectLeadersPartitionResult[];
}

export interface ElectLeadersResponse {
  readonly errorCode: number;
  readonly replicaElectionResults: readonly ElectLeadersTopicResult[];
}

export function electLeaders(image: MetadataImage, request: ElectLeadersRequest): ControllerResult<ElectLeadersResponse> {
  if (request.electionType !== ElectionType.PREFERRED && request.electionType !== ElectionType.UNCLEAN) {
    return { records: [], response: { errorCode: ErrorCode.INVALID_REQUEST, replicaElectionResults: [] } };
  }
  const all = request.topicPartitions === null;
  const wanted: ElectLeadersTopicPartitions[] =
    request.topicPartitions === null ? image.sortedTopics().map((t) => ({ topic: t.name, partitions: t.partitions.map((p) => p.partitionId) })) : [...request.topicPartitions];
  const builder = new RecordBuilder(image);
  const results: ElectLeadersTopicResult[] = [];
  for (const w of wanted) {
    const partitionResult: ElectLeadersPartitionResult[] = [];
    for (const partitionId of w.partitions) {
      const topic = builder.image.topic(w.topic);
      const partition = topic?.partitions[partitionId];
      if (topic === undefined || partition === undefined) {
        partitionResult.push({
          partitionId,
          errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
          errorMessage: topic === undefined ? `No such topic as ${w.topic}` : `No such partition as ${w.topic}-${partitionId}`,
        });
        continue;
      }
      const outcome = request.electionType === ElectionType.PREFERRED ? preferredElection(builder.image, partition) : uncleanElection(builder.image, partition);
      if (outcome.leader !== null) {
        const change = partitionChange(partition, outcome.leader, outcome.isr, acceptableLeader(builder.image, { brokerToRemove: NO_LEADER, brokerToAdd: NO_LEADER }));
        if (change !== null) builder.add(change);
      }
      if (all && outcome.errorCode === ErrorCode.ELECTION_NOT_NEEDED) continue;
      partitionResult.push({ partitionId, errorCode: outcome.errorCode, errorMessage: outcome.errorMessage });
    }
    if (partitionResult.length > 0 || !all) results.push({ topic: w.topic, partitionResult });
  }
  return { records: builder.records, response: { errorCode: ErrorCode.NONE, replicaElectionResults: results } };
}

interface ElectionOutcome {
  readonly errorCode: number;
  readonly errorMessage: string | null;
  /** The new leader (with `isr`), or null for no change. */
  readonly leader: number | null;
  readonly isr: readonly number[];
}

function preferredElection(image: MetadataImage, partition: PartitionImage): ElectionOutcome {
  const preferred = partition.replicas[0]!;
  if (partition.leader === preferred) return { errorCode: ErrorCode.ELECTION_NOT_NEEDED, errorMessage: 'Leader election not needed for topic partition.', leader: null, isr: [] };
  if (!partition.isr.includes(preferred) || !image.isUsable(preferred)) {
    return { errorCode: ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE, errorMessage: `Failed to elect leader for partition: the preferred replica ${preferred} is not in the ISR or not available.`, leader: null, isr: [] };
  }
  return { errorCode: ErrorCode.NONE, errorMessage: null, leader: preferred, isr: partition.isr };
}

/** An explicit unclean election goes ahead whatever unclean.leader.election.enable says (the admin asked). */
function uncleanElection(image: MetadataImage, partition: PartitionImage): ElectionOutcome {
  if (partition.leader !== NO_LEADER) return { errorCode: ErrorCode.ELECTION_NOT_NEEDED, errorMessage: 'Leader election not needed for topic partition.', leader: null, isr: [] };
  const leader = bestLeader(partition.replicas, partition.isr, true, acceptableLeader(image, { brokerToRemove: NO_LEADER, brokerToAdd: NO_LEADER }));
  if (leader === NO_LEADER) return { errorCode: ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE, errorMessage: 'Failed to elect leader for partition: no replica is available.', leader: null, isr: [] };
  return { errorCode: ErrorCode.NONE, errorMessage: null, leader, isr: partition.isr.includes(leader) ? partition.isr : [leader] };
}
