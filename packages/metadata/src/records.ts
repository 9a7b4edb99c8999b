/**
 * Metadata records: the only way cluster metadata changes. The controller turns requests into records; every
 * node (the controller itself included) builds its MetadataImage by replaying them in log order. The shapes
 * follow the facts in Kafka's metadata records (a KRaft log is the model); the binary encoding is ours
 * (codec.ts). Ids are int32 broker/partition ids; uuids are 22-character base64url text; epochs are numbers.
 */

/** `partition-change.leader` when the leader does not change. */
export const NO_LEADER_CHANGE = -2;
/** A partition leader of -1: the partition has no leader (offline). */
export const NO_LEADER = -1;

/** Kafka's resource type codes (ConfigResource.Type), as carried by DescribeConfigs/AlterConfigs. */
export const ConfigResourceType = {
  TOPIC: 2,
  BROKER: 4,
} as const;
export type ConfigResourceTypeCode = (typeof ConfigResourceType)[keyof typeof ConfigResourceType];

export interface BrokerListener {
  readonly name: string;
  readonly host: string;
  readonly port: number;
}

/** A topic came into existence (its partitions follow as `partition` records). */
export interface TopicRecord {
  readonly type: 'topic';
  readonly name: string;
  readonly topicId: string;
}

/** A partition, whole: created by CreateTopics/CreatePartitions and written into snapshots. */
export interface PartitionRecord {
  readonly type: 'partition';
  readonly topicId: string;
  readonly partitionId: number;
  /** Preferred order: replicas[0] is the preferred leader. */
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
  /** -1 when the partition has no leader. */
  readonly leader: number;
  readonly leaderEpoch: number;
  readonly partitionEpoch: number;
  /**
   * A reassignment in progress (version 1): replicas being added (not yet caught up) and being removed (left
   * when it completes). Absent or empty: none; version 0 records carry neither.
   */
  readonly addingReplicas?: readonly number[];
  readonly removingReplicas?: readonly number[];
}

/**
 * A change to a partition. Epochs are not carried: replay bumps them (Kafka's rule), so a record cannot
 * disagree with the image it lands on. `leader !== NO_LEADER_CHANGE` bumps leaderEpoch; every change bumps
 * partitionEpoch.
 */
export interface PartitionChangeRecord {
  readonly type: 'partition-change';
  readonly topicId: string;
  readonly partitionId: number;
  /** NO_LEADER_CHANGE (-2), NO_LEADER (-1), or the new leader. */
  readonly leader: number;
  /** null when the ISR does not change. */
  readonly isr: readonly number[] | null;
  /** null when the replicas do not change. */
  readonly replicas: readonly number[] | null;
  /** Version 1: the reassignment's adding/removing replicas; null or absent when they do not change. */
  readonly addingReplicas?: readonly number[] | null;
  readonly removingReplicas?: readonly number[] | null;
}

/** A broker (re)registered: a new registration replaces the old one, always fenced until it catches up. */
export interface RegisterBrokerRecord {
  readonly type: 'register-broker';
  readonly brokerId: number;
  readonly incarnationId: string;
  readonly brokerEpoch: number;
  readonly listeners: readonly BrokerListener[];
  readonly rack: string | null;
  readonly fenced: boolean;
  readonly inControlledShutdown: boolean;
}

export interface UnregisterBrokerRecord {
  readonly type: 'unregister-broker';
  readonly brokerId: number;
  readonly brokerEpoch: number;
}

export interface FenceBrokerRecord {
  readonly type: 'fence-broker';
  readonly brokerId: number;
  readonly brokerEpoch: number;
}

export interface UnfenceBrokerRecord {
  readonly type: 'unfence-broker';
  readonly brokerId: number;
  readonly brokerEpoch: number;
}

/** The broker asked to shut down; it leads nothing and joins no ISR from now on (until it re-registers). */
export interface BrokerRegistrationChangeRecord {
  readonly type: 'broker-registration-change';
  readonly brokerId: number;
  readonly brokerEpoch: number;
  readonly inControlledShutdown: boolean;
}

/** Sets (value) or deletes (null) one config key of a topic, a broker ("<id>"), or the cluster default (""). */
export interface ConfigRecord {
  readonly type: 'config';
  readonly resourceType: ConfigResourceTypeCode;
  readonly resourceName: string;
  readonly name: string;
  readonly value: string | null;
}

/** A block of producer ids went to a broker; `nextProducerId` is the first id of the next block. */
export interface ProducerIdsRecord {
  readonly type: 'producer-ids';
  readonly brokerId: number;
  /** The requesting broker's epoch; -1 in snapshots (the image keeps only the next block start). */
  readonly brokerEpoch: number;
  readonly nextProducerId: number;
}

/** A finalized feature level; 0 removes the feature. */
export interface FeatureLevelRecord {
  readonly type: 'feature-level';
  readonly name: string;
  readonly featureLevel: number;
}

/** Removes a topic, its partitions and its configs. */
export interface RemoveTopicRecord {
  readonly type: 'remove-topic';
  readonly topicId: string;
}

/**
 * Ours (no Kafka equivalent): the lowest broker epoch the next registration may get. Kafka uses record offsets
 * as broker epochs; we count in the image instead, and a snapshot must carry the counter so that a broker that
 * was unregistered can never get an epoch it had before.
 */
export interface NextBrokerEpochRecord {
  readonly type: 'next-broker-epoch';
  readonly nextBrokerEpoch: number;
}

export type MetadataRecord =
  | TopicRecord
  | PartitionRecord
  | PartitionChangeRecord
  | RegisterBrokerRecord
  | UnregisterBrokerRecord
  | FenceBrokerRecord
  | UnfenceBrokerRecord
  | BrokerRegistrationChangeRecord
  | ConfigRecord
  | ProducerIdsRecord
  | FeatureLevelRecord
  | RemoveTopicRecord
  | NextBrokerEpochRecord;

export type MetadataRecordType = MetadataRecord['type'];

/** One-line rendering for logs and test failures. */
export function describeRecord(record: MetadataRecord): string {
  const list = (xs: readonly number[] | null): string => (xs === null ? '-' : `[${xs.join(',')}]`);
  const reassigning = (adding: readonly number[] | null | undefined, removing: readonly number[] | null | undefined): string =>
    (adding ?? null) === null && (removing ?? null) === null ? '' : ` adding=${list(adding ?? null)} removing=${list(removing ?? null)}`;
  switch (record.type) {
    case 'topic':
      return `topic ${record.name} id=${record.topicId}`;
    case 'partition':
      return `partition ${record.topicId}/${record.partitionId} replicas=${list(record.replicas)} isr=${list(record.isr)} leader=${record.leader} le=${record.leaderEpoch} pe=${record.partitionEpoch}${reassigning(record.addingReplicas, record.removingReplicas)}`;
    case 'partition-change':
      return `partition-change ${record.topicId}/${record.partitionId} leader=${record.leader === NO_LEADER_CHANGE ? '-' : record.leader} isr=${list(record.isr)} replicas=${list(record.replicas)}${reassigning(record.addingReplicas, record.removingReplicas)}`;
    case 'register-broker':
      return `register-broker ${record.brokerId} epoch=${record.brokerEpoch} incarnation=${record.incarnationId} rack=${record.rack ?? '-'} fenced=${record.fenced} shutdown=${record.inControlledShutdown} listeners=${record.listeners.map((l) => `${l.name}://${l.host}:${l.port}`).join(',')}`;
    case 'unregister-broker':
    case 'fence-broker':
    case 'unfence-broker':
      return `${record.type} ${record.brokerId} epoch=${record.brokerEpoch}`;
    case 'broker-registration-change':
      return `broker-registration-change ${record.brokerId} epoch=${record.brokerEpoch} shutdown=${record.inControlledShutdown}`;
    case 'config':
      return `config ${record.resourceType === ConfigResourceType.TOPIC ? 'topic' : 'broker'}:${record.resourceName} ${record.name}=${record.value ?? '(delete)'}`;
    case 'producer-ids':
      return `producer-ids broker=${record.brokerId} epoch=${record.brokerEpoch} next=${record.nextProducerId}`;
    case 'feature-level':
      return `feature-level ${record.name}=${record.featureLevel}`;
    case 'remove-topic':
      return `remove-topic ${record.topicId}`;
    case 'next-broker-epoch':
      return `next-broker-epoch ${record.nextBrokerEpoch}`;
  }
}
