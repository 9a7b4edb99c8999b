import { assert } from '@tributary/common';

/**
 * Group coordinator settings. Names are Kafka's broker properties in camelCase
 * (`group.min.session.timeout.ms` → `groupMinSessionTimeoutMs`); the last three are ours.
 */
export interface GroupConfig {
  /** JoinGroup with a smaller session timeout gets INVALID_SESSION_TIMEOUT. */
  groupMinSessionTimeoutMs: number;
  /** JoinGroup with a larger session timeout gets INVALID_SESSION_TIMEOUT. */
  groupMaxSessionTimeoutMs: number;
  /** How long the first rebalance of an Empty group waits for more members. */
  groupInitialRebalanceDelayMs: number;
  /**
   * Members (plus members awaiting their MEMBER_ID_REQUIRED rejoin) per group. Kafka's default is
   * Int.MAX; we bound it at 1000 because every member costs a timer and parked requests.
   */
  groupMaxSize: number;
  /** Committed offsets of an Empty group expire this long after the group became Empty. */
  offsetsRetentionMinutes: number;
  /** Partitions of `__consumer_offsets`; decides which partition (and coordinator) owns a group. */
  offsetsTopicNumPartitions: number;
  /** Longer commit metadata strings get OFFSET_METADATA_TOO_LARGE. */
  offsetMetadataMaxBytes: number;
  /** Ours: groups this coordinator holds; creating one more is refused with COORDINATOR_NOT_AVAILABLE. */
  groupMaxCount: number;
  /**
   * Ours: bytes of protocol metadata one member may send in JoinGroup (all protocols together), and
   * of one member's assignment in SyncGroup. Larger ones get INVALID_REQUEST: the group's record in
   * `__consumer_offsets` carries every member's metadata and must stay far below the record size limit.
   */
  groupMaxMemberMetadataBytes: number;
}

export const defaultGroupConfig: GroupConfig = {
  groupMinSessionTimeoutMs: 6000,
  groupMaxSessionTimeoutMs: 1_800_000,
  groupInitialRebalanceDelayMs: 3000,
  groupMaxSize: 1000,
  offsetsRetentionMinutes: 10080,
  offsetsTopicNumPartitions: 50,
  offsetMetadataMaxBytes: 4096,
  groupMaxCount: 100_000,
  groupMaxMemberMetadataBytes: 256 * 1024,
};

export function groupConfig(overrides: Partial<GroupConfig> = {}): GroupConfig {
  const config = { ...defaultGroupConfig, ...overrides };
  for (const [name, value] of Object.entries(config)) {
    assert(Number.isSafeInteger(value) && value >= 0, `group config ${name} must be a non-negative integer, got ${value}`);
  }
  assert(config.groupMinSessionTimeoutMs <= config.groupMaxSessionTimeoutMs, 'groupMinSessionTimeoutMs > groupMaxSessionTimeoutMs');
  assert(config.groupMaxSize > 0, 'groupMaxSize must be positive');
  assert(config.offsetsTopicNumPartitions > 0, 'offsetsTopicNumPartitions must be positive');
  assert(config.groupMaxCount > 0, 'groupMaxCount must be positive');
  return config;
}
