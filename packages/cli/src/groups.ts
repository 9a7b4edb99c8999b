/** Helpers the group commands share: partition resolution and log end offsets. */
import { KafkaError, OffsetSpec, type KafkaClient } from '@tributary/client';
import type { TopicPartitionsArg } from './args.ts';

export const tpKey = (topic: string, partition: number): string => `${topic}\0${partition}`;

export function byTopicPartition<T extends { topic: string; partition: number }>(a: T, b: T): number {
  return a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition;
}

/** Partition ids of each topic that exists now; topics that do not are absent. */
export async function partitionsOf(client: KafkaClient, topics: string[]): Promise<Map<string, number[]>> {
  const out = new Map<string, number[]>();
  if (topics.length === 0) return out;
  const md = await client.metadata([...new Set(topics)]);
  for (const t of md.topics) if (t.errorCode === 0) out.set(t.name, t.partitions.map((p) => p.partition));
  return out;
}

/** `--topic` arguments resolved to concrete partitions; a topic or partition that does not exist is an error. */
export async function resolveTopicArgs(client: KafkaClient, args: TopicPartitionsArg[]): Promise<{ topic: string; partition: number }[]> {
  const existing = await partitionsOf(client, args.map((a) => a.topic));
  const out: { topic: string; partition: number }[] = [];
  for (const a of args) {
    const have = existing.get(a.topic);
    if (have === undefined) throw new KafkaError(3, 'UNKNOWN_TOPIC_OR_PARTITION', `UNKNOWN_TOPIC_OR_PARTITION: topic ${a.topic} does not exist`);
    for (const p of a.partitions ?? have) {
      if (!have.includes(p)) {
        throw new KafkaError(3, 'UNKNOWN_TOPIC_OR_PARTITION', `UNKNOWN_TOPIC_OR_PARTITION: partition ${p} of topic ${a.topic} does not exist (the topic has ${have.length})`);
      }
      out.push({ topic: a.topic, partition: p });
    }
  }
  return out.sort(byTopicPartition);
}

/** The offset `spec` (OffsetSpec or a timestamp) of each partition, in order. */
export async function offsetsAt(client: KafkaClient, partitions: { topic: string; partition: number }[], spec: number): Promise<number[]> {
  const out: number[] = [];
  // One at a time: a group's partitions are few, and this keeps the broker's load even.
  for (const p of partitions) out.push((await client.listOffsets(p.topic, p.partition, spec)).offset);
  return out;
}

/** Log end offsets of the partitions that exist; deleted topics and partitions get none. */
export async function logEndOffsets(client: KafkaClient, partitions: { topic: string; partition: number }[]): Promise<Map<string, number>> {
  const existing = await partitionsOf(client, partitions.map((p) => p.topic));
  const live = partitions.filter((p) => existing.get(p.topic)?.includes(p.partition) === true);
  const offsets = await offsetsAt(client, live, OffsetSpec.Latest);
  return new Map(live.map((p, i) => [tpKey(p.topic, p.partition), offsets[i] as number]));
}
