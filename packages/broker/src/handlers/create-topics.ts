import { ErrorCode } from '@tributary/protocol';
import type { Broker, RequestContext } from '../broker.ts';
import { ConfigError } from '../config/config-def.ts';
import { validateTopicConfigs, type TopicConfigOverrides } from '../config/topic-config.ts';
import { MAX_PARTITIONS_PER_TOPIC } from '../replica-manager.ts';
import { collisionKey, topicNameProblem } from '../topic-name.ts';
import { isInternal, messageOf, ZERO_UUID } from './common.ts';
import { sourceCode, topicConfigViews } from './config-views.ts';

export async function handleCreateTopics(broker: Broker, ctx: RequestContext, body: any): Promise<object> {
  const version = ctx.header.apiVersion;
  const names = (body.topics as any[]).map((t) => t.name as string);
  const duplicates = new Set(names.filter((n, i) => names.indexOf(n) !== i));
  const topics = [];
  for (const t of body.topics as any[]) {
    topics.push(await createOne(broker, version, t, duplicates.has(t.name), body.validateOnly === true));
  }
  return { throttleTimeMs: 0, topics };
}

async function createOne(broker: Broker, version: number, t: any, duplicate: boolean, validateOnly: boolean): Promise<object> {
  const name: string = t.name;
  const out = {
    name,
    topicId: ZERO_UUID,
    errorCode: ErrorCode.NONE as number,
    errorMessage: null as string | null,
    topicConfigErrorCode: ErrorCode.NONE,
    numPartitions: -1,
    replicationFactor: -1,
    configs: null as object[] | null,
  };
  const fail = (code: number, message: string): object => {
    out.errorCode = code;
    out.errorMessage = message;
    return out;
  };
  if (duplicate) return fail(ErrorCode.INVALID_REQUEST, `topic ${name} appears more than once in the request`);
  const problem = topicNameProblem(name);
  if (problem) return fail(ErrorCode.INVALID_TOPIC_EXCEPTION, problem);
  if (isInternal(name)) return fail(ErrorCode.INVALID_REQUEST, `${name} is an internal topic name`);
  if (broker.registry.get(name)) return fail(ErrorCode.TOPIC_ALREADY_EXISTS, `topic ${name} already exists`);
  const collision = broker.registry.all().find((x) => collisionKey(x.name) === collisionKey(name));
  if (collision) return fail(ErrorCode.INVALID_TOPIC_EXCEPTION, `topic ${name} collides with existing topic ${collision.name} ('.' and '_' are interchangeable in metric names)`);

  const assignments = (t.assignments ?? []) as { partitionIndex: number; brokerIds: number[] }[];
  let numPartitions: number = t.numPartitions;
  let replicationFactor: number = t.replicationFactor;
  if (assignments.length > 0) {
    if (numPartitions !== -1 || replicationFactor !== -1) {
      return fail(ErrorCode.INVALID_REQUEST, 'give either replica assignments or numPartitions/replicationFactor, not both');
    }
    const sorted = [...assignments].sort((a, b) => a.partitionIndex - b.partitionIndex);
    for (let i = 0; i < sorted.length; i++) {
      const a = sorted[i]!;
      if (a.partitionIndex !== i) return fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `replica assignment partitions must be 0..${sorted.length - 1} without gaps`);
      if (a.brokerIds.length === 0) return fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `partition ${i} has no replicas`);
      if (new Set(a.brokerIds).size !== a.brokerIds.length) return fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `partition ${i} lists a broker twice`);
      const unknown = a.brokerIds.find((id) => id !== broker.nodeId);
      if (unknown !== undefined) return fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `partition ${i} names broker ${unknown}, which is not registered`);
      if (a.brokerIds.length !== sorted[0]!.brokerIds.length) return fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT, 'all partitions must have the same number of replicas');
    }
    numPartitions = sorted.length;
    replicationFactor = sorted[0]!.brokerIds.length;
  }
  if (numPartitions === -1) numPartitions = broker.config.int('num.partitions');
  if (replicationFactor === -1) replicationFactor = broker.config.int('default.replication.factor');
  if (numPartitions <= 0 || numPartitions > MAX_PARTITIONS_PER_TOPIC) {
    return fail(ErrorCode.INVALID_PARTITIONS, `number of partitions must be between 1 and ${MAX_PARTITIONS_PER_TOPIC}, got ${numPartitions}`);
  }
  if (replicationFactor <= 0) return fail(ErrorCode.INVALID_REPLICATION_FACTOR, `replication factor must be at least 1, got ${replicationFactor}`);
  if (replicationFactor > 1) {
    return fail(ErrorCode.INVALID_REPLICATION_FACTOR, `replication factor ${replicationFactor} is larger than the number of available brokers (1)`);
  }

  const overrides: TopicConfigOverrides = {};
  for (const c of (t.configs ?? []) as { name: string; value: string | null }[]) {
    if (c.value === null) continue;
    overrides[c.name] = c.value;
  }
  try {
    validateTopicConfigs(overrides);
  } catch (err) {
    if (err instanceof ConfigError) return fail(ErrorCode.INVALID_CONFIG, err.message);
    throw err;
  }
  out.numPartitions = numPartitions;
  out.replicationFactor = replicationFactor;
  if (version >= 5) {
    out.configs = topicConfigViews(broker, overrides).map((v) => ({ name: v.name, value: v.value, readOnly: v.readOnly, configSource: sourceCode(v), isSensitive: v.sensitive }));
  }
  if (validateOnly) return out;
  const topicId = broker.newUuid();
  try {
    await broker.replicas.createTopic({ name, topicId, numPartitions, configs: overrides, internal: false });
  } catch (err) {
    if (broker.registry.get(name)) return fail(ErrorCode.TOPIC_ALREADY_EXISTS, `topic ${name} already exists`);
    broker.logger.error({ topic: name, err: messageOf(err) }, 'topic creation failed');
    return fail(ErrorCode.KAFKA_STORAGE_ERROR, `creating topic ${name} failed: ${messageOf(err)}`);
  }
  out.topicId = topicId;
  return out;
}
