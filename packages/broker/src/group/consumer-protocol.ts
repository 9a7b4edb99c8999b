/**
 * The "consumer" embedded protocol as the coordinator reads it: it needs only the subscribed topics
 * (DescribeGroups, OffsetDelete, offset expiry). The codec is @tributary/protocol's, shared with the client.
 */
import { ConsumerProtocolError, decodeSubscription, type ConsumerSubscription } from '@tributary/protocol';

export { CONSUMER_PROTOCOL_TYPE } from '@tributary/protocol';

/** Parses a consumer subscription; null when the bytes are not one (a member's metadata is not ours to reject). */
export function parseConsumerSubscription(metadata: Buffer): ConsumerSubscription | null {
  try {
    return decodeSubscription(metadata);
  } catch (e) {
    if (e instanceof ConsumerProtocolError) return null;
    throw e;
  }
}
