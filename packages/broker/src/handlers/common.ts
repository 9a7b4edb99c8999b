import { INTERNAL_TOPICS, topicNameProblem } from '../topic-name.ts';
import type { Broker } from '../broker.ts';
import type { TopicRecord } from '../metadata/topic-registry.ts';

export const ZERO_UUID = 'AAAAAAAAAAAAAAAAAAAAAA';

export function brokerEntry(broker: Broker): { nodeId: number; brokerId: number; host: string; port: number; rack: string | null } {
  const l = broker.advertisedListener;
  return { nodeId: broker.nodeId, brokerId: broker.nodeId, host: l.host, port: l.port, rack: broker.config.str('broker.rack') };
}

export function isInternal(name: string): boolean {
  return INTERNAL_TOPICS.has(name);
}

/** Creates a topic with broker defaults, as Metadata and Produce do when auto-creation is on. */
export async function autoCreateTopic(broker: Broker, name: string): Promise<TopicRecord | null> {
  if (topicNameProblem(name) !== null) return null;
  const existing = broker.registry.get(name);
  if (existing) return existing;
  const topic: TopicRecord = { name, topicId: broker.newUuid(), numPartitions: broker.config.int('num.partitions'), configs: {}, internal: false };
  try {
    await broker.replicas.createTopic(topic);
  } catch (err) {
    // A concurrent request may have created it first.
    const now = broker.registry.get(name);
    if (now) return now;
    throw err;
  }
  return topic;
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
