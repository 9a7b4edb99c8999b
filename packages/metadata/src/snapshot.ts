/**
 * Image → records, for Raft snapshots: replaying `imageToRecords(image)` from the empty image gives an image
 * equal to `image`. The order is deterministic (features, brokers, the broker-epoch counter, topics by name
 * with their partitions, topic configs, broker configs, producer ids), so equal images give equal bytes.
 */
import { encodeRecordBatch, decodeRecordBatch } from './codec.ts';
import { applyAll } from './delta.ts';
import { MetadataImage, type BrokerImage, type ConfigMap, type PartitionImage, type TopicImage } from './image.ts';
import { ConfigResourceType, type MetadataRecord } from './records.ts';

const byString = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export function imageToRecords(image: MetadataImage): MetadataRecord[] {
  const records: MetadataRecord[] = [];
  for (const name of [...image.features.keys()].sort(byString)) {
    records.push({ type: 'feature-level', name, featureLevel: image.features.get(name)! });
  }
  for (const id of [...image.brokers.keys()].sort((a, b) => a - b)) {
    const b = image.brokers.get(id)!;
    records.push({
      type: 'register-broker',
      brokerId: b.brokerId,
      incarnationId: b.incarnationId,
      brokerEpoch: b.brokerEpoch,
      listeners: b.listeners,
      rack: b.rack,
      fenced: b.fenced,
      inControlledShutdown: b.inControlledShutdown,
    });
  }
  records.push({ type: 'next-broker-epoch', nextBrokerEpoch: image.nextBrokerEpoch });
  for (const name of [...image.topicsByName.keys()].sort(byString)) {
    const topic = image.topicsByName.get(name)!;
    records.push({ type: 'topic', name, topicId: topic.topicId });
    for (const p of topic.partitions) {
      records.push({
        type: 'partition',
        topicId: p.topicId,
        partitionId: p.partitionId,
        replicas: p.replicas,
        isr: p.isr,
        leader: p.leader,
        leaderEpoch: p.leaderEpoch,
        partitionEpoch: p.partitionEpoch,
        // Only a reassigning partition carries these (and is written at version 1).
        ...(p.addingReplicas.length > 0 || p.removingReplicas.length > 0 ? { addingReplicas: p.addingReplicas, removingReplicas: p.removingReplicas } : {}),
      });
    }
  }
  for (const [resourceType, byName] of [
    [ConfigResourceType.TOPIC, image.topicConfigs],
    [ConfigResourceType.BROKER, image.brokerConfigs],
  ] as const) {
    for (const resourceName of [...byName.keys()].sort(byString)) {
      const configs = byName.get(resourceName)!;
      for (const name of [...configs.keys()].sort(byString)) {
        records.push({ type: 'config', resourceType, resourceName, name, value: configs.get(name)! });
      }
    }
  }
  if (image.nextProducerId > 0) {
    records.push({ type: 'producer-ids', brokerId: -1, brokerEpoch: -1, nextProducerId: image.nextProducerId });
  }
  return records;
}

/** Replays records from the empty image. */
export function imageFromRecords(records: Iterable<MetadataRecord>): MetadataImage {
  return applyAll(MetadataImage.EMPTY, records);
}

/** The snapshot payload for Raft's createSnapshot: one record batch. */
export function encodeSnapshot(image: MetadataImage): Uint8Array {
  return encodeRecordBatch(imageToRecords(image));
}

/** Loads a snapshot payload (malformed bytes throw RecordDecodeError; records that do not fit, AssertionError). */
export function decodeSnapshot(bytes: Uint8Array): MetadataImage {
  return imageFromRecords(decodeRecordBatch(bytes));
}

/**
 * Equality of cluster state, field by field (not through imageToRecords, so a field a snapshot forgot to carry
 * still makes images differ). Collections compare by key, whatever their insertion order.
 */
export function imagesEqual(a: MetadataImage, b: MetadataImage): boolean {
  if (a === b) return true;
  if (a.nextProducerId !== b.nextProducerId || a.nextBrokerEpoch !== b.nextBrokerEpoch) return false;
  if (!mapsEqual(a.features, b.features, (x, y) => x === y)) return false;
  if (!mapsEqual(a.brokers, b.brokers, brokersEqual)) return false;
  if (!mapsEqual(a.topicsById, b.topicsById, topicsEqual)) return false;
  if (!mapsEqual(a.topicsByName, b.topicsByName, topicsEqual)) return false;
  const configsEqual = (x: ConfigMap, y: ConfigMap): boolean => mapsEqual(x, y, (u, v) => u === v);
  return mapsEqual(a.topicConfigs, b.topicConfigs, configsEqual) && mapsEqual(a.brokerConfigs, b.brokerConfigs, configsEqual);
}

function mapsEqual<K, V>(a: ReadonlyMap<K, V>, b: ReadonlyMap<K, V>, eq: (x: V, y: V) => boolean): boolean {
  if (a === b) return true;
  if (a.size !== b.size) return false;
  for (const [k, v] of a) {
    if (!b.has(k) || !eq(v, b.get(k)!)) return false;
  }
  return true;
}

function listsEqual<T>(a: readonly T[], b: readonly T[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function brokersEqual(a: BrokerImage, b: BrokerImage): boolean {
  return (
    a.brokerId === b.brokerId &&
    a.incarnationId === b.incarnationId &&
    a.brokerEpoch === b.brokerEpoch &&
    a.rack === b.rack &&
    a.fenced === b.fenced &&
    a.inControlledShutdown === b.inControlledShutdown &&
    a.listeners.length === b.listeners.length &&
    a.listeners.every((l, i) => l.name === b.listeners[i]!.name && l.host === b.listeners[i]!.host && l.port === b.listeners[i]!.port)
  );
}

function partitionsEqual(a: PartitionImage, b: PartitionImage): boolean {
  return (
    a.topicId === b.topicId &&
    a.partitionId === b.partitionId &&
    a.leader === b.leader &&
    a.leaderEpoch === b.leaderEpoch &&
    a.partitionEpoch === b.partitionEpoch &&
    listsEqual(a.replicas, b.replicas) &&
    listsEqual(a.isr, b.isr) &&
    listsEqual(a.addingReplicas, b.addingReplicas) &&
    listsEqual(a.removingReplicas, b.removingReplicas)
  );
}

function topicsEqual(a: TopicImage, b: TopicImage): boolean {
  return a.name === b.name && a.topicId === b.topicId && a.partitions.length === b.partitions.length && a.partitions.every((p, i) => partitionsEqual(p, b.partitions[i]!));
}
