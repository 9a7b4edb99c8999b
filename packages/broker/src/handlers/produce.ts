import { ErrorCode, decodeRecords, encodeRecordBatch, iterateBatches, verifyBatchCrc, setLogAppendTime, validateBatchRecords, ProtocolError } from '@tributary/protocol';
import { NO_RESPONSE, type Broker, type HandlerResult, type RequestContext } from '../broker.ts';
import type { Partition } from '../partition.ts';
import { autoCreateTopic, isInternal, messageOf, servingPartition } from './common.ts';

/** Compression codec ids in the batch attributes (low 3 bits). */
const ZSTD = 4;
const MAX_CODEC = 4;
const TRANSACTIONAL_FLAG = 0x10;
const CONTROL_FLAG = 0x20;
/** Longest acks=-1 wait, whatever the request's timeout says. */
const MAX_ACKS_WAIT_MS = 120_000;

interface PartitionResult {
  index: number;
  errorCode: number;
  baseOffset: number;
  logAppendTimeMs: number;
  logStartOffset: number;
  recordErrors: { batchIndex: number; batchIndexErrorMessage: string | null }[];
  errorMessage: string | null;
}

class RejectedBatch extends Error {
  readonly errorCode: number;
  constructor(errorCode: number, message: string) {
    super(message);
    this.errorCode = errorCode;
  }
}

export async function handleProduce(broker: Broker, ctx: RequestContext, body: any): Promise<HandlerResult> {
  const version = ctx.header.apiVersion;
  const acks: number = body.acks;
  // Kafka's request timeout bounds how long acks=-1 waits for the ISR.
  const timeoutMs = Math.max(1, Math.min(typeof body.timeoutMs === 'number' && body.timeoutMs > 0 ? body.timeoutMs : 30_000, MAX_ACKS_WAIT_MS));
  const topicResults = await Promise.all(
    (body.topicData as any[]).map(async (topic) => {
      const partitions = await Promise.all(
        (topic.partitionData as any[]).map((pd) => produceToPartition(broker, version, acks, timeoutMs, topic.name as string, pd.index as number, pd.records as Buffer | null)),
      );
      return { name: topic.name, partitionResponses: partitions };
    }),
  );
  if (acks === 0) return NO_RESPONSE;
  return { responses: topicResults, throttleTimeMs: 0 };
}

async function produceToPartition(broker: Broker, version: number, acks: number, timeoutMs: number, topic: string, index: number, records: Buffer | null): Promise<PartitionResult> {
  const result: PartitionResult = { index, errorCode: ErrorCode.NONE, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1, recordErrors: [], errorMessage: null };
  const fail = (errorCode: number, message: string | null): PartitionResult => {
    result.errorCode = errorCode;
    result.errorMessage = message;
    return result;
  };
  if (version < 3) return fail(ErrorCode.UNSUPPORTED_VERSION, 'Produce v0-2 carry message format v0/v1, which this broker does not store; use Produce v3 or later');
  if (acks !== 0 && acks !== 1 && acks !== -1) return fail(ErrorCode.INVALID_REQUIRED_ACKS, `acks must be 0, 1 or -1, got ${acks}`);
  let partition = servingPartition(broker, topic, index);
  if (typeof partition === 'number' && broker.metadata.image.topic(topic) === undefined && broker.config.bool('auto.create.topics.enable') && !isInternal(topic)) {
    await autoCreateTopic(broker, topic);
    partition = servingPartition(broker, topic, index);
  }
  if (typeof partition === 'number') {
    return fail(partition, partition === ErrorCode.NOT_LEADER_OR_FOLLOWER ? `this broker does not lead ${topic}-${index}; refresh metadata` : `topic ${topic} partition ${index} does not exist`);
  }
  if (isInternal(topic)) return fail(ErrorCode.INVALID_TOPIC_EXCEPTION, `${topic} is an internal topic; clients cannot produce to it`);
  result.logStartOffset = partition.logStartOffset;
  if (records === null || records.length === 0) return fail(ErrorCode.CORRUPT_MESSAGE, 'the partition data holds no record batch');
  const leader = partition.leaderState!;
  if (leader.checkProduce(acks) !== ErrorCode.NONE) {
    return fail(ErrorCode.NOT_ENOUGH_REPLICAS, `the in-sync replica set of ${topic}-${index} has ${leader.isr.length} member(s) but min.insync.replicas is ${leader.minInsyncReplicas}`);
  }
  const nowMs = broker.clock.nowMs();
  let logAppendTime = false;
  let producer: ReturnType<typeof idempotentProducer> = null;
  try {
    logAppendTime = validateBatches(partition, version, records, nowMs);
    records = recompressIfConfigured(partition, records);
    producer = idempotentProducer(records);
  } catch (err) {
    if (err instanceof RejectedBatch) return fail(err.errorCode, err.message);
    if (err instanceof ProtocolError) return fail(ErrorCode.CORRUPT_MESSAGE, err.message);
    throw err;
  }
  let endOffset: number;
  try {
    if (producer !== null) {
      const outcome = await partition.log.appendIdempotent(records, producer, { leaderEpoch: partition.leaderEpoch, nowMs });
      if (outcome.kind === 'error') return fail(producerErrorCode(outcome.error), `${topic}-${index}: ${outcome.message}`);
      if (outcome.kind === 'duplicate') {
        // Already in the log (a retry): acknowledge with the original offsets, append nothing (Kafka does the same).
        result.baseOffset = outcome.firstOffset;
        result.logAppendTimeMs = logAppendTime ? outcome.timestamp : -1;
        endOffset = outcome.lastOffset + 1;
      } else {
        result.baseOffset = outcome.result.firstOffset;
        result.logAppendTimeMs = logAppendTime ? nowMs : -1;
        endOffset = outcome.result.lastOffset + 1;
      }
    } else {
      const appended = await partition.log.append(records, { leaderEpoch: partition.leaderEpoch, nowMs });
      result.baseOffset = appended.firstOffset;
      result.logAppendTimeMs = logAppendTime ? nowMs : -1;
      endOffset = appended.lastOffset + 1;
    }
    result.logStartOffset = partition.logStartOffset;
  } catch (err) {
    broker.logger.error({ topic, partition: index, err }, 'append failed');
    return fail(ErrorCode.KAFKA_STORAGE_ERROR, `append to ${topic}-${index} failed: ${messageOf(err)}`);
  }
  partition.onLeaderAppend();
  // Followers long-polling this partition fetch the new records now.
  broker.replicas.waiters.notify(partition.key);
  if (acks === -1) {
    const code = await partition.waitForAcksAll(endOffset, timeoutMs, (ms, fn) => broker.timer.after(ms, fn));
    if (code !== ErrorCode.NONE) {
      const why = code === ErrorCode.REQUEST_TIMED_OUT ? `the in-sync replicas did not all persist it within ${timeoutMs} ms` : code === ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND ? 'the in-sync replica set shrank below min.insync.replicas before it was replicated' : 'leadership moved before it was replicated';
      return { ...fail(code, `${topic}-${index}: appended at offset ${result.baseOffset} but not acknowledged: ${why}; retry (an idempotent producer's retry is not duplicated)`), baseOffset: -1 };
    }
  }
  return result;
}

/**
 * The answer to a refused idempotent batch. A sequence gap (an earlier batch of the producer is missing: it was
 * refused before it was appended, say by a broker not yet serving as the new leader, and its retry comes after this
 * one) gets NOT_ENOUGH_REPLICAS, a retriable "not persisted" error: the client retries in order once the earlier batch
 * is in. Kafka answers OUT_OF_ORDER_SEQUENCE_NUMBER, on which librdkafka bumps the producer epoch and re-sends every
 * possibly persisted batch of every partition under the new epoch, storing those a second time.
 */
function producerErrorCode(error: 'OUT_OF_ORDER_SEQUENCE_NUMBER' | 'SEQUENCE_GAP' | 'INVALID_PRODUCER_EPOCH' | 'TOO_MANY_PRODUCERS'): number {
  switch (error) {
    case 'INVALID_PRODUCER_EPOCH':
      return ErrorCode.INVALID_PRODUCER_EPOCH;
    case 'OUT_OF_ORDER_SEQUENCE_NUMBER':
      return ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER;
    case 'SEQUENCE_GAP':
      return ErrorCode.NOT_ENOUGH_REPLICAS;
    case 'TOO_MANY_PRODUCERS':
      return ErrorCode.POLICY_VIOLATION;
  }
}

/**
 * The producer of an idempotent request (a single batch with a producer id), or null. Kafka accepts one batch per
 * partition from an idempotent producer, so its sequence check covers the whole request.
 */
function idempotentProducer(records: Buffer): { producerId: number; producerEpoch: number; firstSeq: number; lastSeq: number } | null {
  let producer: { producerId: number; producerEpoch: number; firstSeq: number; lastSeq: number } | null = null;
  let batches = 0;
  for (const b of iterateBatches(records)) {
    batches++;
    const h = b.header;
    if (h.producerId < 0) continue;
    if (batches > 1 || producer !== null) throw new RejectedBatch(ErrorCode.INVALID_RECORD, 'an idempotent producer sends one record batch per partition per request');
    if (h.baseSequence < 0) throw new RejectedBatch(ErrorCode.INVALID_RECORD, `a batch with producer id ${h.producerId} has no base sequence`);
    // Sequences wrap at 2^31 - 1 (Kafka's DefaultRecordBatch.incrementSequence).
    const lastSeq = h.baseSequence > 0x7fffffff - h.lastOffsetDelta ? h.lastOffsetDelta - (0x7fffffff - h.baseSequence) - 1 : h.baseSequence + h.lastOffsetDelta;
    producer = { producerId: h.producerId, producerEpoch: h.producerEpoch, firstSeq: h.baseSequence, lastSeq };
  }
  if (producer !== null && batches > 1) throw new RejectedBatch(ErrorCode.INVALID_RECORD, 'an idempotent producer sends one record batch per partition per request');
  return producer;
}


/**
 * Checks every batch before anything is written, so a request is appended whole or not at all.
 * Returns whether timestamps were rewritten to log-append time.
 */
function validateBatches(partition: Partition, version: number, records: Buffer, nowMs: number): boolean {
  const cfg = partition.config;
  const logAppendTime = cfg.messageTimestampType === 'LogAppendTime';
  let count = 0;
  for (const batch of iterateBatches(records)) {
    count++;
    const h = batch.header;
    if (h.magic !== 2) throw new RejectedBatch(ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT, `record batch magic ${h.magic} is not supported; only magic 2 (Kafka 0.11+) is`);
    if (batch.sizeInBytes > cfg.maxMessageBytes) {
      throw new RejectedBatch(ErrorCode.MESSAGE_TOO_LARGE, `record batch of ${batch.sizeInBytes} bytes exceeds max.message.bytes ${cfg.maxMessageBytes} of ${partition.topic}`);
    }
    if (!verifyBatchCrc(records, batch.position, batch.sizeInBytes)) throw new RejectedBatch(ErrorCode.CORRUPT_MESSAGE, `record batch ${count} fails its CRC-32C check`);
    const codec = h.attributes & 0x07;
    if (codec > MAX_CODEC) throw new RejectedBatch(ErrorCode.CORRUPT_MESSAGE, `record batch ${count} uses unknown compression codec ${codec}`);
    if (codec === ZSTD && version < 7) throw new RejectedBatch(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, 'zstd needs Produce v7 or later');
    if (h.attributes & (TRANSACTIONAL_FLAG | CONTROL_FLAG)) {
      throw new RejectedBatch(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, 'transactional and control batches are not supported yet');
    }
    if (h.recordsCount <= 0 || h.lastOffsetDelta !== h.recordsCount - 1) {
      throw new RejectedBatch(ErrorCode.CORRUPT_MESSAGE, `record batch ${count} has ${h.recordsCount} records but last offset delta ${h.lastOffsetDelta}`);
    }
    validateRecords(partition, records.subarray(batch.position, batch.position + batch.sizeInBytes), count);
    if (!logAppendTime && h.maxTimestamp >= 0) {
      if (h.maxTimestamp - nowMs > cfg.messageTimestampAfterMaxMs || nowMs - h.baseTimestamp > cfg.messageTimestampBeforeMaxMs) {
        throw new RejectedBatch(ErrorCode.INVALID_TIMESTAMP, `record batch ${count} has a timestamp outside message.timestamp.before/after.max.ms of now`);
      }
    }
  }
  if (count === 0) throw new RejectedBatch(ErrorCode.CORRUPT_MESSAGE, 'no record batch in the partition data');
  if (logAppendTime) for (const batch of iterateBatches(records)) setLogAppendTime(records, batch.position, batch.sizeInBytes, nowMs);
  return logAppendTime;
}

/** Bound on a batch's decompressed size while validating: generous, but a zip bomb cannot exhaust memory. */
const MAX_DECOMPRESSED_BYTES = 256 * 1024 * 1024;
const CODEC_BY_CONFIG: Record<string, number> = { uncompressed: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 };

/**
 * Walks every record, as Kafka's log validator does, so a batch with a valid CRC but malformed
 * contents is refused here rather than breaking every consumer later.
 */
function validateRecords(partition: Partition, batch: Buffer, count: number): void {
  try {
    validateBatchRecords(batch, { requireKeys: partition.config.cleanupPolicy.includes('compact'), maxDecompressedBytes: MAX_DECOMPRESSED_BYTES });
  } catch (err) {
    if (err instanceof ProtocolError) throw new RejectedBatch(err.errorCode, `record batch ${count}: ${err.message}`);
    throw err;
  }
}

/** Applies the topic's compression.type when it names a codec: batches in another codec are rewritten. */
function recompressIfConfigured(partition: Partition, records: Buffer): Buffer {
  const target = CODEC_BY_CONFIG[partition.config.compressionType];
  if (target === undefined) return records;
  let needed = false;
  for (const b of iterateBatches(records)) if (b.header.compression !== target) needed = true;
  if (!needed) return records;
  const out: Buffer[] = [];
  for (const b of iterateBatches(records)) {
    const batch = records.subarray(b.position, b.position + b.sizeInBytes);
    const h = b.header;
    if (h.compression === target) {
      out.push(batch);
      continue;
    }
    const { records: decoded } = decodeRecords(batch, { maxDecompressedBytes: MAX_DECOMPRESSED_BYTES });
    out.push(
      encodeRecordBatch({
        baseOffset: h.baseOffset,
        records: decoded.map((r) => ({ key: r.key, value: r.value, headers: r.headers, timestamp: r.timestamp, offsetDelta: r.offset - h.baseOffset })),
        compression: target,
        producerId: h.producerId,
        producerEpoch: h.producerEpoch,
        baseSequence: h.baseSequence,
        partitionLeaderEpoch: h.partitionLeaderEpoch,
        timestampType: h.timestampType,
        baseTimestamp: h.baseTimestamp,
      }),
    );
  }
  return Buffer.concat(out);
}
