/**
 * Image → records, for Raft snapshots: replaying `imageToRecords(image)` from the empty image gives an image
 * equal to `image`. The order is deterministic (features, brokers, the broker-epoch counter, topics by name
 * with their partitions, topic configs, broker configs, producer ids), so equal images give equal bytes.
 */
import { encodeRecordBatch, decodeRecordBatch } from './codec.ts';
import { applyAll } from './delta.ts';
import { MetadataImage } from './image.ts';
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

/** Equality of cluster state: equal images have byte-identical snapshots. */
export function imagesEqual(a: MetadataImage, b: MetadataImage): boolean {
  if (a === b) return true;
  const x = encodeSnapshot(a);
  const y = encodeSnapshot(b);
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}
