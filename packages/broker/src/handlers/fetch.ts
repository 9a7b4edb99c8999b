import { ErrorCode } from '@tributary/protocol';
import { OffsetOutOfRangeError } from '@tributary/storage';
import type { Broker, RequestContext } from '../broker.ts';
import { partitionKey } from '../partition.ts';
import { messageOf, servingPartition } from './common.ts';

const EMPTY = Buffer.alloc(0);
const READ_COMMITTED = 1;
/** A parked fetch re-reads at most this many times before answering with what it has. */
const MAX_WAKEUPS = 64;

interface PartitionRequest {
  partition: number;
  currentLeaderEpoch: number;
  fetchOffset: number;
  partitionMaxBytes: number;
}

export async function handleFetch(broker: Broker, ctx: RequestContext, body: any): Promise<object> {
  const version = ctx.header.apiVersion;
  if (version >= 7 && body.sessionId !== 0) {
    // We never create incremental fetch sessions (we answer session id 0), so any other id is unknown.
    return { throttleTimeMs: 0, errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND, sessionId: 0, responses: [] };
  }
  const maxBytes = Math.min(version >= 3 ? body.maxBytes : Number.MAX_SAFE_INTEGER, broker.config.int('fetch.max.bytes'));
  const minBytes: number = Math.max(0, body.minBytes);
  const readCommitted = body.isolationLevel === READ_COMMITTED;
  const keys: string[] = [];
  for (const t of body.topics as any[]) for (const p of t.partitions as PartitionRequest[]) keys.push(partitionKey(t.topic, p.partition));

  const startMs = broker.clock.monotonicMs();
  for (let wakeups = 0; ; wakeups++) {
    const since = broker.replicas.waiters.sequence();
    const { responses, bytes, hasError } = await readOnce(broker, body.topics, maxBytes, readCommitted);
    const remainingMs = body.maxWaitMs - (broker.clock.monotonicMs() - startMs);
    if (bytes >= minBytes || hasError || remainingMs <= 0 || wakeups >= MAX_WAKEUPS || ctx.signal.aborted) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, sessionId: 0, responses };
    }
    await broker.replicas.waiters.wait(keys, remainingMs, ctx.signal, since);
  }
}

/** Reads of at least the pool's minimum size land in pooled buffers; small ones are plain allocations. */
function poolAllocate(broker: Broker): (size: number) => Buffer {
  return (size) => (size >= broker.readPool.minBytes ? broker.readPool.acquire(size) : Buffer.allocUnsafe(size));
}

async function readOnce(broker: Broker, topics: any[], maxBytes: number, readCommitted: boolean): Promise<{ responses: object[]; bytes: number; hasError: boolean }> {
  let bytes = 0;
  let hasError = false;
  const responses: object[] = [];
  for (const t of topics) {
    const partitions: object[] = [];
    for (const req of t.partitions as PartitionRequest[]) {
      const out = {
        partitionIndex: req.partition,
        errorCode: ErrorCode.NONE as number,
        highWatermark: -1,
        lastStableOffset: -1,
        logStartOffset: -1,
        abortedTransactions: readCommitted ? [] : null,
        preferredReadReplica: -1,
        records: EMPTY as Buffer,
      };
      partitions.push(out);
      const p = servingPartition(broker, t.topic, req.partition);
      if (typeof p === 'number') {
        out.errorCode = p;
        hasError = true;
        continue;
      }
      out.highWatermark = p.highWatermark;
      out.lastStableOffset = p.lastStableOffset;
      out.logStartOffset = p.logStartOffset;
      if (req.currentLeaderEpoch >= 0 && req.currentLeaderEpoch !== p.leaderEpoch) {
        out.errorCode = req.currentLeaderEpoch > p.leaderEpoch ? ErrorCode.UNKNOWN_LEADER_EPOCH : ErrorCode.FENCED_LEADER_EPOCH;
        hasError = true;
        continue;
      }
      const upper = readCommitted ? p.lastStableOffset : p.highWatermark;
      if (req.fetchOffset < p.logStartOffset || req.fetchOffset > p.log.logEndOffset) {
        out.errorCode = ErrorCode.OFFSET_OUT_OF_RANGE;
        hasError = true;
        continue;
      }
      if (req.fetchOffset >= upper) continue;
      const budget = Math.min(req.partitionMaxBytes, maxBytes - bytes);
      // Kafka's rule: the first partition with data returns at least one whole batch, so a batch
      // larger than the limits never stalls a consumer; later ones respect the limits strictly.
      const minOneMessage = bytes === 0;
      if (budget <= 0 && !minOneMessage) continue;
      try {
        const read = await p.log.read(req.fetchOffset, { maxBytes: Math.max(0, budget), maxOffset: upper, minOneMessage, allocate: poolAllocate(broker) });
        out.records = read.records;
        bytes += read.records.length;
      } catch (err) {
        if (err instanceof OffsetOutOfRangeError) {
          out.errorCode = ErrorCode.OFFSET_OUT_OF_RANGE;
        } else {
          broker.logger.error({ topic: t.topic, partition: req.partition, err: messageOf(err) }, 'fetch read failed');
          out.errorCode = ErrorCode.KAFKA_STORAGE_ERROR;
        }
        hasError = true;
      }
    }
    responses.push({ topic: t.topic, topicId: t.topicId, partitions });
  }
  return { responses, bytes, hasError };
}
