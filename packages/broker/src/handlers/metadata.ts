import { ErrorCode } from '@tributary/protocol';
import type { Broker, RequestContext } from '../broker.ts';
import { topicNameProblem } from '../topic-name.ts';
import { autoCreateTopic, brokerEntry, isInternal, ZERO_UUID } from './common.ts';
import type { TopicRecord } from '../metadata/topic-registry.ts';

const AUTHORIZED_OPERATIONS_OMITTED = -2147483648;

export async function handleMetadata(broker: Broker, ctx: RequestContext, body: any): Promise<object> {
  const version = ctx.header.apiVersion;
  // v0: an empty list means all topics; v1+: null means all topics and empty means none.
  const requested: { name: string | null; topicId: string }[] | null =
    body.topics === null || (version === 0 && body.topics.length === 0) ? null : body.topics;
  const allowAutoCreate = version < 4 ? true : body.allowAutoTopicCreation !== false;
  const topics: object[] = [];
  const describe = (t: TopicRecord): object => ({
    errorCode: ErrorCode.NONE,
    name: t.name,
    topicId: t.topicId,
    isInternal: t.internal,
    partitions: broker.replicas.partitionsOf(t.name).map((p) => ({
      errorCode: ErrorCode.NONE,
      partitionIndex: p.index,
      leaderId: broker.nodeId,
      leaderEpoch: p.leaderEpoch,
      replicaNodes: [broker.nodeId],
      isrNodes: [broker.nodeId],
      offlineReplicas: [],
    })),
    topicAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
  });
  const missing = (name: string | null, topicId: string, errorCode: number): object => ({
    errorCode,
    name,
    topicId,
    isInternal: false,
    partitions: [],
    topicAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
  });

  if (requested === null) {
    for (const t of broker.registry.all()) topics.push(describe(t));
  } else {
    for (const req of requested) {
      if (req.name === null || req.name === undefined) {
        const t = req.topicId && req.topicId !== ZERO_UUID ? broker.registry.byId(req.topicId) : undefined;
        topics.push(t ? describe(t) : missing(null, req.topicId ?? ZERO_UUID, ErrorCode.UNKNOWN_TOPIC_ID));
        continue;
      }
      const existing = broker.registry.get(req.name);
      if (existing) {
        topics.push(describe(existing));
      } else if (topicNameProblem(req.name) !== null) {
        topics.push(missing(req.name, ZERO_UUID, ErrorCode.INVALID_TOPIC_EXCEPTION));
      } else if (allowAutoCreate && broker.config.bool('auto.create.topics.enable') && !isInternal(req.name)) {
        const created = await autoCreateTopic(broker, req.name);
        topics.push(created ? describe(created) : missing(req.name, ZERO_UUID, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION));
      } else {
        topics.push(missing(req.name, ZERO_UUID, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION));
      }
    }
  }
  return {
    throttleTimeMs: 0,
    brokers: [brokerEntry(broker)],
    clusterId: broker.clusterId,
    controllerId: broker.nodeId,
    topics,
    clusterAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
  };
}
