import { ErrorCode } from '@tributary/protocol';
import type { Broker, RequestContext } from '../broker.ts';
import { messageOf, servingPartition } from './common.ts';

const LATEST = -1;
const EARLIEST = -2;
const MAX_TIMESTAMP = -3;
const EARLIEST_LOCAL = -4;
const LATEST_TIERED = -5;
const READ_COMMITTED = 1;
/** The ReplicaId clients send (brokers send their id, debugging tools -2). */
const CONSUMER_REPLICA_ID = -1;

export async function handleListOffsets(broker: Broker, ctx: RequestContext, body: any): Promise<object> {
  const readCommitted = body.isolationLevel === READ_COMMITTED;
  const topics = [];
  for (const t of body.topics as any[]) {
    const partitions = [];
    for (const req of t.partitions as any[]) {
      const out = { partitionIndex: req.partitionIndex, errorCode: ErrorCode.NONE as number, oldStyleOffsets: [] as number[], timestamp: -1, offset: -1, leaderEpoch: -1 };
      partitions.push(out);
      const p = servingPartition(broker, t.name, req.partitionIndex);
      if (typeof p === 'number') {
        out.errorCode = p;
        continue;
      }
      if (req.currentLeaderEpoch >= 0 && req.currentLeaderEpoch !== p.leaderEpoch) {
        out.errorCode = req.currentLeaderEpoch > p.leaderEpoch ? ErrorCode.UNKNOWN_LEADER_EPOCH : ErrorCode.FENCED_LEADER_EPOCH;
        continue;
      }
      // A leader whose high watermark has not reached the start of its epoch yet could answer an offset below one an
      // earlier leader already gave out (a consumer resetting to latest would start too early): retriable
      // OFFSET_NOT_AVAILABLE until its in-sync followers have fetched. Earliest does not depend on the high watermark
      // and is always answered (as in Kafka, KIP-207); a timestamp lookup is refused too (simpler than Kafka's "only
      // when the hit is past the high watermark", one client retry in a short window), and so is max-timestamp.
      // The code exists from ListOffsets v5 on; older clients (kafka-python 2.0.2 has no code 78 and would fail the
      // poll) get LEADER_NOT_AVAILABLE, retriable for every client, as Kafka answers them.
      if (body.replicaId === CONSUMER_REPLICA_ID && !p.highWatermarkEstablished && req.timestamp !== EARLIEST && req.timestamp !== EARLIEST_LOCAL) {
        out.errorCode = ctx.header.apiVersion >= 5 ? ErrorCode.OFFSET_NOT_AVAILABLE : ErrorCode.LEADER_NOT_AVAILABLE;
        continue;
      }
      const ts: number = req.timestamp;
      try {
        if (ts === LATEST || ts === LATEST_TIERED) {
          out.offset = readCommitted ? p.lastStableOffset : p.highWatermark;
          out.leaderEpoch = p.leaderEpoch;
        } else if (ts === EARLIEST || ts === EARLIEST_LOCAL) {
          out.offset = p.logStartOffset;
          out.leaderEpoch = p.leaderEpoch;
        } else if (ts === MAX_TIMESTAMP) {
          const max = p.log.maxTimestampAndOffset();
          if (max) {
            out.timestamp = max.timestamp;
            out.offset = max.offset;
            out.leaderEpoch = p.leaderEpoch;
          }
        } else if (ts < 0) {
          out.errorCode = ErrorCode.INVALID_REQUEST;
        } else {
          const found = await p.log.offsetForTimestamp(ts);
          if (found && found.offset < p.highWatermark) {
            out.timestamp = found.timestamp;
            out.offset = found.offset;
            out.leaderEpoch = p.leaderEpoch;
          }
        }
      } catch (err) {
        broker.logger.error({ topic: t.name, partition: req.partitionIndex, err: messageOf(err) }, 'list offsets failed');
        out.errorCode = ErrorCode.KAFKA_STORAGE_ERROR;
      }
      if (ctx.header.apiVersion === 0 && out.offset >= 0) out.oldStyleOffsets = [out.offset];
    }
    topics.push({ name: t.name, partitions });
  }
  return { throttleTimeMs: 0, topics };
}
