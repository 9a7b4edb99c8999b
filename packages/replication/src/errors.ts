/**
 * The Kafka error codes the replication rules answer with. The numbers are Kafka's (they go on the wire in Fetch,
 * Produce and AlterPartition unchanged); a test checks them against @tributary/protocol's table, which this pure
 * package does not import at run time.
 */
export const ErrorCode = {
  NONE: 0,
  OFFSET_OUT_OF_RANGE: 1,
  UNKNOWN_TOPIC_OR_PARTITION: 3,
  NOT_LEADER_OR_FOLLOWER: 6,
  REQUEST_TIMED_OUT: 7,
  NOT_ENOUGH_REPLICAS: 19,
  NOT_ENOUGH_REPLICAS_AFTER_APPEND: 20,
  NOT_CONTROLLER: 41,
  INVALID_REQUEST: 42,
  OPERATION_NOT_ATTEMPTED: 55,
  FENCED_LEADER_EPOCH: 74,
  UNKNOWN_LEADER_EPOCH: 75,
  STALE_BROKER_EPOCH: 77,
  INVALID_UPDATE_VERSION: 95,
  INELIGIBLE_REPLICA: 107,
} as const;

export type ReplicationErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** The error's Kafka name, for messages and traces. */
export function errorName(code: number): string {
  for (const [name, value] of Object.entries(ErrorCode)) if (value === code) return name;
  return `error ${code}`;
}
