/** Test helpers: build record batches v2, open logs on either file system, validate a log directory. */
import { ManualClock, silentLogger, type Logger } from '@tributary/common';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BATCH_HEADER_BYTES, writeBatchCrc, writeInt64 } from '../src/batch-format.ts';
import { NodeFileSystem } from '../src/fs/node-file-system.ts';
import { MemoryFileSystem } from '../src/fs/memory-file-system.ts';
import type { FileSystem } from '../src/fs/file-system.ts';
import { PartitionLog, defaultLogConfig, type LogConfig } from '../src/partition-log.ts';

function varint(value: number, out: number[]): void {
  let v = (value << 1) ^ (value >> 31);
  v >>>= 0;
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
}

function varlong(value: number, out: number[]): void {
  let v = (BigInt(value) << 1n) ^ (BigInt(value) >> 63n);
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
}

export interface BatchSpec {
  records: number;
  valueBytes?: number;
  /** Timestamp of each record (default baseTimestamp + i). */
  timestamps?: number[];
  baseTimestamp?: number;
  /** Fill byte for values, to tell batches apart. */
  fill?: number;
}

/** An uncompressed v2 batch with baseOffset 0 and a valid CRC. */
export function makeBatch(spec: BatchSpec): Buffer {
  const baseTimestamp = spec.timestamps?.[0] ?? spec.baseTimestamp ?? 1_700_000_000_000;
  const valueBytes = spec.valueBytes ?? 10;
  const parts: Buffer[] = [];
  let maxTimestamp = -1;
  for (let i = 0; i < spec.records; i++) {
    const ts = spec.timestamps?.[i] ?? baseTimestamp + i;
    maxTimestamp = Math.max(maxTimestamp, ts);
    const body: number[] = [0];
    varlong(ts - baseTimestamp, body);
    varint(i, body);
    varint(-1, body); // null key
    varint(valueBytes, body);
    const head = Buffer.from(body);
    const value = Buffer.alloc(valueBytes, spec.fill ?? (i & 0xff));
    const tail: number[] = [];
    varint(0, tail); // no headers
    const len: number[] = [];
    varint(head.length + value.length + tail.length, len);
    parts.push(Buffer.from(len), head, value, Buffer.from(tail));
  }
  const records = Buffer.concat(parts);
  const buf = Buffer.alloc(BATCH_HEADER_BYTES + records.length);
  writeInt64(buf, 0, 0);
  buf.writeInt32BE(buf.length - 12, 8);
  buf.writeInt32BE(-1, 12);
  buf.writeInt8(2, 16);
  buf.writeInt16BE(0, 21);
  buf.writeInt32BE(spec.records - 1, 23);
  writeInt64(buf, baseTimestamp, 27);
  writeInt64(buf, maxTimestamp, 35);
  writeInt64(buf, -1, 43);
  buf.writeInt16BE(-1, 51);
  buf.writeInt32BE(-1, 53);
  buf.writeInt32BE(spec.records, 57);
  records.copy(buf, BATCH_HEADER_BYTES);
  writeBatchCrc(buf, 0);
  return buf;
}

/** Splits a buffer of batches into the individual batches (views). */
export function splitBatches(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const size = buf.readInt32BE(pos + 8) + 12;
    out.push(buf.subarray(pos, pos + size));
    pos += size;
  }
  return out;
}

export function baseOffsetOf(batch: Buffer): number {
  return Number(batch.readBigInt64BE(0));
}

export const testConfig: LogConfig = {
  ...defaultLogConfig,
  segmentBytes: 4096,
  indexIntervalBytes: 256,
  retentionMs: -1,
  retentionBytes: -1,
};

export interface FsKind {
  name: string;
  make(): { fs: FileSystem; dir: string; cleanup(): void };
}

export const fsKinds: FsKind[] = [
  {
    name: 'memory',
    make: () => ({ fs: new MemoryFileSystem(), dir: '/data/topic-0', cleanup() {} }),
  },
  {
    name: 'node',
    make: () => {
      const root = mkdtempSync(join(tmpdir(), 'trib-storage-'));
      return { fs: new NodeFileSystem(), dir: join(root, 'topic-0'), cleanup: () => rmSync(root, { recursive: true, force: true }) };
    },
  },
];

export function openLog(fs: FileSystem, dir: string, config: Partial<LogConfig> = {}, clock = new ManualClock(), logger: Logger = silentLogger): Promise<PartitionLog> {
  return PartitionLog.open({ fs, dir, config: { ...testConfig, ...config }, clock, logger });
}

/** Reads the whole log from its start as individual batches (checks framing as it goes). */
export async function readAll(log: PartitionLog): Promise<Buffer[]> {
  const batches: Buffer[] = [];
  let offset = log.logStartOffset;
  for (let i = 0; i < 100_000 && offset < log.logEndOffset; i++) {
    const result = await log.read(offset, { maxBytes: 1 << 20, minOneMessage: true });
    if (result.records.length === 0) break;
    batches.push(...splitBatches(result.records).map((b) => Buffer.from(b)));
    offset = result.nextOffset;
  }
  return batches;
}

/** A logger that records what it was told. */
export function recordingLogger(): Logger & { lines: { level: string; obj: object; msg: string | undefined }[] } {
  const lines: { level: string; obj: object; msg: string | undefined }[] = [];
  const logger = {
    lines,
    debug: (obj: object, msg?: string) => lines.push({ level: 'debug', obj, msg }),
    info: (obj: object, msg?: string) => lines.push({ level: 'info', obj, msg }),
    warn: (obj: object, msg?: string) => lines.push({ level: 'warn', obj, msg }),
    error: (obj: object, msg?: string) => lines.push({ level: 'error', obj, msg }),
    child: () => logger,
  };
  return logger;
}
