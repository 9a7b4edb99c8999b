/**
 * What controller operations need besides the image: randomness, config validation (injected, so this
 * package does not depend on the broker's config definitions), defaults from server.properties, and bounds.
 */
import type { Rng } from '@tributary/common';
import type { MetadataRecord } from '../records.ts';
import { ConfigResourceType, type ConfigResourceTypeCode } from '../records.ts';
import type { MetadataImage } from '../image.ts';

/** Every controller operation returns the records to append and the response; it changes nothing itself. */
export interface ControllerResult<R> {
  readonly records: readonly MetadataRecord[];
  readonly response: R;
}

/**
 * Config knowledge, injected. The controller wiring implements it with @tributary/broker's definitions
 * (validateTopicConfigs / parseConfigValue over topicConfigDefs and brokerConfigDefs).
 */
export interface ConfigSchema {
  /**
   * Checks a resource's complete set of explicit configs as it would be after a change (unknown keys and bad
   * values included); returns why it is invalid, or null. The controller answers INVALID_CONFIG with it.
   */
  validate(resourceType: ConfigResourceTypeCode, resourceName: string, configs: ReadonlyMap<string, string>): string | null;
  /** Whether the key holds a comma-separated list (APPEND and SUBTRACT apply only to lists). */
  isList(resourceType: ConfigResourceTypeCode, key: string): boolean;
  /** The key's default as text (APPEND/SUBTRACT start from it when the key has no explicit value). */
  defaultValue(resourceType: ConfigResourceTypeCode, key: string): string | null;
}

export interface ControllerLimits {
  /** Partitions one CreateTopics or CreatePartitions request may create (Kafka: 10000); keeps a batch bounded. */
  readonly maxPartitionsPerRequest: number;
  /** Config entries per resource in one request. */
  readonly maxConfigsPerResource: number;
  /** Replication factor ceiling (Kafka's int16). */
  readonly maxReplicationFactor: number;
}

export const defaultControllerLimits: ControllerLimits = Object.freeze({
  maxPartitionsPerRequest: 10_000,
  maxConfigsPerResource: 1_000,
  maxReplicationFactor: 32_767,
});

export interface ControllerContext {
  /** Placement start offsets and topic ids. */
  readonly rng: Rng;
  readonly configSchema: ConfigSchema;
  /** num.partitions: used when CreateTopics says -1. */
  readonly defaultNumPartitions: number;
  /** default.replication.factor: used when CreateTopics says -1. */
  readonly defaultReplicationFactor: number;
  /** delete.topic.enable */
  readonly deleteTopicEnable: boolean;
  /** The static (server.properties) unclean.leader.election.enable; topic and cluster-wide dynamic configs win. */
  readonly uncleanLeaderElectionEnable: boolean;
  /** broker.session.timeout.ms */
  readonly brokerSessionTimeoutMs: number;
  readonly limits: ControllerLimits;
}

export const UNCLEAN_LEADER_ELECTION_ENABLE = 'unclean.leader.election.enable';

/** A context with Kafka's defaults for everything not given. */
export function controllerContext(opts: Partial<ControllerContext> & Pick<ControllerContext, 'rng' | 'configSchema'>): ControllerContext {
  return {
    defaultNumPartitions: 1,
    defaultReplicationFactor: 1,
    deleteTopicEnable: true,
    uncleanLeaderElectionEnable: false,
    brokerSessionTimeoutMs: 9000,
    ...opts,
    limits: { ...defaultControllerLimits, ...opts.limits },
  };
}

/** unclean.leader.election.enable for a topic: topic override, else cluster-wide dynamic default, else static. */
export function uncleanElectionEnabled(image: MetadataImage, topicName: string, ctx: ControllerContext): boolean {
  const value =
    image.configs(ConfigResourceType.TOPIC, topicName).get(UNCLEAN_LEADER_ELECTION_ENABLE) ??
    image.configs(ConfigResourceType.BROKER, '').get(UNCLEAN_LEADER_ELECTION_ENABLE);
  if (value === undefined) return ctx.uncleanLeaderElectionEnable;
  return value.trim().toLowerCase() === 'true';
}
