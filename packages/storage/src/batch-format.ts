/**
 * Record batch v2 (magic 2) header, as far as storage needs it. A private copy so storage does not block on
 * `@tributary/protocol`; unify once that lands.
 *
 * Layout (big-endian, 61-byte header):
 *   baseOffset int64 @0, batchLength int32 @8 (bytes after this field), partitionLeaderEpoch int32 @12,
 *   magic int8 @16, crc uint32 @17 (CRC-32C of bytes @21..end), attributes int16 @21, lastOffsetDelta int32 @23,
 *   baseTimestamp int64 @27, maxTimestamp int64 @35, producerId int64 @43, producerEpoch int16 @51,
 *   baseSequence int32 @53, recordsCount int32 @57, then the records.
 *
 * Pure functions over Buffers; no I/O, no shared state.
 */
import { crc32c } from '@node-rs/crc32';
import { assert } from '@tributary/common';

export const BATCH_HEADER_BYTES = 61;
/** Bytes before the batchLength-counted part: baseOffset + batchLength. */
export const BATCH_LOG_OVERHEAD = 12;
export const BATCH_MAGIC = 2;
/** batchLength must at least cover the header after the length field. */
export const MIN_BATCH_LENGTH = BATCH_HEADER_BYTES - BATCH_LOG_OVERHEAD;
/** Sanity bound for a single batch on disk; anything bigger is treated as corruption. */
export const MAX_BATCH_BYTES = 1 << 30;

export const OFF_BASE_OFFSET = 0;
export const OFF_BATCH_LENGTH = 8;
export const OFF_LEADER_EPOCH = 12;
export const OFF_MAGIC = 16;
export const OFF_CRC = 17;
export const OFF_ATTRIBUTES = 21;
export const OFF_LAST_OFFSET_DELTA = 23;
export const OFF_BASE_TIMESTAMP = 27;
export const OFF_MAX_TIMESTAMP = 35;
export const OFF_PRODUCER_ID = 43;
export const OFF_PRODUCER_EPOCH = 51;
export const OFF_BASE_SEQUENCE = 53;
export const OFF_RECORDS_COUNT = 57;

/** producerId / producerEpoch / baseSequence of a batch written without idempotence. */
export const NO_PRODUCER_ID = -1;
export const NO_PRODUCER_EPOCH = -1;
export const NO_SEQUENCE = -1;
/** Partition leader epoch of a batch nobody stamped (RecordBatch.NO_PARTITION_LEADER_EPOCH). */
export const NO_PARTITION_LEADER_EPOCH = -1;

const TWO_32 = 0x1_0000_0000;

export interface BatchHeader {
  baseOffset: number;
  /** Whole batch size in bytes, including baseOffset and batchLength fields. */
  sizeInBytes: number;
  partitionLeaderEpoch: number;
  magic: number;
  crc: number;
  attributes: number;
  lastOffsetDelta: number;
  baseTimestamp: number;
  maxTimestamp: number;
  /** NaN if the field is not a safe integer (garbage); -1 without idempotence. */
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  recordsCount: number;
}

/** Reads an int64 as a number without a BigInt allocation; asserts it is safe (or a small negative sentinel). */
export function readInt64(buf: Buffer, pos: number): number {
  const hi = buf.readInt32BE(pos);
  const lo = buf.readUInt32BE(pos + 4);
  const value = hi * TWO_32 + lo;
  assert(Number.isSafeInteger(value), () => `int64 at ${pos} is not a safe integer`);
  return value;
}

export function writeInt64(buf: Buffer, value: number, pos: number): void {
  assert(Number.isSafeInteger(value), () => `int64 value ${value} is not a safe integer`);
  const hi = Math.floor(value / TWO_32);
  const lo = value - hi * TWO_32;
  buf.writeInt32BE(hi, pos);
  buf.writeUInt32BE(lo, pos + 4);
}

/** Reads an int64 that may be garbage (recovery): returns NaN instead of throwing when it is not safe. */
function readInt64Lenient(buf: Buffer, pos: number): number {
  const value = buf.readInt32BE(pos) * TWO_32 + buf.readUInt32BE(pos + 4);
  return Number.isSafeInteger(value) ? value : Number.NaN;
}

/** Size of the batch starting at `pos` from its length field (needs 12 bytes). -1 if the length is insane. */
export function batchSizeAt(buf: Buffer, pos: number): number {
  const batchLength = buf.readInt32BE(pos + OFF_BATCH_LENGTH);
  if (batchLength < MIN_BATCH_LENGTH || batchLength > MAX_BATCH_BYTES) return -1;
  return batchLength + BATCH_LOG_OVERHEAD;
}

/** Reads the header at `pos`; the caller guarantees 61 bytes are present. Lenient: values may be garbage. */
export function readBatchHeader(buf: Buffer, pos: number): BatchHeader {
  return {
    baseOffset: readInt64Lenient(buf, pos + OFF_BASE_OFFSET),
    sizeInBytes: buf.readInt32BE(pos + OFF_BATCH_LENGTH) + BATCH_LOG_OVERHEAD,
    partitionLeaderEpoch: buf.readInt32BE(pos + OFF_LEADER_EPOCH),
    magic: buf.readInt8(pos + OFF_MAGIC),
    crc: buf.readUInt32BE(pos + OFF_CRC),
    attributes: buf.readInt16BE(pos + OFF_ATTRIBUTES),
    lastOffsetDelta: buf.readInt32BE(pos + OFF_LAST_OFFSET_DELTA),
    baseTimestamp: readInt64Lenient(buf, pos + OFF_BASE_TIMESTAMP),
    maxTimestamp: readInt64Lenient(buf, pos + OFF_MAX_TIMESTAMP),
    producerId: readInt64Lenient(buf, pos + OFF_PRODUCER_ID),
    producerEpoch: buf.readInt16BE(pos + OFF_PRODUCER_EPOCH),
    baseSequence: buf.readInt32BE(pos + OFF_BASE_SEQUENCE),
    recordsCount: buf.readInt32BE(pos + OFF_RECORDS_COUNT),
  };
}

export type BatchCheck =
  | { ok: true; header: BatchHeader }
  | { ok: false; reason: 'short' | 'length' | 'magic' | 'crc' | 'header' };

/**
 * Full validation of the batch at `pos` within buf[pos, end): length sane and complete, magic 2, header fields sane,
 * CRC-32C matches. Never throws on garbage input.
 */
export function checkBatch(buf: Buffer, pos: number, end: number): BatchCheck {
  if (end - pos < BATCH_HEADER_BYTES) return { ok: false, reason: 'short' };
  const size = batchSizeAt(buf, pos);
  if (size < 0) return { ok: false, reason: 'length' };
  if (pos + size > end) return { ok: false, reason: 'short' };
  const header = readBatchHeader(buf, pos);
  if (header.magic !== BATCH_MAGIC) return { ok: false, reason: 'magic' };
  if (
    !Number.isSafeInteger(header.baseOffset) ||
    header.baseOffset < 0 ||
    header.lastOffsetDelta < 0 ||
    !Number.isSafeInteger(header.maxTimestamp) ||
    !Number.isSafeInteger(header.baseTimestamp)
  ) {
    return { ok: false, reason: 'header' };
  }
  const computed = crc32c(buf.subarray(pos + OFF_ATTRIBUTES, pos + size));
  if (computed !== header.crc) return { ok: false, reason: 'crc' };
  return { ok: true, header };
}

/** Computes and stores the CRC of the batch at `pos` (for tests, benchmarks and tools building batches). */
export function writeBatchCrc(buf: Buffer, pos: number): void {
  const size = batchSizeAt(buf, pos);
  assert(size > 0 && pos + size <= buf.length, 'writeBatchCrc: bad batch length');
  buf.writeUInt32BE(crc32c(buf.subarray(pos + OFF_ATTRIBUTES, pos + size)), pos + OFF_CRC);
}

export function lastOffsetOf(header: BatchHeader): number {
  return header.baseOffset + header.lastOffsetDelta;
}

/** attributes bits 0-2: compression codec (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd). */
export function compressionOf(attributes: number): number {
  return attributes & 0x7;
}

/** attributes bit 3: timestamp type (1 = LogAppendTime: every record carries maxTimestamp). */
export function isLogAppendTime(attributes: number): boolean {
  return (attributes & 0x8) !== 0;
}

/** attributes bit 4: part of a transaction. */
export function isTransactionalBatch(attributes: number): boolean {
  return (attributes & 0x10) !== 0;
}

/** attributes bit 5: a control batch (transaction marker), which carries no producer sequence. */
export function isControlBatch(attributes: number): boolean {
  return (attributes & 0x20) !== 0;
}

/**
 * Sequence of a batch's last record: sequences wrap from 2^31-1 to 0 (Kafka's DefaultRecordBatch.incrementSequence).
 * `NO_SEQUENCE` stays as it is.
 */
export function lastSequenceOf(baseSequence: number, lastOffsetDelta: number): number {
  if (baseSequence === NO_SEQUENCE) return NO_SEQUENCE;
  const sum = baseSequence + lastOffsetDelta;
  return sum > 0x7fffffff ? sum - 0x80000000 : sum;
}

/** zigzag varint (records use signed varints); returns [value, nextPos] or null if malformed/truncated. */
function readVarint(buf: Buffer, pos: number, end: number): [number, number] | null {
  let result = 0;
  let shift = 0;
  for (let i = 0; i < 5; i++) {
    if (pos >= end) return null;
    const byte = buf[pos++]!;
    result |= (byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return [(result >>> 1) ^ -(result & 1), pos];
    shift += 7;
  }
  return null;
}

/** zigzag varlong, as a number (timestamp deltas); null if malformed. */
function readVarlong(buf: Buffer, pos: number, end: number): [number, number] | null {
  let result = 0n;
  let shift = 0n;
  for (let i = 0; i < 10; i++) {
    if (pos >= end) return null;
    const byte = buf[pos++]!;
    result |= BigInt(byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) {
      const value = (result >> 1n) ^ -(result & 1n);
      return [Number(value), pos];
    }
    shift += 7n;
  }
  return null;
}

/**
 * Walks uncompressed records (the bytes after the 61-byte header) and returns the offset delta and timestamp of the
 * first record whose timestamp >= target and offset delta >= minOffsetDelta, or null if none / malformed. Bounded by `recordsCount`.
 */
export function findRecordAtOrAfterTimestamp(
  records: Buffer,
  baseTimestamp: number,
  recordsCount: number,
  targetMs: number,
  minOffsetDelta = 0,
): { offsetDelta: number; timestamp: number } | null {
  let pos = 0;
  const end = records.length;
  for (let i = 0; i < recordsCount; i++) {
    const length = readVarint(records, pos, end);
    if (length === null || length[0] < 0) return null;
    const recordEnd = length[1] + length[0];
    if (recordEnd > end) return null;
    let p = length[1] + 1; // attributes int8
    const tsDelta = readVarlong(records, p, recordEnd);
    if (tsDelta === null) return null;
    p = tsDelta[1];
    const offsetDelta = readVarint(records, p, recordEnd);
    if (offsetDelta === null) return null;
    const timestamp = baseTimestamp + tsDelta[0];
    if (timestamp >= targetMs && offsetDelta[0] >= minOffsetDelta) return { offsetDelta: offsetDelta[0], timestamp };
    pos = recordEnd;
  }
  return null;
}
