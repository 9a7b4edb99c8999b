/**
 * The client's side of the "consumer" embedded protocol: the codec itself lives in @tributary/protocol (the broker
 * reads subscriptions too); the assignor that a group leader runs is the client's own.
 */
import type { TopicPartitions } from '@tributary/protocol';

export {
  CONSUMER_PROTOCOL_TYPE,
  ConsumerProtocolError,
  decodeAssignment,
  decodeSubscription,
  encodeAssignment,
  encodeSubscription,
  type ConsumerAssignment,
  type ConsumerSubscription,
  type TopicPartitions,
} from '@tributary/protocol';

/**
 * Kafka's RangeAssignor: for each topic, its partitions in order are cut into contiguous ranges, one
 * per subscribed member in member id order; the first `partitions % members` members get one extra.
 * Members subscribed to topics that do not exist (absent from `partitionCounts`) get nothing for them.
 * Returns an entry for every member, possibly empty.
 */
export function rangeAssign(
  subscriptions: ReadonlyMap<string, readonly string[]>,
  partitionCounts: ReadonlyMap<string, number>,
): Map<string, TopicPartitions[]> {
  const result = new Map<string, TopicPartitions[]>();
  for (const memberId of subscriptions.keys()) result.set(memberId, []);
  const topics = [...new Set([...subscriptions.values()].flat())].sort();
  for (const topic of topics) {
    const count = partitionCounts.get(topic);
    if (count === undefined || count <= 0) continue;
    const members = [...subscriptions.entries()]
      .filter(([, ts]) => ts.includes(topic))
      .map(([id]) => id)
      .sort();
    const per = Math.floor(count / members.length);
    const extra = count % members.length;
    members.forEach((memberId, i) => {
      const start = i * per + Math.min(i, extra);
      const length = per + (i < extra ? 1 : 0);
      if (length === 0) return;
      const partitions = Array.from({ length }, (_, k) => start + k);
      (result.get(memberId) as TopicPartitions[]).push({ topic, partitions });
    });
  }
  return result;
}
