import { ConfigError, parseConfigValue, type ConfigDef, type ConfigValue } from './config-def.ts';

const LONG_MAX = Number.MAX_SAFE_INTEGER;

/**
 * Topic-level configs. `brokerKey` names the broker config that supplies the default
 * (Kafka's `log.*` keys), so DescribeConfigs can report each value's source.
 */
export interface TopicConfigDef extends ConfigDef {
  readonly brokerKey: string | null;
}

const def = (d: TopicConfigDef): TopicConfigDef => d;

export const topicConfigDefs: readonly TopicConfigDef[] = [
  def({ name: 'cleanup.policy', type: 'list', defaultValue: 'delete', oneOf: ['delete', 'compact'], brokerKey: 'log.cleanup.policy', doc: 'delete old segments, compact to the latest value per key, or both' }),
  def({ name: 'compression.type', type: 'string', defaultValue: 'producer', oneOf: ['producer', 'uncompressed', 'gzip', 'snappy', 'lz4', 'zstd'], brokerKey: 'compression.type', doc: 'final compression of stored batches; producer keeps what the producer sent' }),
  def({ name: 'delete.retention.ms', type: 'long', defaultValue: '86400000', min: 0, brokerKey: 'log.cleaner.delete.retention.ms', doc: 'how long tombstones are kept in compacted topics' }),
  def({ name: 'file.delete.delay.ms', type: 'long', defaultValue: '60000', min: 0, brokerKey: 'log.segment.delete.delay.ms', doc: 'delay before a deleted segment file is removed' }),
  def({ name: 'flush.messages', type: 'long', defaultValue: String(LONG_MAX), min: 1, brokerKey: 'log.flush.interval.messages', doc: 'force an fsync after this many messages' }),
  def({ name: 'flush.ms', type: 'long', defaultValue: String(LONG_MAX), min: 0, brokerKey: 'log.flush.interval.ms', doc: 'force an fsync after this long' }),
  def({ name: 'index.interval.bytes', type: 'int', defaultValue: '4096', min: 0, brokerKey: 'log.index.interval.bytes', doc: 'bytes between offset index entries' }),
  def({ name: 'max.compaction.lag.ms', type: 'long', defaultValue: String(LONG_MAX), min: 1, brokerKey: 'log.cleaner.max.compaction.lag.ms', doc: 'longest time a record stays uncompacted' }),
  def({ name: 'max.message.bytes', type: 'int', defaultValue: '1048588', min: 0, brokerKey: 'message.max.bytes', doc: 'largest record batch the topic accepts' }),
  def({ name: 'message.timestamp.type', type: 'string', defaultValue: 'CreateTime', oneOf: ['CreateTime', 'LogAppendTime'], brokerKey: 'log.message.timestamp.type', doc: 'record timestamps from the producer or set by the broker' }),
  def({ name: 'message.timestamp.before.max.ms', type: 'long', defaultValue: String(LONG_MAX), min: 0, brokerKey: 'log.message.timestamp.before.max.ms', doc: 'how far in the past a CreateTime timestamp may be' }),
  def({ name: 'message.timestamp.after.max.ms', type: 'long', defaultValue: '3600000', min: 0, brokerKey: 'log.message.timestamp.after.max.ms', doc: 'how far in the future a CreateTime timestamp may be' }),
  def({ name: 'min.cleanable.dirty.ratio', type: 'double', defaultValue: '0.5', min: 0, max: 1, brokerKey: 'log.cleaner.min.cleanable.ratio', doc: 'dirty share of the log that triggers compaction' }),
  def({ name: 'min.compaction.lag.ms', type: 'long', defaultValue: '0', min: 0, brokerKey: 'log.cleaner.min.compaction.lag.ms', doc: 'shortest time a record stays uncompacted' }),
  def({ name: 'min.insync.replicas', type: 'int', defaultValue: '1', min: 1, brokerKey: 'min.insync.replicas', doc: 'replicas that must have a record before acks=all succeeds' }),
  def({ name: 'preallocate', type: 'boolean', defaultValue: 'false', brokerKey: 'log.preallocate', doc: 'preallocate segment files', inert: true }),
  def({ name: 'retention.bytes', type: 'long', defaultValue: '-1', min: -1, brokerKey: 'log.retention.bytes', doc: 'largest partition size before old segments are deleted; -1 for no limit' }),
  def({ name: 'retention.ms', type: 'long', defaultValue: '604800000', min: -1, brokerKey: 'log.retention.ms', doc: 'age after which old segments are deleted; -1 to keep forever' }),
  def({ name: 'segment.bytes', type: 'int', defaultValue: '1073741824', min: 14, brokerKey: 'log.segment.bytes', doc: 'segment file size before a roll' }),
  def({ name: 'segment.index.bytes', type: 'int', defaultValue: '10485760', min: 8, brokerKey: 'log.index.size.max.bytes', doc: 'largest offset index per segment' }),
  def({ name: 'segment.jitter.ms', type: 'long', defaultValue: '0', min: 0, brokerKey: 'log.roll.jitter.ms', doc: 'random jitter subtracted from segment.ms', inert: true }),
  def({ name: 'segment.ms', type: 'long', defaultValue: '604800000', min: 1, brokerKey: 'log.roll.ms', doc: 'segment age before a roll' }),
  def({ name: 'unclean.leader.election.enable', type: 'boolean', defaultValue: 'false', brokerKey: 'unclean.leader.election.enable', doc: 'allow an out-of-sync replica to become leader' }),
  def({ name: 'message.downconversion.enable', type: 'boolean', defaultValue: 'true', brokerKey: 'log.message.downconversion.enable', doc: 'down-convert for old consumers', inert: true }),
];

export const topicConfigDefsByName: ReadonlyMap<string, TopicConfigDef> = new Map(topicConfigDefs.map((d) => [d.name, d]));

/** Explicit per-topic overrides, as strings exactly as the user gave them (after validation). */
export type TopicConfigOverrides = Record<string, string>;

/** Validates a set of topic overrides; throws ConfigError naming the first bad key. */
export function validateTopicConfigs(overrides: TopicConfigOverrides): void {
  for (const [key, value] of Object.entries(overrides)) {
    const d = topicConfigDefsByName.get(key);
    if (!d) throw new ConfigError(key, `unknown topic config ${key}`);
    parseConfigValue(d, value);
  }
}

export interface ResolvedTopicConfig {
  cleanupPolicy: string[];
  compressionType: string;
  deleteRetentionMs: number;
  fileDeleteDelayMs: number;
  flushMessages: number;
  flushMs: number;
  indexIntervalBytes: number;
  maxMessageBytes: number;
  messageTimestampType: 'CreateTime' | 'LogAppendTime';
  messageTimestampBeforeMaxMs: number;
  messageTimestampAfterMaxMs: number;
  minCleanableDirtyRatio: number;
  minCompactionLagMs: number;
  maxCompactionLagMs: number;
  minInsyncReplicas: number;
  retentionBytes: number;
  retentionMs: number;
  segmentBytes: number;
  segmentIndexBytes: number;
  segmentMs: number;
  uncleanLeaderElectionEnable: boolean;
}

export type ConfigSourceName = 'topic' | 'dynamic-broker' | 'static-broker' | 'default';

export interface ConfigEntryView {
  name: string;
  value: string | null;
  source: ConfigSourceName;
  isDefault: boolean;
  readOnly: boolean;
  sensitive: boolean;
  type: string;
  doc: string;
}

/** Supplies the broker-level value that backs a topic config default (null when not set explicitly). */
export interface BrokerDefaults {
  explicitValue(brokerKey: string): string | null;
}

/** Resolves every topic config: topic override, else explicit broker config, else Kafka's default. */
export function describeTopicConfigs(overrides: TopicConfigOverrides, broker: BrokerDefaults): ConfigEntryView[] {
  return topicConfigDefs.map((d) => {
    const topicValue = overrides[d.name];
    const brokerValue = d.brokerKey ? broker.explicitValue(d.brokerKey) : null;
    let value: string | null;
    let source: ConfigSourceName;
    if (topicValue !== undefined) {
      value = topicValue;
      source = 'topic';
    } else if (brokerValue !== null) {
      value = brokerValue;
      source = 'static-broker';
    } else {
      value = d.defaultValue;
      source = 'default';
    }
    return { name: d.name, value, source, isDefault: source === 'default', readOnly: false, sensitive: false, type: d.type, doc: d.doc };
  });
}

export function resolveTopicConfig(overrides: TopicConfigOverrides, broker: BrokerDefaults): ResolvedTopicConfig {
  const values = new Map<string, ConfigValue>();
  for (const entry of describeTopicConfigs(overrides, broker)) {
    const d = topicConfigDefsByName.get(entry.name)!;
    values.set(entry.name, entry.value === null ? null : parseConfigValue(d, entry.value));
  }
  const num = (k: string): number => values.get(k) as number;
  return {
    cleanupPolicy: values.get('cleanup.policy') as string[],
    compressionType: values.get('compression.type') as string,
    deleteRetentionMs: num('delete.retention.ms'),
    fileDeleteDelayMs: num('file.delete.delay.ms'),
    flushMessages: num('flush.messages'),
    flushMs: num('flush.ms'),
    indexIntervalBytes: num('index.interval.bytes'),
    maxMessageBytes: num('max.message.bytes'),
    messageTimestampType: values.get('message.timestamp.type') as 'CreateTime' | 'LogAppendTime',
    messageTimestampBeforeMaxMs: num('message.timestamp.before.max.ms'),
    messageTimestampAfterMaxMs: num('message.timestamp.after.max.ms'),
    minCleanableDirtyRatio: num('min.cleanable.dirty.ratio'),
    minCompactionLagMs: num('min.compaction.lag.ms'),
    maxCompactionLagMs: num('max.compaction.lag.ms'),
    minInsyncReplicas: num('min.insync.replicas'),
    retentionBytes: num('retention.bytes'),
    retentionMs: num('retention.ms'),
    segmentBytes: num('segment.bytes'),
    segmentIndexBytes: num('segment.index.bytes'),
    segmentMs: num('segment.ms'),
    uncleanLeaderElectionEnable: values.get('unclean.leader.election.enable') as boolean,
  };
}
