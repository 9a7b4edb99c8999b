import { ErrorCode } from '@tributary/protocol';
import type { Broker, RequestContext } from '../broker.ts';
import { messageOf, servingPartition } from './common.ts';

/** The replica id a consumer sends (v3+); older versions carry none (the schema's default, -2). */
const CONSUMER_REPLICA_ID = -1;

/**
 * OffsetForLeaderEpoch (key 23) v0-4 for clients: a consumer that saw records of epoch E at some position asks
 * where E ends on the current leader; an end offset below its position means the log was truncated under it
 * (KIP-320). Answered by the leader from its log's leader-epoch cache. Kafka caps the answer at the high
 * watermark for anyone but a follower (a consumer never saw records past it), and so do we.
 */
export async function handleOffsetForLeaderEpoch(broker: Broker, _ctx: RequestContext, body: any): Promise<object> {
  const replicaId: number = typeof body.replicaId === 'number' ? body.replicaId : CONSUMER_REPLICA_ID;
  const fromFollower = replicaId >= 0;
  const topics = [];
  for (const t of body.topics as any[]) {
    const partitions = [];
    for (const req of t.partitions as any[]) {
      const out = { errorCode: ErrorCode.NONE as number, partition: req.partition, leaderEpoch: -1, endOffset: -1 };
      partitions.push(out);
      const p = servingPartition(broker, t.topic, req.partition);
      if (typeof p === 'number') {
        out.errorCode = p;
        continue;
      }
      // v0-1 carry no current epoch (the schema's default -1): nothing to fence with.
      const current: number = typeof req.currentLeaderEpoch === 'number' ? req.currentLeaderEpoch : -1;
      if (current >= 0 && current !== p.leaderEpoch) {
        out.errorCode = current > p.leaderEpoch ? ErrorCode.UNKNOWN_LEADER_EPOCH : ErrorCode.FENCED_LEADER_EPOCH;
        continue;
      }
      try {
        const found = p.log.endOffsetForEpoch(req.leaderEpoch);
        out.leaderEpoch = found.epoch;
        out.endOffset = found.endOffset >= 0 && !fromFollower ? Math.min(found.endOffset, p.highWatermark) : found.endOffset;
      } catch (err) {
        broker.logger.error({ topic: t.topic, partition: req.partition, err: messageOf(err) }, 'offset for leader epoch failed');
        out.errorCode = ErrorCode.KAFKA_STORAGE_ERROR;
      }
    }
    topics.push({ topic: t.topic, partitions });
  }
  return { throttleTimeMs: 0, topics };
}
