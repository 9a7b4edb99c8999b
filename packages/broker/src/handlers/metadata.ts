import { ErrorCode } from '@tributary/protocol';
import type { TopicImage } from '@tributary/metadata';
import type { Broker, RequestContext } from '../broker.ts';
import { topicNameProblem } from '../topic-name.ts';
import { autoCreateTopic, isInternal, listenerOf, ZERO_UUID } from './common.ts';

const AUTHORIZED_OPERATIONS_OMITTED = -2147483648;

/** Metadata, answered from the committed cluster metadata this broker has applied. */
export async function handleMetadata(broker: Broker, ctx: RequestContext, body: any): Promise<object> {
  const version = ctx.header.apiVersion;
  const listenerName = listenerOf(broker, ctx);
  // v0: an empty list means all topics; v1+: null means all topics and empty means none.
  const requested: { name: string | null; topicId: string }[] | null =
    body.topics === null || (version === 0 && body.topics.length === 0) ? null : body.topics;
  const allowAutoCreate = version < 4 ? true : body.allowAutoTopicCreation !== false;
  const topics: object[] = [];
  const describe = (t: TopicImage): object => ({
    errorCode: ErrorCode.NONE,
    name: t.name,
    topicId: t.topicId,
    isInternal: isInternal(t.name),
    partitions: t.partitions.map((p) => {
      const offline = p.replicas.filter((id) => !broker.metadata.isLive(id));
      // A leader the image names but that is not live yet (just registered, fenced meanwhile) cannot serve.
      const leaderLive = p.leader >= 0 && broker.metadata.isLive(p.leader);
      return {
        errorCode: leaderLive ? ErrorCode.NONE : ErrorCode.LEADER_NOT_AVAILABLE,
        partitionIndex: p.partitionId,
        leaderId: leaderLive ? p.leader : -1,
        leaderEpoch: p.leaderEpoch,
        replicaNodes: p.replicas,
        isrNodes: p.isr,
        offlineReplicas: offline,
      };
    }),
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
    for (const t of broker.metadata.image.sortedTopics()) topics.push(describe(t));
  } else {
    for (const req of requested) {
      if (req.name === null || req.name === undefined) {
        const t = req.topicId && req.topicId !== ZERO_UUID ? broker.metadata.image.topicById(req.topicId) : undefined;
        topics.push(t ? describe(t) : missing(null, req.topicId ?? ZERO_UUID, ErrorCode.UNKNOWN_TOPIC_ID));
        continue;
      }
      const existing = broker.metadata.image.topic(req.name);
      if (existing) {
        topics.push(describe(existing));
      } else if (topicNameProblem(req.name) !== null) {
        topics.push(missing(req.name, ZERO_UUID, ErrorCode.INVALID_TOPIC_EXCEPTION));
      } else if (allowAutoCreate && broker.config.bool('auto.create.topics.enable') && !isInternal(req.name)) {
        const created = await autoCreateTopic(broker, req.name);
        // Kafka answers LEADER_NOT_AVAILABLE for a topic being created; clients retry.
        topics.push(created ? describe(created) : missing(req.name, ZERO_UUID, ErrorCode.LEADER_NOT_AVAILABLE));
      } else {
        topics.push(missing(req.name, ZERO_UUID, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION));
      }
    }
  }
  const brokers = broker.metadata.liveBrokers().flatMap((b) => {
    const e = broker.metadata.endpoint(b.brokerId, listenerName);
    return e ? [{ nodeId: b.brokerId, host: e.host, port: e.port, rack: b.rack }] : [];
  });
  return {
    throttleTimeMs: 0,
    brokers,
    clusterId: broker.clusterId,
    controllerId: broker.metadata.controllerIdForClients(),
    topics,
    clusterAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
  };
}
