/**
 * CreateTopics, CreatePartitions, DeleteTopics (Kafka's ReplicationControlManager rules). Every topic gets its
 * own verdict; accepted topics are built on a working image so later topics of the same request see them.
 */
import { ErrorCode } from '../errors.ts';
import type { MetadataImage, TopicImage } from '../image.ts';
import { ConfigResourceType, NO_LEADER, type MetadataRecord } from '../records.ts';
import { randomUuid, ZERO_UUID } from '../uuid.ts';
import type { ControllerContext, ControllerResult } from './context.ts';
import { RecordBuilder } from './election.ts';
import { placeReplicas } from './placement.ts';

export const TOPIC_NAME_MAX_LENGTH = 249;
const LEGAL_TOPIC_NAME = /^[a-zA-Z0-9._-]+$/;

/** Kafka's topic name rules; returns why the name is illegal, or null. */
export function topicNameProblem(name: string): string | null {
  if (name.length === 0) return 'Topic name is illegal, it can\'t be empty';
  if (name === '.' || name === '..') return 'Topic name cannot be "." or ".."';
  if (name.length > TOPIC_NAME_MAX_LENGTH) return `Topic name is illegal, it can't be longer than ${TOPIC_NAME_MAX_LENGTH} characters, topic name: ${name}`;
  if (!LEGAL_TOPIC_NAME.test(name)) return `Topic name "${name}" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'`;
  return null;
}

/** '.' and '_' collide in metric names, so two topics may not differ only by them. */
export function topicCollisionKey(name: string): string {
  return name.replaceAll('.', '_');
}

export interface CreatableReplicaAssignment {
  readonly partitionIndex: number;
  readonly brokerIds: readonly number[];
}

export interface CreatableTopicConfig {
  readonly name: string;
  readonly value: string | null;
}

export interface CreatableTopic {
  readonly name: string;
  /** -1: num.partitions. Must be -1 with manual assignments. */
  readonly numPartitions: number;
  /** -1: default.replication.factor. Must be -1 with manual assignments. */
  readonly replicationFactor: number;
  readonly assignments: readonly CreatableReplicaAssignment[];
  readonly configs: readonly CreatableTopicConfig[];
}

export interface CreateTopicsRequest {
  readonly topics: readonly CreatableTopic[];
  readonly validateOnly: boolean;
}

export interface CreatableTopicResult {
  readonly name: string;
  /** ZERO_UUID on error and in validateOnly mode. */
  readonly topicId: string;
  readonly errorCode: number;
  readonly errorMessage: string | null;
  /** -1 on error. */
  readonly numPartitions: number;
  /** -1 on error. */
  readonly replicationFactor: number;
}

export interface CreateTopicsResponse {
  readonly topics: readonly CreatableTopicResult[];
}

interface ApiError {
  readonly errorCode: number;
  readonly errorMessage: string;
}

const apiError = (errorCode: number, errorMessage: string): ApiError => ({ errorCode, errorMessage });

function failed(name: string, e: ApiError): CreatableTopicResult {
  return { name, topicId: ZERO_UUID, errorCode: e.errorCode, errorMessage: e.errorMessage, numPartitions: -1, replicationFactor: -1 };
}

function collidingTopic(image: MetadataImage, name: string): string | null {
  const key = topicCollisionKey(name);
  if (key === name && !name.includes('_')) return null;
  for (const existing of image.topicsByName.keys()) {
    if (existing !== name && topicCollisionKey(existing) === key) return existing;
  }
  return null;
}

/** Checks a replica list of a manual assignment against the image; also returns its ISR (usable replicas). */
function manualReplicas(image: MetadataImage, partitionIndex: number, brokerIds: readonly number[], expectedReplicationFactor: number | null): ApiError | { isr: number[] } {
  if (brokerIds.length === 0) return apiError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `The manual partition assignment for partition ${partitionIndex} has no replicas.`);
  const seen = new Set<number>();
  for (const id of brokerIds) {
    if (seen.has(id)) return apiError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `The manual partition assignment includes the broker ${id} more than once.`);
    seen.add(id);
    if (image.broker(id) === undefined) {
      return apiError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `The manual partition assignment includes broker ${id}, but no broker with that id is registered.`);
    }
  }
  if (expectedReplicationFactor !== null && brokerIds.length !== expectedReplicationFactor) {
    return apiError(
      ErrorCode.INVALID_REPLICA_ASSIGNMENT,
      `The manual partition assignment includes a partition with ${brokerIds.length} replica(s), but this is not consistent with previous partitions, which have ${expectedReplicationFactor} replica(s).`,
    );
  }
  const isr = brokerIds.filter((id) => image.isUsable(id));
  if (isr.length === 0) {
    return apiError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `All brokers specified in the manual partition assignment for partition ${partitionIndex} are fenced or in controlled shutdown.`);
  }
  return { isr };
}

function replicationProblem(image: MetadataImage, replicationFactor: number): ApiError | null {
  const usable = image.usableBrokers().length;
  if (usable === 0) {
    return apiError(ErrorCode.INVALID_REPLICATION_FACTOR, `Unable to replicate the partition ${replicationFactor} time(s): All brokers are currently fenced or shutting down.`);
  }
  if (replicationFactor > usable) {
    return apiError(
      ErrorCode.INVALID_REPLICATION_FACTOR,
      `Unable to replicate the partition ${replicationFactor} time(s): The target replication factor of ${replicationFactor} cannot be reached because only ${usable} broker(s) are registered and unfenced.`,
    );
  }
  return null;
}

/** Partition records for new partitions [start, start + replicaLists.length), leader = first usable replica. */
function partitionRecords(topicId: string, start: number, replicaLists: readonly (readonly number[])[], isrs: readonly (readonly number[])[]): MetadataRecord[] {
  return replicaLists.map((replicas, i) => ({
    type: 'partition' as const,
    topicId,
    partitionId: start + i,
    replicas,
    isr: isrs[i]!,
    leader: isrs[i]![0] ?? NO_LEADER,
    leaderEpoch: 0,
    partitionEpoch: 0,
  }));
}

/** Partitions a topic entry asks for (before validation), for the per-request bound. */
function requestedPartitions(t: CreatableTopic, ctx: ControllerContext): number {
  if (t.assignments.length > 0) return t.assignments.length;
  return t.numPartitions === -1 ? ctx.defaultNumPartitions : Math.max(0, t.numPartitions);
}

export function createTopics(image: MetadataImage, request: CreateTopicsRequest, ctx: ControllerContext): ControllerResult<CreateTopicsResponse> {
  const counts = new Map<string, number>();
  for (const t of request.topics) counts.set(t.name, (counts.get(t.name) ?? 0) + 1);
  let total = 0;
  for (const t of request.topics) total += requestedPartitions(t, ctx);
  if (total > ctx.limits.maxPartitionsPerRequest) {
    const e = apiError(ErrorCode.POLICY_VIOLATION, `Excessively large number of partitions per request: ${total} exceeds ${ctx.limits.maxPartitionsPerRequest}.`);
    return { records: [], response: { topics: request.topics.map((t) => failed(t.name, e)) } };
  }

  const builder = new RecordBuilder(image);
  const results: CreatableTopicResult[] = [];
  for (const t of request.topics) {
    if (counts.get(t.name)! > 1) {
      results.push(failed(t.name, apiError(ErrorCode.INVALID_REQUEST, 'Duplicate topic name.')));
      continue;
    }
    const outcome = createOneTopic(builder.image, t, ctx);
    if ('errorCode' in outcome) {
      results.push(failed(t.name, outcome));
      continue;
    }
    builder.add(...outcome.records);
    results.push({
      name: t.name,
      topicId: request.validateOnly ? ZERO_UUID : outcome.topicId,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      numPartitions: outcome.numPartitions,
      replicationFactor: outcome.replicationFactor,
    });
  }
  return { records: request.validateOnly ? [] : builder.records, response: { topics: results } };
}

interface CreatedTopic {
  readonly records: MetadataRecord[];
  readonly topicId: string;
  readonly numPartitions: number;
  readonly replicationFactor: number;
}

function createOneTopic(image: MetadataImage, t: CreatableTopic, ctx: ControllerContext): ApiError | CreatedTopic {
  const nameProblem = topicNameProblem(t.name);
  if (nameProblem !== null) return apiError(ErrorCode.INVALID_TOPIC_EXCEPTION, nameProblem);
  if (image.topic(t.name) !== undefined) return apiError(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${t.name}' already exists.`);
  const collision = collidingTopic(image, t.name);
  if (collision !== null) return apiError(ErrorCode.INVALID_TOPIC_EXCEPTION, `Topic '${t.name}' collides with existing topic: ${collision}`);

  // Configs: null values mean "no override"; the schema sees the topic's complete set.
  if (t.configs.length > ctx.limits.maxConfigsPerResource) {
    return apiError(ErrorCode.INVALID_REQUEST, `${t.configs.length} configs exceed the limit of ${ctx.limits.maxConfigsPerResource} per topic.`);
  }
  const configs = new Map<string, string>();
  const seenKeys = new Set<string>();
  for (const c of t.configs) {
    if (seenKeys.has(c.name)) return apiError(ErrorCode.INVALID_REQUEST, `Duplicate config key ${c.name}.`);
    seenKeys.add(c.name);
    if (c.value !== null) configs.set(c.name, c.value);
  }
  const configProblem = ctx.configSchema.validate(ConfigResourceType.TOPIC, t.name, configs);
  if (configProblem !== null) return apiError(ErrorCode.INVALID_CONFIG, configProblem);

  let replicaLists: number[][];
  let isrs: number[][];
  if (t.assignments.length > 0) {
    if (t.numPartitions !== -1) return apiError(ErrorCode.INVALID_REQUEST, 'A manual partition assignment was specified, but numPartitions was not set to -1.');
    if (t.replicationFactor !== -1) return apiError(ErrorCode.INVALID_REQUEST, 'A manual partition assignment was specified, but replicationFactor was not set to -1.');
    const byIndex = new Map<number, readonly number[]>();
    for (const a of t.assignments) {
      if (byIndex.has(a.partitionIndex)) return apiError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `Partition ${a.partitionIndex} is assigned more than once.`);
      byIndex.set(a.partitionIndex, a.brokerIds);
    }
    replicaLists = [];
    isrs = [];
    for (let i = 0; i < t.assignments.length; i++) {
      const brokerIds = byIndex.get(i);
      if (brokerIds === undefined) return apiError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, 'Partitions should be a consecutive 0-based integer sequence.');
      const checked = manualReplicas(image, i, brokerIds, i === 0 ? null : replicaLists[0]!.length);
      if ('errorCode' in checked) return checked;
      replicaLists.push([...brokerIds]);
      isrs.push(checked.isr);
    }
    if (replicaLists[0]!.length > ctx.limits.maxReplicationFactor) {
      return apiError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `Replication factor ${replicaLists[0]!.length} exceeds ${ctx.limits.maxReplicationFactor}.`);
    }
  } else {
    const numPartitions = t.numPartitions === -1 ? ctx.defaultNumPartitions : t.numPartitions;
    if (!Number.isInteger(numPartitions) || numPartitions <= 0) {
      return apiError(ErrorCode.INVALID_PARTITIONS, 'Number of partitions was set to an invalid non-positive value.');
    }
    const replicationFactor = t.replicationFactor === -1 ? ctx.defaultReplicationFactor : t.replicationFactor;
    if (!Number.isInteger(replicationFactor) || replicationFactor <= 0) {
      return apiError(ErrorCode.INVALID_REPLICATION_FACTOR, 'Replication factor must be larger than 0, or -1 to use the default value.');
    }
    if (replicationFactor > ctx.limits.maxReplicationFactor) {
      return apiError(ErrorCode.INVALID_REPLICATION_FACTOR, `Replication factor must be at most ${ctx.limits.maxReplicationFactor}.`);
    }
    const problem = replicationProblem(image, replicationFactor);
    if (problem !== null) return problem;
    replicaLists = placeReplicas(image.usableBrokers(), numPartitions, replicationFactor, ctx.rng);
    isrs = replicaLists;
  }

  const topicId = randomUuid(ctx.rng, (id) => image.topicById(id) !== undefined);
  const records: MetadataRecord[] = [{ type: 'topic', name: t.name, topicId }, ...partitionRecords(topicId, 0, replicaLists, isrs)];
  for (const [name, value] of [...configs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    records.push({ type: 'config', resourceType: ConfigResourceType.TOPIC, resourceName: t.name, name, value });
  }
  return { records, topicId, numPartitions: replicaLists.length, replicationFactor: replicaLists[0]!.length };
}

// ---- CreatePartitions ----

export interface CreatePartitionsAssignment {
  readonly brokerIds: readonly number[];
}

export interface CreatePartitionsTopic {
  readonly name: string;
  /** The new total partition count. */
  readonly count: number;
  /** Replicas of each new partition, or null for automatic placement. */
  readonly assignments: readonly CreatePartitionsAssignment[] | null;
}

export interface CreatePartitionsRequest {
  readonly topics: readonly CreatePartitionsTopic[];
  readonly validateOnly: boolean;
}

export interface CreatePartitionsTopicResult {
  readonly name: string;
  readonly errorCode: number;
  readonly errorMessage: string | null;
}

export interface CreatePartitionsResponse {
  readonly results: readonly CreatePartitionsTopicResult[];
}

export function createPartitions(image: MetadataImage, request: CreatePartitionsRequest, ctx: ControllerContext): ControllerResult<CreatePartitionsResponse> {
  const counts = new Map<string, number>();
  for (const t of request.topics) counts.set(t.name, (counts.get(t.name) ?? 0) + 1);
  let total = 0;
  for (const t of request.topics) total += Math.max(0, t.count - (image.topic(t.name)?.partitions.length ?? t.count));
  if (total > ctx.limits.maxPartitionsPerRequest) {
    const errorMessage = `Excessively large number of partitions per request: ${total} exceeds ${ctx.limits.maxPartitionsPerRequest}.`;
    return { records: [], response: { results: request.topics.map((t) => ({ name: t.name, errorCode: ErrorCode.POLICY_VIOLATION, errorMessage })) } };
  }
  const builder = new RecordBuilder(image);
  const results: CreatePartitionsTopicResult[] = [];
  for (const t of request.topics) {
    const outcome = counts.get(t.name)! > 1 ? apiError(ErrorCode.INVALID_REQUEST, 'Duplicate topic name.') : addPartitions(builder.image, t, ctx);
    if ('errorCode' in outcome) {
      results.push({ name: t.name, errorCode: outcome.errorCode, errorMessage: outcome.errorMessage });
      continue;
    }
    builder.add(...outcome);
    results.push({ name: t.name, errorCode: ErrorCode.NONE, errorMessage: null });
  }
  return { records: request.validateOnly ? [] : builder.records, response: { results } };
}

function addPartitions(image: MetadataImage, t: CreatePartitionsTopic, ctx: ControllerContext): ApiError | MetadataRecord[] {
  const topic = image.topic(t.name);
  if (topic === undefined) return apiError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic '${t.name}' does not exist.`);
  const current = topic.partitions.length;
  if (!Number.isInteger(t.count)) return apiError(ErrorCode.INVALID_PARTITIONS, `Partition count ${t.count} is not an integer.`);
  if (t.count === current) return apiError(ErrorCode.INVALID_PARTITIONS, `Topic already has ${current} partition(s).`);
  if (t.count < current) return apiError(ErrorCode.INVALID_PARTITIONS, `The topic ${t.name} currently has ${current} partition(s); ${t.count} would not be an increase.`);
  const adding = t.count - current;
  const replicationFactor = topic.partitions[0]!.replicas.length;
  let replicaLists: number[][];
  let isrs: number[][];
  if (t.assignments !== null) {
    if (t.assignments.length !== adding) {
      return apiError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `Attempted to add ${adding} additional partition(s), but only ${t.assignments.length} assignment(s) were specified.`);
    }
    replicaLists = [];
    isrs = [];
    for (let i = 0; i < adding; i++) {
      const brokerIds = t.assignments[i]!.brokerIds;
      const checked = manualReplicas(image, current + i, brokerIds, replicationFactor);
      if ('errorCode' in checked) return checked;
      replicaLists.push([...brokerIds]);
      isrs.push(checked.isr);
    }
  } else {
    const problem = replicationProblem(image, replicationFactor);
    if (problem !== null) return problem;
    replicaLists = placeReplicas(image.usableBrokers(), adding, replicationFactor, ctx.rng);
    isrs = replicaLists;
  }
  return partitionRecords(topic.topicId, current, replicaLists, isrs);
}

// ---- DeleteTopics ----

export interface DeleteTopicState {
  /** Exactly one of name and topicId is given. */
  readonly name: string | null;
  readonly topicId: string | null;
}

export interface DeleteTopicsRequest {
  readonly topics: readonly DeleteTopicState[];
}

export interface DeletableTopicResult {
  readonly name: string | null;
  readonly topicId: string;
  readonly errorCode: number;
  readonly errorMessage: string | null;
}

export interface DeleteTopicsResponse {
  readonly responses: readonly DeletableTopicResult[];
}

export function deleteTopics(image: MetadataImage, request: DeleteTopicsRequest, ctx: ControllerContext): ControllerResult<DeleteTopicsResponse> {
  const responses: DeletableTopicResult[] = [];
  const records: MetadataRecord[] = [];
  const nameCounts = new Map<string, number>();
  const idCounts = new Map<string, number>();
  for (const t of request.topics) {
    if (t.name !== null) nameCounts.set(t.name, (nameCounts.get(t.name) ?? 0) + 1);
    if (t.topicId !== null) idCounts.set(t.topicId, (idCounts.get(t.topicId) ?? 0) + 1);
  }
  const removed = new Set<string>();
  for (const t of request.topics) {
    const fail = (errorCode: number, errorMessage: string): void => {
      responses.push({ name: t.name, topicId: t.topicId ?? ZERO_UUID, errorCode, errorMessage });
    };
    if ((t.name === null) === (t.topicId === null)) {
      fail(ErrorCode.INVALID_REQUEST, 'Give either a topic name or a topic id.');
      continue;
    }
    if ((t.name !== null && nameCounts.get(t.name)! > 1) || (t.topicId !== null && idCounts.get(t.topicId)! > 1)) {
      fail(ErrorCode.INVALID_REQUEST, t.name !== null ? 'Duplicate topic name.' : 'Duplicate topic id.');
      continue;
    }
    if (!ctx.deleteTopicEnable) {
      fail(ErrorCode.TOPIC_DELETION_DISABLED, 'Topic deletion is disabled.');
      continue;
    }
    let topic: TopicImage | undefined;
    if (t.name !== null) {
      topic = image.topic(t.name);
      if (topic === undefined) {
        fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic '${t.name}' does not exist.`);
        continue;
      }
    } else {
      topic = image.topicById(t.topicId!);
      if (topic === undefined) {
        fail(ErrorCode.UNKNOWN_TOPIC_ID, `Topic id ${t.topicId} does not exist.`);
        continue;
      }
    }
    // The same topic named once by name and once by id: delete it once, answer both.
    if (!removed.has(topic.topicId)) {
      removed.add(topic.topicId);
      records.push({ type: 'remove-topic', topicId: topic.topicId });
    }
    responses.push({ name: topic.name, topicId: topic.topicId, errorCode: ErrorCode.NONE, errorMessage: null });
  }
  return { records, response: { responses } };
}
