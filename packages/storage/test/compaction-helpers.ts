/** Test helpers for log compaction: keyed batches, a model of what was written, invariant checks, a crashing fs. */
import { expect } from 'vitest';
import { decodeRecords, encodeRecordBatch, readBatchHeader, type CompressionName, type RecordBatchHeader } from '@tributary/protocol';
import { checkBatch } from '../src/batch-format.ts';
import type { FileHandle, FileSystem, FileStat, OpenMode } from '../src/fs/file-system.ts';
import type { CompactionConfig } from '../src/log-cleaner.ts';
import type { PartitionLog } from '../src/partition-log.ts';
import { readAll } from './helpers.ts';

export interface KeyedRecord {
  key: string | null;
  /** null: a tombstone */
  value: string | null;
  timestamp: number;
}

export interface BatchOptions {
  compression?: CompressionName;
  producerId?: number;
  producerEpoch?: number;
  baseSequence?: number;
}

export function keyedBatch(records: readonly KeyedRecord[], opts: BatchOptions = {}): Buffer {
  return encodeRecordBatch({
    records: records.map((r) => ({ key: r.key, value: r.value, timestamp: r.timestamp })),
    compression: opts.compression ?? 'none',
    producerId: opts.producerId ?? -1,
    producerEpoch: opts.producerEpoch ?? -1,
    baseSequence: opts.baseSequence ?? -1,
  });
}

export const compactAll: CompactionConfig = {
  deleteRetentionMs: 1000,
  minCleanableDirtyRatio: 0,
  minCompactionLagMs: 0,
  maxCompactionLagMs: Number.MAX_SAFE_INTEGER,
};

export interface StoredRecord {
  offset: number;
  key: string | null;
  value: string | null;
  timestamp: number;
  batch: RecordBatchHeader;
}

/** Every batch of the log (CRC-checked, offsets strictly increasing) and its records. */
export async function readRecords(log: PartitionLog): Promise<{ batches: RecordBatchHeader[]; records: StoredRecord[] }> {
  const batches: RecordBatchHeader[] = [];
  const records: StoredRecord[] = [];
  let previousLast = -1;
  // Plain checks in the loops (expect() per record dominates the crash tests' run time).
  for (const bytes of await readAll(log)) {
    check(checkBatch(bytes, 0, bytes.length).ok, 'batch CRC');
    const header = readBatchHeader(bytes, 0);
    check(header.baseOffset > previousLast, () => `batch at ${header.baseOffset} after ${previousLast}: offsets must increase, no duplicates`);
    previousLast = header.lastOffset;
    batches.push(header);
    for (const r of decodeRecords(bytes).records) {
      check(r.offset >= header.baseOffset && r.offset <= header.lastOffset, () => `record ${r.offset} outside its batch`);
      check(records.length === 0 || r.offset > records.at(-1)!.offset, 'record offsets strictly increase');
      records.push({ offset: r.offset, key: r.key?.toString() ?? null, value: r.value?.toString() ?? null, timestamp: r.timestamp, batch: header });
    }
  }
  return { batches, records };
}

/** What was appended: offset → record. */
export class Model {
  readonly byOffset = new Map<number, KeyedRecord>();

  add(firstOffset: number, records: readonly KeyedRecord[]): void {
    records.forEach((r, i) => this.byOffset.set(firstOffset + i, r));
  }

  /** Forgets offsets at or above `offset` (truncated or lost in a crash). */
  dropFrom(offset: number): void {
    for (const o of [...this.byOffset.keys()]) if (o >= offset) this.byOffset.delete(o);
  }

  /** Offset of each key's latest record among offsets < `below`. */
  latest(below = Number.MAX_SAFE_INTEGER): Map<string, number> {
    const out = new Map<string, number>();
    for (const [offset, r] of this.byOffset) if (r.key !== null && offset < below) out.set(r.key, Math.max(out.get(r.key) ?? -1, offset));
    return out;
  }
}

/**
 * The compaction invariants: every stored record is one that was written at that offset; every key's latest record
 * at or above the log start is there (a latest tombstone may be gone, and then no older record of that key is); records without a key and
 * records at or above `untouchedFrom` are all there; below `dedupedBelow` each key appears at most once.
 * `mayBeLost(offset)` marks records that were never made durable (a crash may drop them).
 */
export async function checkCompacted(
  log: PartitionLog,
  model: Model,
  opts: { untouchedFrom?: number; dedupedBelow?: number; mayBeLost?: (offset: number) => boolean } = {},
): Promise<StoredRecord[]> {
  const { records } = await readRecords(log);
  const mayBeLost = opts.mayBeLost ?? (() => false);
  const present = new Map<number, StoredRecord>();
  for (const r of records) {
    const written = model.byOffset.get(r.offset);
    if (written === undefined || written.key !== r.key || written.value !== r.value || written.timestamp !== r.timestamp) {
      expect({ key: r.key, value: r.value, timestamp: r.timestamp }, `record at ${r.offset}`).toEqual(written);
    }
    present.set(r.offset, r);
  }
  const lastInLog = new Map<string, number>();
  for (const r of records) if (r.key !== null) lastInLog.set(r.key, r.offset);
  const durableLatest = new Map<string, number>();
  for (const [offset, r] of model.byOffset) {
    if (r.key === null || mayBeLost(offset) || offset < log.logStartOffset) continue;
    durableLatest.set(r.key, Math.max(durableLatest.get(r.key) ?? -1, offset));
  }
  for (const [key, offset] of durableLatest) {
    const written = model.byOffset.get(offset)!;
    const found = lastInLog.get(key);
    if (written.value === null && (found === undefined || found < offset)) {
      // The tombstone went after its horizon: then nothing older of that key may be left either.
      check(found === undefined, () => `key ${key}: tombstone at ${offset} removed but an older value (${found}) is still there`);
      continue;
    }
    check(found !== undefined && found >= offset, () => `key ${key}: latest value (offset ${offset}) is missing`);
  }
  for (const [offset, r] of model.byOffset) {
    if (mayBeLost(offset) || offset < log.logStartOffset) continue;
    if (r.key === null || (opts.untouchedFrom !== undefined && offset >= opts.untouchedFrom)) {
      check(present.has(offset), () => `record at ${offset} (outside the cleaned range) lost`);
    }
  }
  if (opts.dedupedBelow !== undefined) {
    const seen = new Set<string>();
    for (const r of records) {
      // Records below the log start (in the batch holding it) are logically gone already.
      if (r.offset >= opts.dedupedBelow || r.offset < log.logStartOffset || r.key === null) continue;
      check(!seen.has(r.key), () => `key ${r.key} twice below ${opts.dedupedBelow}`);
      seen.add(r.key);
    }
  }
  return records;
}

function check(condition: boolean, message: string | (() => string)): void {
  if (!condition) expect.fail(typeof message === 'string' ? message : message());
}

/** Thrown by CrashingFileSystem once its budget of mutating operations is spent. */
export class SimulatedCrash extends Error {
  override name = 'SimulatedCrash';
}

/**
 * Wraps a FileSystem; once armed, lets `budget` mutating operations (write, sync, truncate, rename, unlink, syncDir,
 * open for create) through and then fails every later one, as a machine that lost power would never do them.
 */
export class CrashingFileSystem implements FileSystem {
  readonly inner: FileSystem;
  #budget = Number.POSITIVE_INFINITY;
  /** Mutating operations since arm(). */
  count = 0;

  constructor(inner: FileSystem) {
    this.inner = inner;
  }

  arm(budget: number): void {
    this.#budget = budget;
    this.count = 0;
  }

  disarm(): void {
    this.#budget = Number.POSITIVE_INFINITY;
  }

  get tripped(): boolean {
    return this.count > this.#budget;
  }

  mutate(op: string): void {
    this.count++;
    if (this.count > this.#budget) throw new SimulatedCrash(`crash before ${op} #${this.count}`);
  }

  async open(path: string, mode: OpenMode): Promise<FileHandle> {
    if (mode === 'create') this.mutate('open');
    const inner = await this.inner.open(path, mode);
    const outer: FileHandle = {
      path: inner.path,
      read: (buf, offset, length, position) => inner.read(buf, offset, length, position),
      write: async (data, position) => {
        this.mutate('write');
        return inner.write(data, position);
      },
      size: () => inner.size(),
      sync: async () => {
        this.mutate('sync');
        return inner.sync();
      },
      truncate: async (length) => {
        this.mutate('truncate');
        return inner.truncate(length);
      },
      close: () => inner.close(),
    };
    return outer;
  }

  readFile(path: string): Promise<Buffer> {
    return this.inner.readFile(path);
  }
  async rename(from: string, to: string): Promise<void> {
    this.mutate('rename');
    return this.inner.rename(from, to);
  }
  async unlink(path: string): Promise<void> {
    this.mutate('unlink');
    return this.inner.unlink(path);
  }
  readdir(path: string): Promise<string[]> {
    return this.inner.readdir(path);
  }
  mkdir(path: string): Promise<void> {
    return this.inner.mkdir(path);
  }
  rmdir(path: string): Promise<void> {
    return this.inner.rmdir(path);
  }
  stat(path: string): Promise<FileStat> {
    return this.inner.stat(path);
  }
  exists(path: string): Promise<boolean> {
    return this.inner.exists(path);
  }
  async syncDir(path: string): Promise<void> {
    this.mutate('syncDir');
    return this.inner.syncDir(path);
  }
}
