import { AssertionError } from '@tributary/common';
import { describe, expect, it } from 'vitest';
import {
  apply,
  applyAll,
  ConfigResourceType,
  decodeSnapshot,
  encodeSnapshot,
  imageFromRecords,
  imagesEqual,
  imageToRecords,
  MetadataDelta,
  MetadataImage,
  type MetadataRecord,
} from '../src/index.ts';
import { IMAGE_TOKEN } from '../src/image.ts';
import { incarnation } from './harness.ts';

const T1 = 'q1VlZQ3fT7a9y8uKdG_3Bw';
const T2 = 'AAAAAAAAAAAAAAAAAAABAA';

const broker = (brokerId: number, brokerEpoch: number, extra: Partial<Extract<MetadataRecord, { type: 'register-broker' }>> = {}): MetadataRecord => ({
  type: 'register-broker',
  brokerId,
  incarnationId: incarnation(brokerId),
  brokerEpoch,
  listeners: [{ name: 'PLAINTEXT', host: `h${brokerId}`, port: 9092 }],
  rack: null,
  fenced: false,
  inControlledShutdown: false,
  ...extra,
});

const base: MetadataRecord[] = [
  broker(1, 1),
  broker(2, 2),
  broker(3, 3),
  { type: 'topic', name: 'a', topicId: T1 },
  { type: 'partition', topicId: T1, partitionId: 0, replicas: [1, 2, 3], isr: [1, 2, 3], leader: 1, leaderEpoch: 0, partitionEpoch: 0 },
  { type: 'partition', topicId: T1, partitionId: 1, replicas: [2, 3, 1], isr: [2, 3, 1], leader: 2, leaderEpoch: 0, partitionEpoch: 0 },
];

const replayError = (image: MetadataImage, record: MetadataRecord): string => {
  try {
    apply(image, record);
  } catch (e) {
    expect(e).toBeInstanceOf(AssertionError);
    return (e as Error).message;
  }
  throw new Error('replay accepted the record');
};

describe('MetadataDelta replay', () => {
  const image = applyAll(MetadataImage.EMPTY, base);

  it('builds topics, partitions and brokers, and leaves the base image untouched', () => {
    expect(MetadataImage.EMPTY.topicsByName.size).toBe(0);
    expect(image.topic('a')!.partitions.map((p) => p.leader)).toEqual([1, 2]);
    expect(image.topicById(T1)).toBe(image.topic('a'));
    expect(image.brokers.size).toBe(3);
    expect(image.nextBrokerEpoch).toBe(4);
    expect(image.partitionCount).toBe(2);
    const next = apply(image, { type: 'fence-broker', brokerId: 1, brokerEpoch: 1 });
    expect(image.broker(1)!.fenced).toBe(false);
    expect(next.broker(1)!.fenced).toBe(true);
    expect(next.topic('a')).toBe(image.topic('a')); // untouched collections are shared
  });

  it('freezes what it builds', () => {
    const p = image.topic('a')!.partitions[0]!;
    expect(Object.isFrozen(p) && Object.isFrozen(p.isr) && Object.isFrozen(image.topic('a')!.partitions) && Object.isFrozen(image)).toBe(true);
    expect(() => new MetadataImage(Symbol('x') as unknown as typeof IMAGE_TOKEN, image)).toThrow(TypeError);
  });

  it('a leader change bumps the leader epoch and the partition epoch; an ISR change only the partition epoch', () => {
    const led = apply(image, { type: 'partition-change', topicId: T1, partitionId: 0, leader: 2, isr: null, replicas: null });
    expect(led.partition(T1, 0)).toMatchObject({ leader: 2, leaderEpoch: 1, partitionEpoch: 1, isr: [1, 2, 3] });
    const shrunk = apply(led, { type: 'partition-change', topicId: T1, partitionId: 0, leader: -2, isr: [2, 3], replicas: null });
    expect(shrunk.partition(T1, 0)).toMatchObject({ leader: 2, leaderEpoch: 1, partitionEpoch: 2, isr: [2, 3] });
    const offline = apply(shrunk, { type: 'partition-change', topicId: T1, partitionId: 0, leader: -1, isr: null, replicas: null });
    expect(offline.partition(T1, 0)).toMatchObject({ leader: -1, leaderEpoch: 2, partitionEpoch: 3 });
    // Naming the same leader again is a (Kafka-style) leader epoch bump.
    const same = apply(image, { type: 'partition-change', topicId: T1, partitionId: 1, leader: 2, isr: null, replicas: null });
    expect(same.partition(T1, 1)).toMatchObject({ leader: 2, leaderEpoch: 1, partitionEpoch: 1 });
  });

  it('replays many changes to one partition in one delta', () => {
    const delta = new MetadataDelta(image);
    for (let i = 0; i < 10; i++) delta.replay({ type: 'partition-change', topicId: T1, partitionId: 0, leader: i % 2 === 0 ? 2 : 1, isr: null, replicas: null });
    const next = delta.apply();
    expect(delta.size).toBe(10);
    expect(next.partition(T1, 0)).toMatchObject({ leader: 1, leaderEpoch: 10, partitionEpoch: 10 });
    expect(() => delta.replay(base[0]!)).toThrow(/reused after apply/);
    expect(() => delta.apply()).toThrow(/twice/);
  });

  it('refuses records that do not fit the image', () => {
    expect(replayError(image, { type: 'partition', topicId: T2, partitionId: 0, replicas: [1], isr: [1], leader: 1, leaderEpoch: 0, partitionEpoch: 0 })).toMatch(/unknown topic id/);
    expect(replayError(image, { type: 'partition', topicId: T1, partitionId: 5, replicas: [1], isr: [1], leader: 1, leaderEpoch: 0, partitionEpoch: 0 })).toMatch(/contiguous: expected 2/);
    expect(replayError(image, { type: 'partition', topicId: T1, partitionId: 2, replicas: [1, 1], isr: [1], leader: 1, leaderEpoch: 0, partitionEpoch: 0 })).toMatch(/not distinct/);
    expect(replayError(image, { type: 'partition', topicId: T1, partitionId: 2, replicas: [1, 2], isr: [3], leader: 3, leaderEpoch: 0, partitionEpoch: 0 })).toMatch(/not a set within replicas/);
    expect(replayError(image, { type: 'partition', topicId: T1, partitionId: 2, replicas: [1, 2], isr: [1], leader: 2, leaderEpoch: 0, partitionEpoch: 0 })).toMatch(/leader 2 is not in the ISR/);
    expect(replayError(image, { type: 'partition', topicId: T1, partitionId: 2, replicas: [], isr: [], leader: -1, leaderEpoch: 0, partitionEpoch: 0 })).toMatch(/no replicas/);
    expect(replayError(image, { type: 'partition-change', topicId: T1, partitionId: 0, leader: -2, isr: [], replicas: null })).toMatch(/empty ISR/);
    expect(replayError(image, { type: 'partition-change', topicId: T1, partitionId: 0, leader: -2, isr: [2, 3], replicas: null })).toMatch(/leader 1 is not in the ISR/);
    expect(replayError(image, { type: 'partition-change', topicId: T1, partitionId: 0, leader: -2, isr: null, replicas: null })).toMatch(/changes nothing/);
    expect(replayError(image, { type: 'partition-change', topicId: T1, partitionId: 9, leader: 1, isr: null, replicas: null })).toMatch(/unknown partition/);
    expect(replayError(image, { type: 'partition-change', topicId: T1, partitionId: 0, leader: -3, isr: null, replicas: null })).toMatch(/invalid leader/);
    expect(replayError(image, { type: 'topic', name: 'a', topicId: T2 })).toMatch(/name exists/);
    expect(replayError(image, { type: 'topic', name: 'b', topicId: T1 })).toMatch(/id exists/);
    expect(replayError(image, { type: 'topic', name: 'b', topicId: 'AAAAAAAAAAAAAAAAAAAAAA' })).toMatch(/invalid topic id/);
    expect(replayError(image, broker(1, 1))).toMatch(/epoch must grow past 1/);
    expect(replayError(image, { type: 'fence-broker', brokerId: 1, brokerEpoch: 7 })).toMatch(/broker 1 is at epoch 1/);
    expect(replayError(image, { type: 'unfence-broker', brokerId: 9, brokerEpoch: 1 })).toMatch(/broker 9 is not registered/);
    expect(replayError(image, { type: 'config', resourceType: ConfigResourceType.TOPIC, resourceName: 'nope', name: 'x', value: '1' })).toMatch(/unknown topic/);
    expect(replayError(image, { type: 'config', resourceType: ConfigResourceType.BROKER, resourceName: 'b1', name: 'x', value: '1' })).toMatch(/"" or a broker id/);
    expect(replayError(image, { type: 'producer-ids', brokerId: 1, brokerEpoch: 1, nextProducerId: 0 })).toMatch(/must grow past 0/);
    expect(replayError(image, { type: 'remove-topic', topicId: T2 })).toMatch(/unknown topic id/);
    expect(replayError(image, { type: 'feature-level', name: '', featureLevel: 1 })).toMatch(/empty feature name/);
  });

  it('removing a topic removes its partitions and configs, and the name can be reused', () => {
    const withConfig = applyAll(image, [
      { type: 'config', resourceType: ConfigResourceType.TOPIC, resourceName: 'a', name: 'retention.ms', value: '1' },
      { type: 'config', resourceType: ConfigResourceType.BROKER, resourceName: '', name: 'log.retention.ms', value: '2' },
    ]);
    expect(withConfig.configs(ConfigResourceType.TOPIC, 'a').get('retention.ms')).toBe('1');
    const removed = apply(withConfig, { type: 'remove-topic', topicId: T1 });
    expect(removed.topic('a')).toBeUndefined();
    expect(removed.topicById(T1)).toBeUndefined();
    expect(removed.topicConfigs.has('a')).toBe(false);
    expect(removed.configs(ConfigResourceType.BROKER, '').get('log.retention.ms')).toBe('2');
    const again = applyAll(removed, [
      { type: 'topic', name: 'a', topicId: T2 },
      { type: 'partition', topicId: T2, partitionId: 0, replicas: [3], isr: [3], leader: 3, leaderEpoch: 0, partitionEpoch: 0 },
    ]);
    expect(again.topic('a')!.topicId).toBe(T2);
    expect(again.configs(ConfigResourceType.TOPIC, 'a').size).toBe(0);
  });

  it('config records set and delete keys; deleting the last key drops the resource', () => {
    const set = applyAll(image, [
      { type: 'config', resourceType: ConfigResourceType.BROKER, resourceName: '2', name: 'x', value: '1' },
      { type: 'config', resourceType: ConfigResourceType.BROKER, resourceName: '2', name: 'y', value: '2' },
    ]);
    const one = apply(set, { type: 'config', resourceType: ConfigResourceType.BROKER, resourceName: '2', name: 'x', value: null });
    expect([...one.configs(ConfigResourceType.BROKER, '2')]).toEqual([['y', '2']]);
    expect([...set.configs(ConfigResourceType.BROKER, '2')]).toEqual([['x', '1'], ['y', '2']]);
    const none = apply(one, { type: 'config', resourceType: ConfigResourceType.BROKER, resourceName: '2', name: 'y', value: null });
    expect(none.brokerConfigs.has('2')).toBe(false);
  });

  it('fencing, controlled shutdown, unregistration and features', () => {
    const next = applyAll(image, [
      { type: 'broker-registration-change', brokerId: 2, brokerEpoch: 2, inControlledShutdown: true },
      { type: 'fence-broker', brokerId: 3, brokerEpoch: 3 },
      { type: 'unregister-broker', brokerId: 1, brokerEpoch: 1 },
      { type: 'feature-level', name: 'metadata.version', featureLevel: 7 },
      { type: 'feature-level', name: 'gone', featureLevel: 1 },
      { type: 'feature-level', name: 'gone', featureLevel: 0 },
    ]);
    expect(next.isUsable(2)).toBe(false);
    expect(next.isUsable(3)).toBe(false);
    expect(next.broker(1)).toBeUndefined();
    expect(next.usableBrokers()).toEqual([]);
    expect([...next.features]).toEqual([['metadata.version', 7]]);
    expect(next.nextBrokerEpoch).toBe(4);
  });
});

describe('snapshots', () => {
  const rich = applyAll(MetadataImage.EMPTY, [
    ...base,
    broker(4, 9, { rack: 'r1', fenced: true }),
    { type: 'broker-registration-change', brokerId: 3, brokerEpoch: 3, inControlledShutdown: true },
    { type: 'topic', name: 'b', topicId: T2 },
    { type: 'partition', topicId: T2, partitionId: 0, replicas: [3, 4], isr: [4], leader: -1, leaderEpoch: 5, partitionEpoch: 9 },
    { type: 'partition-change', topicId: T1, partitionId: 1, leader: 3, isr: [3, 1], replicas: null },
    { type: 'config', resourceType: ConfigResourceType.TOPIC, resourceName: 'b', name: 'cleanup.policy', value: 'compact' },
    { type: 'config', resourceType: ConfigResourceType.BROKER, resourceName: '', name: 'x', value: 'y' },
    { type: 'producer-ids', brokerId: 1, brokerEpoch: 1, nextProducerId: 3000 },
    { type: 'feature-level', name: 'metadata.version', featureLevel: 3 },
    broker(5, 20),
    { type: 'unregister-broker', brokerId: 5, brokerEpoch: 20 },
  ]);

  it('replaying a snapshot gives an equal image', () => {
    const restored = imageFromRecords(imageToRecords(rich));
    expect(restored).toEqual(rich);
    expect(imagesEqual(restored, rich)).toBe(true);
    expect(restored.partition(T1, 1)).toMatchObject({ leader: 3, leaderEpoch: 1, partitionEpoch: 1 });
  });

  it('keeps the broker epoch counter past unregistered brokers', () => {
    expect(rich.nextBrokerEpoch).toBe(21);
    expect(imageFromRecords(imageToRecords(rich)).nextBrokerEpoch).toBe(21);
  });

  it('round-trips through bytes, deterministically', () => {
    const bytes = encodeSnapshot(rich);
    expect(decodeSnapshot(bytes)).toEqual(rich);
    expect(encodeSnapshot(decodeSnapshot(bytes))).toEqual(bytes);
    expect(imageFromRecords(imageToRecords(MetadataImage.EMPTY))).toEqual(MetadataImage.EMPTY);
  });

  it('images differing anywhere are not equal', () => {
    expect(imagesEqual(rich, apply(rich, { type: 'fence-broker', brokerId: 1, brokerEpoch: 1 }))).toBe(false);
    expect(imagesEqual(rich, apply(rich, { type: 'next-broker-epoch', nextBrokerEpoch: 22 }))).toBe(false);
    expect(imagesEqual(rich, rich)).toBe(true);
  });
});
