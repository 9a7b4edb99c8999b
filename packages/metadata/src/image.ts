/**
 * MetadataImage: an immutable snapshot of cluster metadata. Only MetadataDelta builds one (by replaying
 * records), so every image is the result of a record sequence and a snapshot of it can be replayed into an
 * equal image. Collections are read-only views; their objects and arrays are frozen.
 */
import { ConfigResourceType, type BrokerListener, type ConfigResourceTypeCode } from './records.ts';

export interface PartitionImage {
  readonly topicId: string;
  readonly partitionId: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
  /** -1: no leader. */
  readonly leader: number;
  readonly leaderEpoch: number;
  readonly partitionEpoch: number;
  /**
   * A reassignment in progress (both empty when none): `replicas` is then target ∪ original, the leader
   * replicates to `addingReplicas` until they join the ISR, and completion drops `removingReplicas`.
   */
  readonly addingReplicas: readonly number[];
  readonly removingReplicas: readonly number[];
}

/** The replicas a reassignment in progress moves to (`replicas` when none is in progress). */
export function targetReplicas(p: PartitionImage): readonly number[] {
  return p.removingReplicas.length === 0 ? p.replicas : p.replicas.filter((r) => !p.removingReplicas.includes(r));
}

/** The replicas before the reassignment in progress (`replicas` when none is). */
export function originalReplicas(p: PartitionImage): readonly number[] {
  return p.addingReplicas.length === 0 ? p.replicas : p.replicas.filter((r) => !p.addingReplicas.includes(r));
}

export function isReassigning(p: PartitionImage): boolean {
  return p.addingReplicas.length > 0 || p.removingReplicas.length > 0;
}

export interface TopicImage {
  readonly name: string;
  readonly topicId: string;
  /** Indexed by partition id (ids are contiguous from 0). */
  readonly partitions: readonly PartitionImage[];
}

export interface BrokerImage {
  readonly brokerId: number;
  readonly incarnationId: string;
  readonly brokerEpoch: number;
  readonly listeners: readonly BrokerListener[];
  readonly rack: string | null;
  readonly fenced: boolean;
  readonly inControlledShutdown: boolean;
}

/** Config overrides of one resource: key → value as the user gave it. */
export type ConfigMap = ReadonlyMap<string, string>;

/** Guards the constructor: only MetadataDelta (which imports this module-private token) makes images. */
export const IMAGE_TOKEN: unique symbol = Symbol('MetadataImage');

export interface MetadataImageFields {
  readonly topicsByName: ReadonlyMap<string, TopicImage>;
  readonly topicsById: ReadonlyMap<string, TopicImage>;
  readonly brokers: ReadonlyMap<number, BrokerImage>;
  readonly topicConfigs: ReadonlyMap<string, ConfigMap>;
  readonly brokerConfigs: ReadonlyMap<string, ConfigMap>;
  readonly features: ReadonlyMap<string, number>;
  readonly nextProducerId: number;
  readonly nextBrokerEpoch: number;
}

const EMPTY_CONFIGS: ConfigMap = new Map();
/** Images are frozen, so derived views are cached beside them. */
const sortedTopicsCache = new WeakMap<MetadataImage, readonly TopicImage[]>();

export class MetadataImage implements MetadataImageFields {
  /** The image before any record: no topics, no brokers, producer ids from 0, broker epochs from 1. */
  static readonly EMPTY: MetadataImage = new MetadataImage(IMAGE_TOKEN, {
    topicsByName: new Map(),
    topicsById: new Map(),
    brokers: new Map(),
    topicConfigs: new Map(),
    brokerConfigs: new Map(),
    features: new Map(),
    nextProducerId: 0,
    nextBrokerEpoch: 1,
  });

  readonly topicsByName: ReadonlyMap<string, TopicImage>;
  readonly topicsById: ReadonlyMap<string, TopicImage>;
  readonly brokers: ReadonlyMap<number, BrokerImage>;
  /** Topic name → its config overrides. */
  readonly topicConfigs: ReadonlyMap<string, ConfigMap>;
  /** "" (cluster-wide default) or a broker id in decimal → its dynamic configs. */
  readonly brokerConfigs: ReadonlyMap<string, ConfigMap>;
  /** Finalized feature levels (a feature at level 0 is absent). */
  readonly features: ReadonlyMap<string, number>;
  /** First producer id of the next block AllocateProducerIds hands out. */
  readonly nextProducerId: number;
  /** The epoch the next broker registration gets. */
  readonly nextBrokerEpoch: number;

  constructor(token: typeof IMAGE_TOKEN, fields: MetadataImageFields) {
    if (token !== IMAGE_TOKEN) throw new TypeError('MetadataImage is built by MetadataDelta only');
    this.topicsByName = fields.topicsByName;
    this.topicsById = fields.topicsById;
    this.brokers = fields.brokers;
    this.topicConfigs = fields.topicConfigs;
    this.brokerConfigs = fields.brokerConfigs;
    this.features = fields.features;
    this.nextProducerId = fields.nextProducerId;
    this.nextBrokerEpoch = fields.nextBrokerEpoch;
    Object.freeze(this);
  }

  topic(name: string): TopicImage | undefined {
    return this.topicsByName.get(name);
  }

  topicById(topicId: string): TopicImage | undefined {
    return this.topicsById.get(topicId);
  }

  partition(topicId: string, partitionId: number): PartitionImage | undefined {
    return this.topicsById.get(topicId)?.partitions[partitionId];
  }

  broker(brokerId: number): BrokerImage | undefined {
    return this.brokers.get(brokerId);
  }

  /** May lead and join ISRs: registered, unfenced and not shutting down. */
  isUsable(brokerId: number): boolean {
    const b = this.brokers.get(brokerId);
    return b !== undefined && !b.fenced && !b.inControlledShutdown;
  }

  /** Usable brokers by ascending id. */
  usableBrokers(): BrokerImage[] {
    return [...this.brokers.values()].filter((b) => !b.fenced && !b.inControlledShutdown).sort((a, b) => a.brokerId - b.brokerId);
  }

  configs(resourceType: ConfigResourceTypeCode, resourceName: string): ConfigMap {
    const byName = resourceType === ConfigResourceType.TOPIC ? this.topicConfigs : this.brokerConfigs;
    return byName.get(resourceName) ?? EMPTY_CONFIGS;
  }

  /** Topics by name (deterministic whatever order the records created them in). */
  sortedTopics(): readonly TopicImage[] {
    let sorted = sortedTopicsCache.get(this);
    if (sorted === undefined) {
      const names = [...this.topicsByName.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      sorted = Object.freeze(names.map((n) => this.topicsByName.get(n)!));
      sortedTopicsCache.set(this, sorted);
    }
    return sorted;
  }

  get partitionCount(): number {
    let n = 0;
    for (const t of this.topicsById.values()) n += t.partitions.length;
    return n;
  }
}
