/**
 * AlterPartitionReassignments and ListPartitionReassignments (Kafka's KIP-455 as its KRaft controller runs it).
 *
 * A reassignment to `target` sets replicas = target ++ removing (removing = current replicas not in target, so
 * the preferred leader is target[0]), addingReplicas = target − current, removingReplicas = current − target.
 * The leader replicates to the adding replicas like any follower and adds them to the ISR through AlterPartition;
 * the change that puts the last target replica into the ISR completes the reassignment (`partitionChange` in
 * election.ts): replicas = target, the ISR keeps only target replicas, a leader being removed hands over. When
 * the ISR already holds every target replica (shrinking, reordering) it completes at once.
 *
 * A new target while one is in progress starts from the current replicas (the union), as Kafka does. Cancelling
 * (replicas: null) reverts to the replicas minus the adding ones; the ISR keeps the original replicas in it, and a
 * revert that would leave it empty needs unclean leader election (else INVALID_REPLICA_ASSIGNMENT).
 */
import { ErrorCode } from '../errors.ts';
import { isReassigning, originalReplicas, type MetadataImage, type PartitionImage } from '../image.ts';
import { NO_LEADER, NO_LEADER_CHANGE, type PartitionChangeRecord } from '../records.ts';
import { uncleanElectionEnabled, type ControllerContext, type ControllerResult } from './context.ts';
import { acceptableLeader, bestLeader, RecordBuilder } from './election.ts';

// ---- AlterPartitionReassignments ----

export interface ReassignablePartition {
  readonly partitionIndex: number;
  /** The target replicas in preferred order, or null to cancel the reassignment in progress. */
  readonly replicas: readonly number[] | null;
}

export interface ReassignableTopic {
  readonly name: string;
  readonly partitions: readonly ReassignablePartition[];
}

export interface AlterPartitionReassignmentsRequest {
  readonly topics: readonly ReassignableTopic[];
}

export interface ReassignablePartitionResponse {
  readonly partitionIndex: number;
  readonly errorCode: number;
  readonly errorMessage: string | null;
}

export interface ReassignableTopicResponse {
  readonly name: string;
  readonly partitions: readonly ReassignablePartitionResponse[];
}

export interface AlterPartitionReassignmentsResponse {
  readonly errorCode: number;
  readonly errorMessage: string | null;
  readonly responses: readonly ReassignableTopicResponse[];
}

class ReassignmentError extends Error {
  readonly errorCode: number;
  constructor(errorCode: number, message: string) {
    super(message);
    this.errorCode = errorCode;
  }
}

interface PartitionState {
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
  readonly leader: number;
  readonly addingReplicas: readonly number[];
  readonly removingReplicas: readonly number[];
}

function same(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** The record taking `p` to `next`, carrying only what differs; null when nothing does. */
function changeTo(p: PartitionImage, next: PartitionState): PartitionChangeRecord | null {
  const leader = next.leader !== p.leader ? next.leader : NO_LEADER_CHANGE;
  const isr = same(next.isr, p.isr) ? null : [...next.isr];
  const replicas = same(next.replicas, p.replicas) ? null : [...next.replicas];
  const reassignmentChanged = !same(next.addingReplicas, p.addingReplicas) || !same(next.removingReplicas, p.removingReplicas);
  if (leader === NO_LEADER_CHANGE && isr === null && replicas === null && !reassignmentChanged) return null;
  return {
    type: 'partition-change',
    topicId: p.topicId,
    partitionId: p.partitionId,
    leader,
    isr,
    replicas,
    ...(reassignmentChanged ? { addingReplicas: [...next.addingReplicas], removingReplicas: [...next.removingReplicas] } : {}),
  };
}

/** Kafka's validateManualPartitionAssignment, for one target. */
function targetProblem(image: MetadataImage, target: readonly number[], maxReplicas: number): string | null {
  if (target.length === 0) return 'The manual partition assignment includes an empty replica list.';
  if (target.length > maxReplicas) return `The manual partition assignment has ${target.length} replicas, more than the ${maxReplicas} allowed.`;
  const seen = new Set<number>();
  for (const r of target) {
    if (seen.has(r)) return `The manual partition assignment includes the broker ${r} more than once.`;
    seen.add(r);
    if (image.broker(r) === undefined) return `The manual partition assignment includes broker ${r}, but no such broker is registered.`;
  }
  if (!target.some((r) => image.isUsable(r))) return 'All brokers specified in the manual partition assignment are fenced or in controlled shutdown.';
  return null;
}

/** The change moving `p` towards `target` (or completing at once when the ISR already holds all of it). */
function reassignTo(p: PartitionImage, target: readonly number[], acceptable: (r: number) => boolean): PartitionChangeRecord | null {
  if (target.every((r) => p.isr.includes(r))) {
    const isr = p.isr.filter((r) => target.includes(r));
    const leader = p.leader === NO_LEADER || target.includes(p.leader) ? p.leader : bestLeader(target, isr, false, acceptable);
    return changeTo(p, { replicas: target, isr, leader, addingReplicas: [], removingReplicas: [] });
  }
  const removing = p.replicas.filter((r) => !target.includes(r));
  const adding = target.filter((r) => !p.replicas.includes(r));
  return changeTo(p, { replicas: [...target, ...removing], isr: p.isr, leader: p.leader, addingReplicas: adding, removingReplicas: removing });
}

/** The change reverting `p` to its replicas before the reassignment in progress. */
function revert(p: PartitionImage, topicName: string, uncleanOk: boolean, acceptable: (r: number) => boolean): PartitionChangeRecord | null {
  const original = originalReplicas(p);
  let isr = p.isr.filter((r) => original.includes(r));
  let leader: number;
  if (isr.length === 0) {
    if (!uncleanOk) {
      throw new ReassignmentError(
        ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        `Unable to revert partition assignment for ${topicName}:${p.partitionId} because it would require an unclean leader election; let the reassignment complete, or enable unclean.leader.election.enable for the topic.`,
      );
    }
    leader = bestLeader(original, [], true, acceptable);
    isr = [leader === NO_LEADER ? original[0]! : leader];
  } else {
    leader = p.leader !== NO_LEADER && isr.includes(p.leader) ? p.leader : bestLeader(original, isr, false, acceptable);
  }
  return changeTo(p, { replicas: original, isr, leader, addingReplicas: [], removingReplicas: [] });
}

export function alterPartitionReassignments(
  image: MetadataImage,
  request: AlterPartitionReassignmentsRequest,
  ctx: ControllerContext,
): ControllerResult<AlterPartitionReassignmentsResponse> {
  const total = request.topics.reduce((n, t) => n + t.partitions.length, 0);
  if (total > ctx.limits.maxPartitionsPerRequest) {
    const errorMessage = `The request reassigns ${total} partitions, more than the ${ctx.limits.maxPartitionsPerRequest} allowed in one request; split it.`;
    return {
      records: [],
      response: {
        errorCode: ErrorCode.POLICY_VIOLATION,
        errorMessage,
        responses: request.topics.map((t) => ({
          name: t.name,
          partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: ErrorCode.POLICY_VIOLATION, errorMessage })),
        })),
      },
    };
  }
  const occurrences = new Map<string, number>();
  for (const t of request.topics) for (const p of t.partitions) occurrences.set(`${t.name}\0${p.partitionIndex}`, (occurrences.get(`${t.name}\0${p.partitionIndex}`) ?? 0) + 1);
  const builder = new RecordBuilder(image);
  const responses: ReassignableTopicResponse[] = [];
  for (const t of request.topics) {
    const partitions: ReassignablePartitionResponse[] = [];
    for (const data of t.partitions) {
      try {
        if (occurrences.get(`${t.name}\0${data.partitionIndex}`)! > 1) {
          throw new ReassignmentError(ErrorCode.INVALID_REQUEST, `Partition ${t.name}-${data.partitionIndex} appears more than once in the request.`);
        }
        const topic = builder.image.topic(t.name);
        const partition = topic?.partitions[data.partitionIndex];
        if (topic === undefined || partition === undefined) {
          throw new ReassignmentError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Unable to find partition ${t.name}:${data.partitionIndex}.`);
        }
        const acceptable = acceptableLeader(builder.image, { brokerToRemove: NO_LEADER, brokerToAdd: NO_LEADER });
        let change: PartitionChangeRecord | null;
        if (data.replicas === null) {
          if (!isReassigning(partition)) throw new ReassignmentError(ErrorCode.NO_REASSIGNMENT_IN_PROGRESS, `Partition ${t.name}-${data.partitionIndex} has no reassignment in progress to cancel.`);
          change = revert(partition, t.name, uncleanElectionEnabled(builder.image, t.name, ctx), acceptable);
        } else {
          const problem = targetProblem(builder.image, data.replicas, ctx.limits.maxReplicationFactor);
          if (problem !== null) throw new ReassignmentError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, problem);
          change = reassignTo(partition, data.replicas, acceptable);
        }
        if (change !== null) builder.add(change);
        partitions.push({ partitionIndex: data.partitionIndex, errorCode: ErrorCode.NONE, errorMessage: null });
      } catch (e) {
        if (!(e instanceof ReassignmentError)) throw e;
        partitions.push({ partitionIndex: data.partitionIndex, errorCode: e.errorCode, errorMessage: e.message });
      }
    }
    responses.push({ name: t.name, partitions });
  }
  return { records: builder.records, response: { errorCode: ErrorCode.NONE, errorMessage: null, responses } };
}

// ---- ListPartitionReassignments ----

export interface ListPartitionReassignmentsTopic {
  readonly name: string;
  readonly partitionIndexes: readonly number[];
}

export interface ListPartitionReassignmentsRequest {
  /** null: every partition with a reassignment in progress. */
  readonly topics: readonly ListPartitionReassignmentsTopic[] | null;
}

export interface OngoingPartitionReassignment {
  readonly partitionIndex: number;
  readonly replicas: readonly number[];
  readonly addingReplicas: readonly number[];
  readonly removingReplicas: readonly number[];
}

export interface OngoingTopicReassignment {
  readonly name: string;
  readonly partitions: readonly OngoingPartitionReassignment[];
}

export interface ListPartitionReassignmentsResponse {
  readonly errorCode: number;
  readonly errorMessage: string | null;
  readonly topics: readonly OngoingTopicReassignment[];
}

/** The reassignments in progress among the partitions asked for; unknown topics and partitions are left out (as Kafka does). */
export function listPartitionReassignments(image: MetadataImage, request: ListPartitionReassignmentsRequest): ListPartitionReassignmentsResponse {
  const wanted: { name: string; partitions: readonly (PartitionImage | undefined)[] }[] =
    request.topics === null
      ? image.sortedTopics().map((t) => ({ name: t.name, partitions: t.partitions }))
      : request.topics.map((t) => {
          const topic = image.topic(t.name);
          return { name: t.name, partitions: topic === undefined ? [] : [...new Set(t.partitionIndexes)].map((i) => topic.partitions[i]) };
        });
  const topics: OngoingTopicReassignment[] = [];
  for (const w of wanted) {
    const partitions: OngoingPartitionReassignment[] = [];
    for (const p of w.partitions) {
      if (p === undefined || !isReassigning(p)) continue;
      partitions.push({ partitionIndex: p.partitionId, replicas: p.replicas, addingReplicas: p.addingReplicas, removingReplicas: p.removingReplicas });
    }
    if (partitions.length > 0) topics.push({ name: w.name, partitions });
  }
  return { errorCode: ErrorCode.NONE, errorMessage: null, topics };
}
