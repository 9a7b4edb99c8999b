import { ErrorCode } from '@tributary/protocol';
import type { TopicImage } from '@tributary/metadata';
import { INTERNAL_TOPICS, topicNameProblem } from '../topic-name.ts';
import type { Broker, RequestContext } from '../broker.ts';
import type { Partition } from '../partition.ts';

export const ZERO_UUID = 'AAAAAAAAAAAAAAAAAAAAAA';
/** How long a forwarded admin change may take to reach this broker's own metadata before it answers anyway. */
export const LOCAL_METADATA_WAIT_MS = 5_000;

export function listenerOf(broker: Broker, ctx: RequestContext): string {
  return ctx.listenerName ?? broker.advertisedListener.name;
}

/** This broker as a Metadata/DescribeCluster entry (its advertised client address). */
export function brokerEntry(broker: Broker): { nodeId: number; brokerId: number; host: string; port: number; rack: string | null } {
  const l = broker.advertisedListener;
  return { nodeId: broker.nodeId, brokerId: broker.nodeId, host: l.host, port: l.port, rack: broker.config.str('broker.rack') };
}

export function isInternal(name: string): boolean {
  return INTERNAL_TOPICS.has(name);
}

/**
 * The partition to serve a client's produce/fetch/offsets request from, or the error to answer: unknown
 * topic or partition when the committed metadata has no such partition, NOT_LEADER_OR_FOLLOWER when
 * another broker leads it (the client refreshes its metadata and goes there).
 */
export function servingPartition(broker: Broker, topic: string, index: number): Partition | number {
  const p = broker.replicas.leaderPartition(topic, index);
  if (p !== undefined) return p;
  const t = broker.metadata.image.topic(topic);
  if (t === undefined || index < 0 || index >= t.partitions.length) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
  return ErrorCode.NOT_LEADER_OR_FOLLOWER;
}

/**
 * Creates a topic with the broker's defaults through the controller, as Metadata and Produce do when
 * auto-creation is on, and waits (bounded) until this broker has applied it. Null when it could not.
 */
export async function autoCreateTopic(broker: Broker, name: string): Promise<TopicImage | null> {
  if (topicNameProblem(name) !== null) return null;
  const existing = broker.metadata.image.topic(name);
  if (existing) return existing;
  try {
    const r = await broker.controller.createTopics(
      {
        topics: [{ name, numPartitions: broker.config.int('num.partitions'), replicationFactor: broker.config.int('default.replication.factor'), assignments: [], configs: [] }],
        validateOnly: false,
      },
      { timeoutMs: 10_000 },
    );
    const t = r.topics[0];
    if (t && t.errorCode !== ErrorCode.NONE && t.errorCode !== ErrorCode.TOPIC_ALREADY_EXISTS) {
      broker.logger.warn({ topic: name, errorCode: t.errorCode, message: t.errorMessage }, 'auto-creating topic failed');
      return null;
    }
  } catch (err) {
    broker.logger.warn({ topic: name, err: messageOf(err) }, 'auto-creating topic failed: the controller quorum did not answer');
    return null;
  }
  await broker.metadata.waitFor((image) => image.topic(name) !== undefined, LOCAL_METADATA_WAIT_MS);
  return broker.metadata.image.topic(name) ?? null;
}

/** The Kafka error code for a failed controller call (NOT_CONTROLLER, REQUEST_TIMED_OUT, ...). */
export function controllerErrorCode(err: unknown): number {
  const code = (err as { errorCode?: unknown } | null)?.errorCode;
  return typeof code === 'number' ? code : ErrorCode.UNKNOWN_SERVER_ERROR;
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
