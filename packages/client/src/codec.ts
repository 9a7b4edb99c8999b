/**
 * The seam between the network client and the wire codec. The client only needs a handful of codec
 * functions; taking them through this interface lets unit tests run against a fake broker with a toy
 * codec, and keeps the connection layer free of protocol details (it only reads the 4-byte correlation id
 * every response header starts with).
 */
import * as protocol from '@tributary/protocol';
import { KafkaError } from './errors.ts';

export type Compression = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';

export const COMPRESSION_CODECS: readonly Compression[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

export interface RecordHeader {
  key: string;
  value: Buffer | null;
}

/** A record to produce. */
export interface ProducerRecord {
  key?: Buffer | string | null;
  value: Buffer | string | null;
  headers?: RecordHeader[];
  /** Milliseconds since the epoch; the client's wall clock when absent. */
  timestamp?: number;
}

/** A record read back by fetch. */
export interface FetchedRecord {
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
}

export interface Codec {
  /** The whole request, size prefix included, as buffers to write in order. */
  encodeRequest(apiKey: number, apiVersion: number, correlationId: number, clientId: string, body: object): Buffer[];
  /** `frame` is one response without its size prefix. */
  decodeResponse(apiKey: number, apiVersion: number, frame: Buffer): { correlationId: number; body: unknown };
  encodeRecordBatch(records: ProducerRecord[], compression: Compression, nowMs: number): Buffer;
  /** Every complete record in a `records` field (one or more batches; a truncated tail batch is skipped). */
  decodeRecordSet(records: Buffer): FetchedRecord[];
  errorName(code: number): string;
}

/** The length of the complete batches at the start of `records`; a fetch may end in a partial batch. */
function completeBatchesLength(records: Buffer): number {
  let position = 0;
  // Each step advances by at least one batch header, so the loop is bounded by the buffer length.
  while (records.length - position >= protocol.LOG_OVERHEAD_BYTES) {
    const size = records.readInt32BE(position + protocol.BATCH_LENGTH_OFFSET) + protocol.LOG_OVERHEAD_BYTES;
    if (size < protocol.RECORD_BATCH_HEADER_BYTES || size > records.length - position) break;
    position += size;
  }
  return position;
}

export const protocolCodec: Codec = {
  encodeRequest(apiKey, apiVersion, correlationId, clientId, body) {
    return protocol.encodeRequest(apiKey, apiVersion, correlationId, clientId, body);
  },
  decodeResponse(apiKey, apiVersion, frame) {
    return protocol.decodeResponse(apiKey, apiVersion, frame) as { correlationId: number; body: unknown };
  },
  encodeRecordBatch(records, compression, nowMs) {
    return protocol.encodeRecordBatch({
      records: records.map((r) => ({
        key: r.key ?? null,
        value: r.value,
        headers: r.headers ?? [],
        timestamp: r.timestamp ?? nowMs,
      })),
      compression,
      baseTimestamp: nowMs,
    });
  },
  decodeRecordSet(records) {
    const out: FetchedRecord[] = [];
    const complete = records.subarray(0, completeBatchesLength(records));
    for (const batch of protocol.iterateBatches(complete)) {
      // Control batches (transaction markers) carry no application data.
      // As Kafka consumers do (check.crcs), refuse a batch damaged in storage or on the wire.
      if (!protocol.verifyBatchCrc(complete, batch.position, batch.sizeInBytes)) {
        const message = `CORRUPT_MESSAGE: record batch at offset ${batch.header.baseOffset} fails its CRC check`;
        throw new KafkaError(protocol.ErrorCode.CORRUPT_MESSAGE, 'CORRUPT_MESSAGE', message);
      }
      if ((batch.header.attributes & protocol.CONTROL_FLAG_MASK) !== 0) continue;
      const decoded = protocol.decodeRecords(complete.subarray(batch.position, batch.position + batch.sizeInBytes));
      for (const r of decoded.records) out.push(r);
    }
    return out;
  },
  errorName(code) {
    return protocol.errorName(code);
  },
};
