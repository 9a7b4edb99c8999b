/**
 * BatchFilter: reads the records of one stored record batch v2 and rebuilds the batch with only the records the log
 * cleaner retains, stamping the delete horizon (KIP-534) when asked. Pure functions over Buffers; compression goes
 * through `@tributary/protocol` (gzip, snappy, lz4, zstd).
 *
 * Record layout inside the (possibly compressed) records section:
 *   length varint | attributes int8 | timestampDelta varlong | offsetDelta varint |
 *   keyLength varint (-1 = null) | key | valueLength varint (-1 = null: a tombstone) | value | headerCount varint | headers
 *
 * A rebuilt batch preserves what the cleaner must not change: baseOffset and lastOffsetDelta (so the producer's last
 * sequence stays derivable from baseSequence + lastOffsetDelta, as Kafka's `overrideLastOffset` keeps it),
 * partitionLeaderEpoch, producerId, producerEpoch, baseSequence, the transactional/control flags, the timestamp type,
 * the compression codec, and for every retained record its attributes, offset delta and the bytes from its key to its
 * end. It changes recordsCount, maxTimestamp (max of the retained records for CreateTime; unchanged for
 * LogAppendTime), baseTimestamp and the records' timestamp deltas (re-based on the delete horizon when the batch carries
 * one, as Kafka's MemoryRecordsBuilder does, else on the first retained record; record timestamps stay the same), and
 * the CRC. An empty batch kept for its producer state is the bare 61-byte header with recordsCount 0 and no
 * compression (Kafka's `writeEmptyHeader`).
 */
import {
  CONTROL_FLAG_MASK,
  DELETE_HORIZON_FLAG_MASK,
  ErrorCode,
  Reader,
  TIMESTAMP_TYPE_MASK,
  TRANSACTIONAL_FLAG_MASK,
  Writer,
  compress,
  crc32c,
  decompress,
  readBatchHeader as readFullBatchHeader,
  type RecordBatchHeader,
} from '@tributary/protocol';
import { assert } from '@tributary/common';
import { BATCH_HEADER_BYTES, BATCH_LOG_OVERHEAD, writeInt64 } from './batch-format.ts';

/** Bound on one batch's decompressed records (the broker validates produced batches up to the same size). */
export const MAX_DECOMPRESSED_BATCH_BYTES = 256 * 1024 * 1024;

export { DELETE_HORIZON_FLAG_MASK };

export interface StoredBatch {
  header: RecordBatchHeader;
  /** Exactly the batch's bytes. */
  bytes: Buffer;
}

export interface RecordView {
  offset: number;
  /** baseTimestamp + timestampDelta (the record's own timestamp, also under LogAppendTime). */
  timestamp: number;
  key: Buffer | null;
  /** Null value: a delete marker. */
  isTombstone: boolean;
  attributes: number;
  /** The record's bytes from keyLength to its end (copied verbatim into a rebuilt batch). */
  tail: Buffer;
}

export function parseStoredBatch(bytes: Buffer): StoredBatch {
  const header = readFullBatchHeader(bytes, 0);
  assert(header.batchLength + BATCH_LOG_OVERHEAD === bytes.length, 'parseStoredBatch: buffer is not exactly one batch');
  return { header, bytes };
}

export function isControl(header: RecordBatchHeader): boolean {
  return (header.attributes & CONTROL_FLAG_MASK) !== 0;
}

export function isTransactional(header: RecordBatchHeader): boolean {
  return (header.attributes & TRANSACTIONAL_FLAG_MASK) !== 0;
}

/** The delete horizon (KIP-534) the batch carries, or -1. */
export function deleteHorizonOf(header: RecordBatchHeader): number {
  return (header.attributes & DELETE_HORIZON_FLAG_MASK) !== 0 ? header.baseTimestamp : -1;
}

/** Decodes the records of a batch (decompressing). Throws ProtocolError(CORRUPT_MESSAGE) on malformed input. */
export function recordsOf(batch: StoredBatch): RecordView[] {
  const { header, bytes } = batch;
  if (header.recordsCount < 0) throw new Reader(bytes, 0, 0, ErrorCode.CORRUPT_MESSAGE).fail(`negative record count ${header.recordsCount}`);
  let body = bytes.subarray(BATCH_HEADER_BYTES);
  if (header.compression !== 0) body = decompress(header.compression, body, MAX_DECOMPRESSED_BATCH_BYTES);
  const r = new Reader(body, 0, body.length, ErrorCode.CORRUPT_MESSAGE);
  if (header.recordsCount > body.length) throw r.fail(`${header.recordsCount} records cannot fit in ${body.length} bytes`);
  const out: RecordView[] = [];
  // Bounded by recordsCount (itself bounded by the body length).
  for (let i = 0; i < header.recordsCount; i++) {
    const length = r.varint();
    if (length < 0 || length > r.remaining()) throw r.fail(`bad record length ${length}`);
    const end = r.pos + length;
    const outerEnd = r.end;
    r.end = end;
    const attributes = r.int8();
    const timestampDelta = r.varlong();
    const offsetDelta = r.varint();
    const tailStart = r.pos;
    const keyLength = r.varint();
    if (keyLength < -1) throw r.fail(`bad key length ${keyLength}`);
    const key = keyLength < 0 ? null : r.view(keyLength);
    const valueLength = r.varint();
    if (valueLength < -1) throw r.fail(`bad value length ${valueLength}`);
    if (valueLength > 0) r.need(valueLength);
    if (offsetDelta < 0 || offsetDelta > header.lastOffsetDelta) throw r.fail(`offset delta ${offsetDelta} outside the batch`);
    const timestamp = header.baseTimestamp + timestampDelta;
    if (!Number.isSafeInteger(timestamp)) throw r.fail('record timestamp outside the safe integer range');
    out.push({ offset: header.baseOffset + offsetDelta, timestamp, key, isTombstone: valueLength < 0, attributes, tail: body.subarray(tailStart, end) });
    r.pos = end;
    r.end = outerEnd;
  }
  if (r.pos !== r.end) throw r.fail(`${r.end - r.pos} bytes after the last record`);
  return out;
}

/**
 * Rebuilds `batch` with only `retained` (a subsequence of its records, in order, at least one). `deleteHorizonMs` >= 0
 * sets the delete-horizon flag and makes it the base timestamp; -1 leaves the flag off.
 */
export function rebuildBatch(batch: StoredBatch, retained: readonly RecordView[], deleteHorizonMs: number): Buffer {
  const { header } = batch;
  assert(retained.length > 0, 'rebuildBatch: no records (use emptyBatch)');
  const logAppendTime = (header.attributes & TIMESTAMP_TYPE_MASK) !== 0;
  const baseTimestamp = deleteHorizonMs >= 0 ? deleteHorizonMs : retained[0]!.timestamp;
  let maxTimestamp = -1;
  const w = new Writer();
  for (const record of retained) {
    if (record.timestamp > maxTimestamp) maxTimestamp = record.timestamp;
    const offsetDelta = record.offset - header.baseOffset;
    assert(offsetDelta >= 0 && offsetDelta <= header.lastOffsetDelta, 'rebuildBatch: record outside the batch');
    const body = new Writer();
    body.int8(record.attributes);
    body.varlong(record.timestamp - baseTimestamp);
    body.varint(offsetDelta);
    body.raw(record.tail);
    const encoded = body.finishToBuffer();
    w.varint(encoded.length);
    w.raw(encoded);
  }
  if (logAppendTime) maxTimestamp = header.maxTimestamp;
  const raw = w.finishToBuffer();
  const records = header.compression === 0 ? raw : compress(header.compression, raw);
  let attributes = header.attributes & ~DELETE_HORIZON_FLAG_MASK;
  if (deleteHorizonMs >= 0) attributes |= DELETE_HORIZON_FLAG_MASK;
  return writeBatch(batch, { attributes, baseTimestamp, maxTimestamp, recordsCount: retained.length, records });
}

/** The batch's header alone (no records, no compression): kept when it holds a producer's last sequence. */
export function emptyBatch(batch: StoredBatch): Buffer {
  const { header } = batch;
  // Codec bits and the horizon flag go; timestamp type, transactional and control flags stay.
  const attributes = header.attributes & (TIMESTAMP_TYPE_MASK | TRANSACTIONAL_FLAG_MASK | CONTROL_FLAG_MASK);
  return writeBatch(batch, { attributes, baseTimestamp: -1, maxTimestamp: header.maxTimestamp, recordsCount: 0, records: Buffer.alloc(0) });
}

function writeBatch(batch: StoredBatch, fields: { attributes: number; baseTimestamp: number; maxTimestamp: number; recordsCount: number; records: Buffer }): Buffer {
  const src = batch.bytes;
  const size = BATCH_HEADER_BYTES + fields.records.length;
  const out = Buffer.allocUnsafe(size);
  // baseOffset, partitionLeaderEpoch, magic as stored; producer id/epoch/baseSequence and lastOffsetDelta too.
  src.copy(out, 0, 0, BATCH_HEADER_BYTES);
  out.writeInt32BE(size - BATCH_LOG_OVERHEAD, 8);
  out.writeInt16BE(fields.attributes, 21);
  writeInt64(out, fields.baseTimestamp, 27);
  writeInt64(out, fields.maxTimestamp, 35);
  out.writeInt32BE(fields.recordsCount, 57);
  fields.records.copy(out, BATCH_HEADER_BYTES);
  out.writeUInt32BE(crc32c(out.subarray(21)), 17);
  return out;
}
