// Record batch v2 (magic 2): header layout, iteration, CRC checks, in-place patches, record decoding
// and encoding. Older message sets (magic 0/1) are detected and refused.
//
// Layout (big-endian): baseOffset int64 | batchLength int32 | partitionLeaderEpoch int32 | magic int8 |
// crc uint32 | attributes int16 | lastOffsetDelta int32 | baseTimestamp int64 | maxTimestamp int64 |
// producerId int64 | producerEpoch int16 | baseSequence int32 | recordsCount int32 | records...
// The CRC-32C covers attributes to the end, so baseOffset, batchLength and partitionLeaderEpoch can be
// rewritten without recomputing it.
import { compress, compressionType, decompress, type CompressionName } from './compression.ts';
import { crc32c } from './crc32c.ts';
import { ErrorCode, ProtocolError } from './errors.ts';
import { Reader } from './reader.ts';
import { Writer } from './writer.ts';

export const BASE_OFFSET_OFFSET = 0;
export const BATCH_LENGTH_OFFSET = 8;
export const PARTITION_LEADER_EPOCH_OFFSET = 12;
export const MAGIC_OFFSET = 16;
export const CRC_OFFSET = 17;
export const ATTRIBUTES_OFFSET = 21;
export const LAST_OFFSET_DELTA_OFFSET = 23;
export const BASE_TIMESTAMP_OFFSET = 27;
export const MAX_TIMESTAMP_OFFSET = 35;
export const PRODUCER_ID_OFFSET = 43;
export const PRODUCER_EPOCH_OFFSET = 51;
export const BASE_SEQUENCE_OFFSET = 53;
export const RECORDS_COUNT_OFFSET = 57;
export const RECORD_BATCH_HEADER_BYTES = 61;
/** Bytes counted by batchLength start after baseOffset and batchLength. */
export const LOG_OVERHEAD_BYTES = 12;
export const CURRENT_MAGIC = 2;

export const COMPRESSION_CODEC_MASK = 0x07;
export const TIMESTAMP_TYPE_MASK = 0x08;
export const TRANSACTIONAL_FLAG_MASK = 0x10;
export const CONTROL_FLAG_MASK = 0x20;
export const DELETE_HORIZON_FLAG_MASK = 0x40;

export const TimestampType = { CreateTime: 0, LogAppendTime: 1 } as const;
export const ControlRecordType = { Abort: 0, Commit: 1 } as const;

/** Default bound on one batch's decompressed size (a compression bomb cannot exceed it). */
export const DEFAULT_MAX_DECOMPRESSED_BYTES = 64 * 1024 * 1024;

export interface RecordBatchHeader {
  baseOffset: number;
  batchLength: number;
  partitionLeaderEpoch: number;
  magic: number;
  crc: number;
  attributes: number;
  lastOffsetDelta: number;
  baseTimestamp: number;
  maxTimestamp: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  recordsCount: number;
  compression: number;
  timestampType: number;
  isTransactional: boolean;
  isControl: boolean;
  /** Offset of the last record: baseOffset + lastOffsetDelta. */
  lastOffset: number;
}

export interface BatchLocation {
  position: number;
  sizeInBytes: number;
  header: RecordBatchHeader;
}

export interface RecordHeader {
  key: string;
  value: Buffer | null;
}

export interface DecodedRecord {
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
}

function corrupt(message: string): ProtocolError {
  return new ProtocolError(ErrorCode.CORRUPT_MESSAGE, message);
}

/** Reads a batch header at `offset`. Throws CORRUPT_MESSAGE when truncated, UNSUPPORTED_FOR_MESSAGE_FORMAT for magic 0/1. */
export function readBatchHeader(buf: Buffer, offset: number): RecordBatchHeader {
  if (offset < 0 || buf.length - offset < MAGIC_OFFSET + 1) throw corrupt(`truncated record batch at ${offset}`);
  const magic = buf.readInt8(offset + MAGIC_OFFSET);
  if (magic !== CURRENT_MAGIC) {
    if (magic === 0 || magic === 1) {
      throw new ProtocolError(ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT, `message format v${magic} is not supported; use record batch v2`);
    }
    throw corrupt(`unknown magic ${magic} at ${offset}`);
  }
  if (buf.length - offset < RECORD_BATCH_HEADER_BYTES) throw corrupt(`truncated record batch header at ${offset}`);
  const r = new Reader(buf, offset, buf.length, ErrorCode.CORRUPT_MESSAGE);
  const baseOffset = r.int64();
  const batchLength = r.int32();
  const partitionLeaderEpoch = r.int32();
  r.int8();
  const crc = r.uint32();
  const attributes = r.int16();
  const lastOffsetDelta = r.int32();
  const baseTimestamp = r.int64();
  const maxTimestamp = r.int64();
  const producerId = r.int64();
  const producerEpoch = r.int16();
  const baseSequence = r.int32();
  const recordsCount = r.int32();
  return {
    baseOffset, batchLength, partitionLeaderEpoch, magic, crc, attributes, lastOffsetDelta, baseTimestamp,
    maxTimestamp, producerId, producerEpoch, baseSequence, recordsCount,
    compression: attributes & COMPRESSION_CODEC_MASK,
    timestampType: (attributes & TIMESTAMP_TYPE_MASK) !== 0 ? TimestampType.LogAppendTime : TimestampType.CreateTime,
    isTransactional: (attributes & TRANSACTIONAL_FLAG_MASK) !== 0,
    isControl: (attributes & CONTROL_FLAG_MASK) !== 0,
    lastOffset: baseOffset + lastOffsetDelta,
  };
}

/**
 * Walks the batches of a records field. Every batch must be complete and of magic 2: a bad length
 * or magic throws CORRUPT_MESSAGE (UNSUPPORTED_FOR_MESSAGE_FORMAT for magic 0/1).
 */
export function* iterateBatches(buf: Buffer): Generator<BatchLocation> {
  let position = 0;
  while (position < buf.length) {
    if (buf.length - position < LOG_OVERHEAD_BYTES) throw corrupt(`truncated record batch at ${position}`);
    const batchLength = buf.readInt32BE(position + BATCH_LENGTH_OFFSET);
    const sizeInBytes = batchLength + LOG_OVERHEAD_BYTES;
    const header = readBatchHeader(buf, position);
    if (sizeInBytes < RECORD_BATCH_HEADER_BYTES) throw corrupt(`record batch length ${batchLength} is too small`);
    if (sizeInBytes > buf.length - position) throw corrupt(`record batch of ${sizeInBytes} bytes overruns the ${buf.length - position} remaining`);
    yield { position, sizeInBytes, header };
    position += sizeInBytes;
  }
}

export function computeBatchCrc(buf: Buffer, position: number, size: number): number {
  return crc32c(buf.subarray(position + ATTRIBUTES_OFFSET, position + size));
}

/** Whether the stored CRC-32C matches the bytes from attributes to the end of the batch. */
export function verifyBatchCrc(buf: Buffer, position: number, size: number): boolean {
  if (size < RECORD_BATCH_HEADER_BYTES || position < 0 || position + size > buf.length) return false;
  return computeBatchCrc(buf, position, size) === buf.readUInt32BE(position + CRC_OFFSET);
}

/** Rewrites baseOffset in place (outside the CRC). */
export function setBatchBaseOffset(buf: Buffer, position: number, baseOffset: number): void {
  if (!Number.isSafeInteger(baseOffset)) throw new RangeError(`baseOffset ${baseOffset} is not a safe integer`);
  buf.writeBigInt64BE(BigInt(baseOffset), position + BASE_OFFSET_OFFSET);
}

/** Rewrites partitionLeaderEpoch in place (outside the CRC). */
export function setPartitionLeaderEpoch(buf: Buffer, position: number, epoch: number): void {
  buf.writeInt32BE(epoch, position + PARTITION_LEADER_EPOCH_OFFSET);
}

/** Marks the batch LogAppendTime with maxTimestamp = `timestampMs`, and recomputes the CRC. */
export function setLogAppendTime(buf: Buffer, position: number, size: number, timestampMs: number): void {
  const attributes = buf.readInt16BE(position + ATTRIBUTES_OFFSET);
  buf.writeInt16BE(attributes | TIMESTAMP_TYPE_MASK, position + ATTRIBUTES_OFFSET);
  buf.writeBigInt64BE(BigInt(timestampMs), position + MAX_TIMESTAMP_OFFSET);
  buf.writeUInt32BE(computeBatchCrc(buf, position, size), position + CRC_OFFSET);
}

export interface DecodeRecordsOptions {
  /** Bound on the decompressed size of the batch's records. */
  maxDecompressedBytes?: number;
}

/**
 * Decodes the records of one batch (`batch` holds exactly one batch). Keys and values are views into
 * the batch (or into the decompressed buffer). The CRC is not checked here: call verifyBatchCrc.
 */
export function decodeRecords(batch: Buffer, options: DecodeRecordsOptions = {}): { header: RecordBatchHeader; records: DecodedRecord[] } {
  const header = readBatchHeader(batch, 0);
  const size = header.batchLength + LOG_OVERHEAD_BYTES;
  if (size < RECORD_BATCH_HEADER_BYTES || size > batch.length) throw corrupt(`record batch length ${header.batchLength} does not match the buffer`);
  if (header.recordsCount < 0) throw corrupt(`negative record count ${header.recordsCount}`);
  let body = batch.subarray(RECORD_BATCH_HEADER_BYTES, size);
  if (header.compression !== 0) {
    body = decompress(header.compression, body, options.maxDecompressedBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES);
  }
  const r = new Reader(body, 0, body.length, ErrorCode.CORRUPT_MESSAGE);
  if (header.recordsCount > body.length) throw corrupt(`${header.recordsCount} records cannot fit in ${body.length} bytes`);
  const logAppend = header.timestampType === TimestampType.LogAppendTime;
  const records: DecodedRecord[] = [];
  for (let i = 0; i < header.recordsCount; i++) {
    const length = r.varint();
    if (length < 0 || length > r.remaining()) throw corrupt(`bad record length ${length}`);
    const end = r.pos + length;
    const outerEnd = r.end;
    r.end = end;
    r.int8(); // record attributes: unused
    const timestampDelta = r.varlong();
    const offsetDelta = r.varint();
    const key = varBytes(r);
    const value = varBytes(r);
    const headerCount = r.varint();
    if (headerCount < 0 || headerCount > r.remaining()) throw corrupt(`bad header count ${headerCount}`);
    const headers: RecordHeader[] = [];
    for (let h = 0; h < headerCount; h++) {
      const keyLength = r.varint();
      if (keyLength < 0) throw corrupt('null record header key');
      const headerKey = r.utf8(keyLength);
      headers.push({ key: headerKey, value: varBytes(r) });
    }
    if (r.pos !== end) throw corrupt(`record ${i} has ${end - r.pos} unread bytes`);
    r.end = outerEnd;
    records.push({
      offset: header.baseOffset + offsetDelta,
      timestamp: logAppend ? header.maxTimestamp : header.baseTimestamp + timestampDelta,
      key,
      value,
      headers,
    });
  }
  if (r.pos !== r.end) throw corrupt(`${r.end - r.pos} bytes after the last record`);
  return { header, records };
}

function varBytes(r: Reader): Buffer | null {
  const n = r.varint();
  if (n < -1) throw corrupt(`bad length ${n}`);
  return n === -1 ? null : r.view(n);
}

/** The type of a control record from its key (version int16, type int16): ControlRecordType. */
export function controlRecordType(key: Buffer | null): number {
  if (key === null || key.length < 4) throw corrupt('control record key is too short');
  return key.readInt16BE(2);
}

export interface RecordInput {
  key?: Buffer | string | null;
  value?: Buffer | string | null;
  headers?: { key: string; value: Buffer | string | null }[];
  /** Defaults to the batch's first timestamp, else -1. */
  timestamp?: number;
  /** Defaults to the record's index in the batch. */
  offsetDelta?: number;
}

export interface EncodeRecordBatchOptions {
  baseOffset?: number;
  records: readonly RecordInput[];
  compression?: CompressionName | number;
  producerId?: number;
  producerEpoch?: number;
  baseSequence?: number;
  partitionLeaderEpoch?: number;
  isTransactional?: boolean;
  isControl?: boolean;
  timestampType?: number;
  /** Used for records without a timestamp. */
  baseTimestamp?: number;
}

function toBuffer(v: Buffer | string | null | undefined): Buffer | null {
  if (v === null || v === undefined) return null;
  return typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
}

/** Encodes one record batch v2 with a valid CRC. */
export function encodeRecordBatch(options: EncodeRecordBatchOptions): Buffer {
  const records = options.records;
  if (records.length === 0) throw new RangeError('a record batch needs at least one record');
  const compression = compressionType(options.compression ?? 0);
  let baseTimestamp = options.baseTimestamp ?? -1;
  const first = records[0]!.timestamp;
  if (first !== undefined) baseTimestamp = first;
  let maxTimestamp = -1;
  let lastOffsetDelta = 0;
  const w = new Writer();
  for (let i = 0; i < records.length; i++) {
    const rec = records[i]!;
    const timestamp = rec.timestamp ?? baseTimestamp;
    if (timestamp > maxTimestamp) maxTimestamp = timestamp;
    const offsetDelta = rec.offsetDelta ?? i;
    if (offsetDelta > lastOffsetDelta) lastOffsetDelta = offsetDelta;
    const recordBody = new Writer();
    recordBody.int8(0);
    recordBody.varlong(timestamp - baseTimestamp);
    recordBody.varint(offsetDelta);
    writeVarBytes(recordBody, toBuffer(rec.key));
    writeVarBytes(recordBody, toBuffer(rec.value));
    const headers = rec.headers ?? [];
    recordBody.varint(headers.length);
    for (const h of headers) {
      const k = Buffer.from(h.key, 'utf8');
      recordBody.varint(k.length);
      recordBody.raw(k);
      writeVarBytes(recordBody, toBuffer(h.value));
    }
    const encoded = recordBody.finishToBuffer();
    w.varint(encoded.length);
    w.raw(encoded);
  }
  const raw = w.finishToBuffer();
  const body = compression === 0 ? raw : compress(compression, raw);
  const size = RECORD_BATCH_HEADER_BYTES + body.length;
  const out = Buffer.allocUnsafe(size);
  let attributes = compression;
  if (options.timestampType === TimestampType.LogAppendTime) attributes |= TIMESTAMP_TYPE_MASK;
  if (options.isTransactional) attributes |= TRANSACTIONAL_FLAG_MASK;
  if (options.isControl) attributes |= CONTROL_FLAG_MASK;
  out.writeBigInt64BE(BigInt(options.baseOffset ?? 0), BASE_OFFSET_OFFSET);
  out.writeInt32BE(size - LOG_OVERHEAD_BYTES, BATCH_LENGTH_OFFSET);
  out.writeInt32BE(options.partitionLeaderEpoch ?? -1, PARTITION_LEADER_EPOCH_OFFSET);
  out.writeInt8(CURRENT_MAGIC, MAGIC_OFFSET);
  out.writeInt16BE(attributes, ATTRIBUTES_OFFSET);
  out.writeInt32BE(lastOffsetDelta, LAST_OFFSET_DELTA_OFFSET);
  out.writeBigInt64BE(BigInt(baseTimestamp), BASE_TIMESTAMP_OFFSET);
  out.writeBigInt64BE(BigInt(maxTimestamp), MAX_TIMESTAMP_OFFSET);
  out.writeBigInt64BE(BigInt(options.producerId ?? -1), PRODUCER_ID_OFFSET);
  out.writeInt16BE(options.producerEpoch ?? -1, PRODUCER_EPOCH_OFFSET);
  out.writeInt32BE(options.baseSequence ?? -1, BASE_SEQUENCE_OFFSET);
  out.writeInt32BE(records.length, RECORDS_COUNT_OFFSET);
  body.copy(out, RECORD_BATCH_HEADER_BYTES);
  out.writeUInt32BE(computeBatchCrc(out, 0, size), CRC_OFFSET);
  return out;
}

function writeVarBytes(w: Writer, v: Buffer | null): void {
  if (v === null) {
    w.varint(-1);
    return;
  }
  w.varint(v.length);
  w.raw(v);
}

/** Where the last zigzagAt call stopped: a module-level out-parameter keeps the hot loop allocation-free. */
let zigzagEnd = 0;

/** A zigzag varint (int32) at `pos`, below `limit`. */
function zigzagAt(buf: Buffer, pos: number, limit: number): number {
  if (pos >= limit) throw corrupt('truncated varint in a record');
  let b = buf[pos++]!;
  // One byte holds every value in -64..63: most deltas, counts and small lengths.
  if (b < 0x80) {
    zigzagEnd = pos;
    return (b >>> 1) ^ -(b & 1);
  }
  let result = b & 0x7f;
  for (let shift = 7; shift <= 28; shift += 7) {
    if (pos >= limit) throw corrupt('truncated varint in a record');
    b = buf[pos++]!;
    if (shift === 28 && b > 0x0f) throw corrupt('overlong varint in a record');
    result |= (b & 0x7f) << shift;
    if (b < 0x80) {
      zigzagEnd = pos;
      return (result >>> 1) ^ -(result & 1);
    }
  }
  throw corrupt('overlong varint in a record');
}

/** The position after a varlong at `pos`. */
function skipVarlong(buf: Buffer, pos: number, limit: number): number {
  for (let i = 0; i < 10; i++) {
    if (pos >= limit) throw corrupt('truncated varlong in a record');
    if (buf[pos++]! < 0x80) return pos;
  }
  throw corrupt('overlong varlong in a record');
}

export interface ValidateRecordsOptions {
  /** Compacted topics need a key on every record. */
  requireKeys: boolean;
  maxDecompressedBytes?: number;
}

/**
 * Walks every record of one batch without allocating per record (the produce hot path): lengths,
 * varints, offset deltas 0..n-1, header structure, and keys when required. Throws CORRUPT_MESSAGE
 * for malformed records and INVALID_RECORD for well-formed records the log must refuse.
 */
export function validateBatchRecords(batch: Buffer, options: ValidateRecordsOptions): void {
  const header = readBatchHeader(batch, 0);
  const size = header.batchLength + LOG_OVERHEAD_BYTES;
  if (size < RECORD_BATCH_HEADER_BYTES || size > batch.length) throw corrupt(`record batch length ${header.batchLength} does not match the buffer`);
  let buf = batch;
  let pos = RECORD_BATCH_HEADER_BYTES;
  let end = size;
  if (header.compression !== 0) {
    buf = decompress(header.compression, batch.subarray(RECORD_BATCH_HEADER_BYTES, size), options.maxDecompressedBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES);
    pos = 0;
    end = buf.length;
  }
  if (header.recordsCount < 0 || header.recordsCount > end - pos) throw corrupt(`${header.recordsCount} records cannot fit in ${end - pos} bytes`);
  let value = 0;
  for (let i = 0; i < header.recordsCount; i++) {
    value = zigzagAt(buf, pos, end);
    pos = zigzagEnd;
    const length = value;
    if (length < 0 || length > end - pos) throw corrupt(`record ${i}: bad length ${length}`);
    const recordEnd = pos + length;
    pos += 1; // attributes
    pos = skipVarlong(buf, pos, recordEnd); // timestamp delta
    value = zigzagAt(buf, pos, recordEnd);
    pos = zigzagEnd;
    if (value !== i) throw new ProtocolError(ErrorCode.INVALID_RECORD, `record ${i} has offset delta ${value}; expected ${i}`);
    value = zigzagAt(buf, pos, recordEnd);
    pos = zigzagEnd;
    const keyLength = value;
    if (keyLength < -1 || keyLength > recordEnd - pos) throw corrupt(`record ${i}: bad key length ${keyLength}`);
    if (keyLength === -1 && options.requireKeys) throw new ProtocolError(ErrorCode.INVALID_RECORD, `record ${i} has no key, which a compacted topic needs`);
    if (keyLength > 0) pos += keyLength;
    value = zigzagAt(buf, pos, recordEnd);
    pos = zigzagEnd;
    const valueLength = value;
    if (valueLength < -1 || valueLength > recordEnd - pos) throw corrupt(`record ${i}: bad value length ${valueLength}`);
    if (valueLength > 0) pos += valueLength;
    value = zigzagAt(buf, pos, recordEnd);
    pos = zigzagEnd;
    const headerCount = value;
    if (headerCount < 0 || headerCount > recordEnd - pos) throw corrupt(`record ${i}: bad header count ${headerCount}`);
    for (let h = 0; h < headerCount; h++) {
      value = zigzagAt(buf, pos, recordEnd);
    pos = zigzagEnd;
      if (value < 0 || value > recordEnd - pos) throw corrupt(`record ${i}: bad header key length ${value}`);
      pos += value;
      value = zigzagAt(buf, pos, recordEnd);
    pos = zigzagEnd;
      if (value < -1 || value > recordEnd - pos) throw corrupt(`record ${i}: bad header value length ${value}`);
      if (value > 0) pos += value;
    }
    if (pos !== recordEnd) throw corrupt(`record ${i} has ${recordEnd - pos} unread bytes`);
  }
  if (pos !== end) throw corrupt(`${end - pos} bytes after the last record`);
}
