/**
 * MetadataDelta: replays records on top of a base image and yields the next image. Replay is the only place
 * metadata changes, and it checks every record against the image it lands on: a record that does not fit
 * (unknown topic, ISR outside the replicas, stale broker epoch, ...) is a controller bug, so replay throws an
 * AssertionError and the node stops rather than serve a wrong image.
 *
 * Epoch rules (Kafka's): a partition-change whose leader is not NO_LEADER_CHANGE bumps leaderEpoch; every
 * partition-change bumps partitionEpoch. Registrations raise nextBrokerEpoch past their epoch.
 *
 * Copy-on-write: the first change to a collection copies it once per delta, so replaying a whole snapshot
 * through one delta is linear; `apply(image, record)` is the one-record convenience.
 */
import { AssertionError } from '@tributary/common';
import { IMAGE_TOKEN, MetadataImage, type BrokerImage, type ConfigMap, type PartitionImage, type TopicImage } from './image.ts';
import {
  ConfigResourceType,
  NO_LEADER,
  NO_LEADER_CHANGE,
  describeRecord,
  type ConfigRecord,
  type MetadataRecord,
  type PartitionChangeRecord,
  type PartitionRecord,
  type RegisterBrokerRecord,
} from './records.ts';
import { isValidUuid, ZERO_UUID } from './uuid.ts';

const INT32_MAX = 2147483647;

function check(condition: boolean, record: MetadataRecord, why: string): asserts condition {
  if (!condition) throw new AssertionError(`replay of [${describeRecord(record)}]: ${why}`);
}

function isBrokerId(id: number): boolean {
  return Number.isInteger(id) && id >= 0 && id <= INT32_MAX;
}

function distinct(xs: readonly number[]): boolean {
  if (xs.length > 16) return new Set(xs).size === xs.length;
  for (let i = 1; i < xs.length; i++) for (let j = 0; j < i; j++) if (xs[i] === xs[j]) return false;
  return true;
}

const NONE: readonly number[] = Object.freeze([]);

/** Structural rules every partition state obeys, whatever the brokers' states. */
function partitionShapeProblem(
  replicas: readonly number[],
  isr: readonly number[],
  leader: number,
  adding: readonly number[],
  removing: readonly number[],
): string | null {
  if (replicas.length === 0) return 'no replicas';
  if (!replicas.every(isBrokerId) || !distinct(replicas)) return `replicas [${replicas.join(',')}] are not distinct broker ids`;
  if (isr.length === 0) return 'empty ISR';
  if (!distinct(isr) || !isr.every((r) => replicas.includes(r))) return `ISR [${isr.join(',')}] is not a set within replicas [${replicas.join(',')}]`;
  if (leader !== NO_LEADER && !isr.includes(leader)) return `leader ${leader} is not in the ISR [${isr.join(',')}]`;
  for (const [what, xs] of [['adding', adding], ['removing', removing]] as const) {
    if (!distinct(xs) || !xs.every((r) => replicas.includes(r))) return `${what} replicas [${xs.join(',')}] are not a set within replicas [${replicas.join(',')}]`;
  }
  if (adding.some((r) => removing.includes(r))) return `adding [${adding.join(',')}] and removing [${removing.join(',')}] overlap`;
  // A reassignment must leave at least one replica behind when it completes.
  if (removing.length > 0 && removing.length >= replicas.length) return `removing [${removing.join(',')}] would leave no replica`;
  return null;
}

function frozenList(xs: readonly number[] | null | undefined, fallback: readonly number[]): readonly number[] {
  if (xs === null || xs === undefined) return fallback;
  return xs.length === 0 ? NONE : Object.freeze([...xs]);
}

export class MetadataDelta {
  readonly #base: MetadataImage;
  #done = false;
  #records = 0;
  #topicsById: Map<string, TopicImage> | null = null;
  #topicsByName: Map<string, TopicImage> | null = null;
  /** Partition arrays being changed, by topic id; materialized into TopicImages by apply(). */
  readonly #drafts = new Map<string, PartitionImage[]>();
  #brokers: Map<number, BrokerImage> | null = null;
  #topicConfigs: Map<string, ConfigMap> | null = null;
  #brokerConfigs: Map<string, ConfigMap> | null = null;
  /** Inner config maps already copied in this delta (so they may be mutated): "<type>:<name>". */
  readonly #ownedConfigs = new Set<string>();
  #features: Map<string, number> | null = null;
  #nextProducerId: number;
  #nextBrokerEpoch: number;

  constructor(base: MetadataImage) {
    this.#base = base;
    this.#nextProducerId = base.nextProducerId;
    this.#nextBrokerEpoch = base.nextBrokerEpoch;
  }

  /** Records replayed so far. */
  get size(): number {
    return this.#records;
  }

  replay(record: MetadataRecord): this {
    if (this.#done) throw new AssertionError('MetadataDelta reused after apply()');
    switch (record.type) {
      case 'topic':
        this.#replayTopic(record);
        break;
      case 'partition':
        this.#replayPartition(record);
        break;
      case 'partition-change':
        this.#replayPartitionChange(record);
        break;
      case 'remove-topic': {
        const topic = this.#topicById(record.topicId);
        check(topic !== undefined, record, 'unknown topic id');
        this.#ownTopics();
        this.#topicsById!.delete(topic.topicId);
        this.#topicsByName!.delete(topic.name);
        this.#drafts.delete(topic.topicId);
        const configs = this.#ownConfigMap(ConfigResourceType.TOPIC);
        configs.delete(topic.name);
        this.#ownedConfigs.delete(`${ConfigResourceType.TOPIC}:${topic.name}`);
        break;
      }
      case 'register-broker':
        this.#replayRegisterBroker(record);
        break;
      case 'unregister-broker': {
        this.#brokerAtEpoch(record, record.brokerId, record.brokerEpoch);
        this.#ownBrokers().delete(record.brokerId);
        break;
      }
      case 'fence-broker':
      case 'unfence-broker': {
        const broker = this.#brokerAtEpoch(record, record.brokerId, record.brokerEpoch);
        this.#ownBrokers().set(broker.brokerId, Object.freeze({ ...broker, fenced: record.type === 'fence-broker' }));
        break;
      }
      case 'broker-registration-change': {
        const broker = this.#brokerAtEpoch(record, record.brokerId, record.brokerEpoch);
        this.#ownBrokers().set(broker.brokerId, Object.freeze({ ...broker, inControlledShutdown: record.inControlledShutdown }));
        break;
      }
      case 'config':
        this.#replayConfig(record);
        break;
      case 'producer-ids':
        check(Number.isSafeInteger(record.nextProducerId) && record.nextProducerId > this.#nextProducerId, record, `next producer id must grow past ${this.#nextProducerId}`);
        this.#nextProducerId = record.nextProducerId;
        break;
      case 'feature-level': {
        check(record.name.length > 0, record, 'empty feature name');
        check(Number.isInteger(record.featureLevel) && record.featureLevel >= 0 && record.featureLevel <= 32767, record, 'feature level outside 0..32767');
        this.#features ??= new Map(this.#base.features);
        if (record.featureLevel === 0) this.#features.delete(record.name);
        else this.#features.set(record.name, record.featureLevel);
        break;
      }
      case 'next-broker-epoch':
        check(Number.isSafeInteger(record.nextBrokerEpoch) && record.nextBrokerEpoch >= 1, record, 'next broker epoch must be a positive integer');
        this.#nextBrokerEpoch = Math.max(this.#nextBrokerEpoch, record.nextBrokerEpoch);
        break;
    }
    this.#records++;
    return this;
  }

  replayAll(records: Iterable<MetadataRecord>): this {
    for (const record of records) this.replay(record);
    return this;
  }

  /** The image with every replayed record applied. The delta cannot be used afterwards. */
  apply(): MetadataImage {
    if (this.#done) throw new AssertionError('MetadataDelta.apply() called twice');
    this.#done = true;
    if (this.#drafts.size > 0) {
      this.#ownTopics();
      for (const [topicId, partitions] of this.#drafts) {
        const topic = this.#topicsById!.get(topicId)!;
        const next: TopicImage = Object.freeze({ name: topic.name, topicId, partitions: Object.freeze(partitions) });
        this.#topicsById!.set(topicId, next);
        this.#topicsByName!.set(topic.name, next);
      }
    }
    const base = this.#base;
    return new MetadataImage(IMAGE_TOKEN, {
      topicsByName: this.#topicsByName ?? base.topicsByName,
      topicsById: this.#topicsById ?? base.topicsById,
      brokers: this.#brokers ?? base.brokers,
      topicConfigs: this.#topicConfigs ?? base.topicConfigs,
      brokerConfigs: this.#brokerConfigs ?? base.brokerConfigs,
      features: this.#features ?? base.features,
      nextProducerId: this.#nextProducerId,
      nextBrokerEpoch: this.#nextBrokerEpoch,
    });
  }

  #topicById(topicId: string): TopicImage | undefined {
    return (this.#topicsById ?? this.#base.topicsById).get(topicId);
  }

  #topicByName(name: string): TopicImage | undefined {
    return (this.#topicsByName ?? this.#base.topicsByName).get(name);
  }

  #ownTopics(): void {
    if (this.#topicsById !== null) return;
    this.#topicsById = new Map(this.#base.topicsById);
    this.#topicsByName = new Map(this.#base.topicsByName);
  }

  #partitions(topic: TopicImage): readonly PartitionImage[] {
    return this.#drafts.get(topic.topicId) ?? topic.partitions;
  }

  #draft(topic: TopicImage): PartitionImage[] {
    let draft = this.#drafts.get(topic.topicId);
    if (draft === undefined) {
      draft = [...topic.partitions];
      this.#drafts.set(topic.topicId, draft);
    }
    return draft;
  }

  #ownBrokers(): Map<number, BrokerImage> {
    this.#brokers ??= new Map(this.#base.brokers);
    return this.#brokers;
  }

  #brokerAtEpoch(record: MetadataRecord, brokerId: number, brokerEpoch: number): BrokerImage {
    const broker = (this.#brokers ?? this.#base.brokers).get(brokerId);
    check(broker !== undefined, record, `broker ${brokerId} is not registered`);
    check(broker.brokerEpoch === brokerEpoch, record, `broker ${brokerId} is at epoch ${broker.brokerEpoch}`);
    return broker;
  }

  #ownConfigMap(type: number): Map<string, ConfigMap> {
    if (type === ConfigResourceType.TOPIC) {
      this.#topicConfigs ??= new Map(this.#base.topicConfigs);
      return this.#topicConfigs;
    }
    this.#brokerConfigs ??= new Map(this.#base.brokerConfigs);
    return this.#brokerConfigs;
  }

  #replayTopic(record: Extract<MetadataRecord, { type: 'topic' }>): void {
    check(record.name.length > 0, record, 'empty topic name');
    check(isValidUuid(record.topicId) && record.topicId !== ZERO_UUID, record, 'invalid topic id');
    check(this.#topicByName(record.name) === undefined, record, 'a topic with this name exists');
    check(this.#topicById(record.topicId) === undefined, record, 'a topic with this id exists');
    this.#ownTopics();
    const topic: TopicImage = Object.freeze({ name: record.name, topicId: record.topicId, partitions: Object.freeze([]) });
    this.#topicsById!.set(record.topicId, topic);
    this.#topicsByName!.set(record.name, topic);
  }

  #replayPartition(record: PartitionRecord): void {
    const topic = this.#topicById(record.topicId);
    check(topic !== undefined, record, 'unknown topic id');
    check(record.partitionId === this.#partitions(topic).length, record, `partition ids are contiguous: expected ${this.#partitions(topic).length}`);
    const adding = frozenList(record.addingReplicas, NONE);
    const removing = frozenList(record.removingReplicas, NONE);
    const problem = partitionShapeProblem(record.replicas, record.isr, record.leader, adding, removing);
    check(problem === null, record, problem ?? '');
    check(Number.isSafeInteger(record.leaderEpoch) && record.leaderEpoch >= 0, record, 'negative leader epoch');
    check(Number.isSafeInteger(record.partitionEpoch) && record.partitionEpoch >= 0, record, 'negative partition epoch');
    this.#draft(topic).push(
      Object.freeze({
        topicId: record.topicId,
        partitionId: record.partitionId,
        replicas: Object.freeze([...record.replicas]),
        isr: Object.freeze([...record.isr]),
        leader: record.leader,
        leaderEpoch: record.leaderEpoch,
        partitionEpoch: record.partitionEpoch,
        addingReplicas: adding,
        removingReplicas: removing,
      }),
    );
  }

  #replayPartitionChange(record: PartitionChangeRecord): void {
    const topic = this.#topicById(record.topicId);
    check(topic !== undefined, record, 'unknown topic id');
    const current = this.#partitions(topic)[record.partitionId];
    check(current !== undefined, record, 'unknown partition');
    const adding = frozenList(record.addingReplicas, current.addingReplicas);
    const removing = frozenList(record.removingReplicas, current.removingReplicas);
    check(
      record.leader !== NO_LEADER_CHANGE || record.isr !== null || record.replicas !== null || (record.addingReplicas ?? null) !== null || (record.removingReplicas ?? null) !== null,
      record,
      'changes nothing',
    );
    check(record.leader === NO_LEADER_CHANGE || record.leader === NO_LEADER || isBrokerId(record.leader), record, 'invalid leader');
    const leaderChanged = record.leader !== NO_LEADER_CHANGE;
    const replicas = record.replicas ?? current.replicas;
    const isr = record.isr ?? current.isr;
    const leader = leaderChanged ? record.leader : current.leader;
    const problem = partitionShapeProblem(replicas, isr, leader, adding, removing);
    check(problem === null, record, problem ?? '');
    this.#draft(topic)[record.partitionId] = Object.freeze({
      topicId: current.topicId,
      partitionId: current.partitionId,
      replicas: record.replicas === null ? current.replicas : Object.freeze([...record.replicas]),
      isr: record.isr === null ? current.isr : Object.freeze([...record.isr]),
      leader,
      leaderEpoch: leaderChanged ? current.leaderEpoch + 1 : current.leaderEpoch,
      partitionEpoch: current.partitionEpoch + 1,
      addingReplicas: adding,
      removingReplicas: removing,
    });
  }

  #replayRegisterBroker(record: RegisterBrokerRecord): void {
    check(isBrokerId(record.brokerId), record, 'invalid broker id');
    check(isValidUuid(record.incarnationId), record, 'invalid incarnation id');
    check(Number.isSafeInteger(record.brokerEpoch) && record.brokerEpoch >= 0, record, 'invalid broker epoch');
    const existing = (this.#brokers ?? this.#base.brokers).get(record.brokerId);
    check(existing === undefined || record.brokerEpoch > existing.brokerEpoch, record, `epoch must grow past ${existing?.brokerEpoch}`);
    const names = record.listeners.map((l) => l.name);
    check(new Set(names).size === names.length, record, 'duplicate listener names');
    this.#ownBrokers().set(
      record.brokerId,
      Object.freeze({
        brokerId: record.brokerId,
        incarnationId: record.incarnationId,
        brokerEpoch: record.brokerEpoch,
        listeners: Object.freeze(record.listeners.map((l) => Object.freeze({ name: l.name, host: l.host, port: l.port }))),
        rack: record.rack,
        fenced: record.fenced,
        inControlledShutdown: record.inControlledShutdown,
      }),
    );
    this.#nextBrokerEpoch = Math.max(this.#nextBrokerEpoch, record.brokerEpoch + 1);
  }

  #replayConfig(record: ConfigRecord): void {
    check(record.name.length > 0, record, 'empty config key');
    if (record.resourceType === ConfigResourceType.TOPIC) {
      check(this.#topicByName(record.resourceName) !== undefined, record, 'unknown topic');
    } else {
      check(record.resourceName === '' || /^(0|[1-9]\d{0,9})$/.test(record.resourceName), record, 'broker config names are "" or a broker id');
    }
    const outer = this.#ownConfigMap(record.resourceType);
    const key = `${record.resourceType}:${record.resourceName}`;
    let inner = outer.get(record.resourceName) as Map<string, string> | undefined;
    if (!this.#ownedConfigs.has(key)) {
      inner = new Map(inner ?? []);
      this.#ownedConfigs.add(key);
      outer.set(record.resourceName, inner);
    }
    if (record.value === null) inner!.delete(record.name);
    else inner!.set(record.name, record.value);
    if (inner!.size === 0) {
      outer.delete(record.resourceName);
      this.#ownedConfigs.delete(key);
    }
  }
}

/** The image after one record. */
export function apply(image: MetadataImage, record: MetadataRecord): MetadataImage {
  return new MetadataDelta(image).replay(record).apply();
}

/** The image after a sequence of records (one delta: linear in the records). */
export function applyAll(image: MetadataImage, records: Iterable<MetadataRecord>): MetadataImage {
  return new MetadataDelta(image).replayAll(records).apply();
}
