/**
 * The seam between the network client and the wire codec. The client only needs a handful of codec
 * functions; taking them through this interface lets unit tests run against a fake broker with a toy
 * codec, and keeps the connection layer free of protocol details (it only reads the 4-byte correlation id
 * every response header starts with).
 */
import * as protocol from '@tributary/protocol';

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

/** What we use from `@tributary/protocol`, typed here so the client compiles before each piece lands. */
interface ProtocolModule {
  encodeRequest(apiKey: number, apiVersion: number, correlationId: number, clientId: string, body: object): Buffer[];
  decodeResponse(apiKey: number, apiVersion: number, frame: Buffer): { correlationId: number; body: unknown };
  encodeRecordBatch(batch: object): Buffer;
  iterateBatches(buf: Buffer): Iterable<unknown>;
  decodeRecords(batch: unknown): Iterable<unknown>;
  errorName(code: number): string;
}

function need<K extends keyof ProtocolModule>(name: K): ProtocolModule[K] {
  const fn = (protocol as unknown as Partial<ProtocolModule>)[name];
  if (typeof fn !== 'function') {
    throw new Error(`@tributary/protocol does not export ${name} yet`);
  }
  return fn as ProtocolModule[K];
}

function toBuffer(value: Buffer | string | null | undefined): Buffer | null {
  if (value == null) return null;
  return typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
}

function num(value: unknown, what: string): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  throw new Error(`record batch: ${what} is not a number`);
}

/** Reads the fields we need from a decoded record, whatever extra fields the codec adds. */
function toFetchedRecord(batch: Record<string, unknown>, record: Record<string, unknown>): FetchedRecord {
  const offset =
    record.offset !== undefined
      ? num(record.offset, 'offset')
      : num(batch.baseOffset, 'baseOffset') + num(record.offsetDelta ?? 0, 'offsetDelta');
  const timestamp =
    record.timestamp !== undefined
      ? num(record.timestamp, 'timestamp')
      : num(batch.firstTimestamp ?? batch.baseTimestamp ?? -1, 'firstTimestamp') + num(record.timestampDelta ?? 0, 'timestampDelta');
  const rawHeaders = (record.headers ?? []) as unknown;
  const headers: RecordHeader[] = [];
  if (Array.isArray(rawHeaders)) {
    for (const h of rawHeaders as { key: unknown; value: unknown }[]) {
      const key = Buffer.isBuffer(h.key) ? h.key.toString('utf8') : String(h.key);
      headers.push({ key, value: h.value == null ? null : toBuffer(h.value as Buffer | string) });
    }
  }
  return {
    offset,
    timestamp,
    key: toBuffer(record.key as Buffer | string | null | undefined),
    value: toBuffer(record.value as Buffer | string | null | undefined),
    headers,
  };
}

export const protocolCodec: Codec = {
  encodeRequest(apiKey, apiVersion, correlationId, clientId, body) {
    return need('encodeRequest')(apiKey, apiVersion, correlationId, clientId, body);
  },
  decodeResponse(apiKey, apiVersion, frame) {
    return need('decodeResponse')(apiKey, apiVersion, frame);
  },
  encodeRecordBatch(records, compression, nowMs) {
    return need('encodeRecordBatch')({
      records: records.map((r) => ({
        key: toBuffer(r.key),
        value: toBuffer(r.value),
        headers: (r.headers ?? []).map((h) => ({ key: h.key, value: h.value })),
        timestamp: r.timestamp ?? nowMs,
      })),
      compression,
    });
  },
  decodeRecordSet(records) {
    const out: FetchedRecord[] = [];
    for (const batch of need('iterateBatches')(records)) {
      const decoded = need('decodeRecords')(batch);
      for (const record of decoded) {
        out.push(toFetchedRecord(batch as Record<string, unknown>, record as Record<string, unknown>));
      }
    }
    return out;
  },
  errorName(code) {
    try {
      return need('errorName')(code);
    } catch {
      return code === 0 ? 'NONE' : `ERROR_${code}`;
    }
  },
};
