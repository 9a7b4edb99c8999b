/**
 * IndexEntries: what OffsetIndex and TimeIndex share. An index file is a flat array of fixed-size entries; the whole
 * array lives in memory (a growing Buffer, same bytes as the file) and entries reach the file only through `flush()`.
 * A truncation below what the file holds is remembered and applied by the next flush. Each index owns its entry
 * format, its ordering rules and its sanity checks; this class knows only entry counts and bytes.
 *
 * Concurrency: mutated only by the PartitionLog writer queue, like the indexes that own it.
 */
import { assert } from '@tributary/common';
import type { FileSystem } from './fs/file-system.ts';

/** Entries the in-memory buffer starts with; it doubles when full. */
const INITIAL_CAPACITY_ENTRIES = 64;

export class IndexEntries {
  readonly entryBytes: number;
  readonly maxEntries: number;
  #buf: Buffer;
  #entries: number;
  /** Entries already written to the file (durable once the next sync returns). */
  #diskEntries: number;
  /** The file may hold more than #diskEntries entries (after a truncation, or a stale file) and must be cut first. */
  #diskTruncatePending: boolean;

  private constructor(entryBytes: number, maxEntries: number, buf: Buffer, entries: number, diskTruncatePending: boolean) {
    assert(maxEntries > 0, `index maxEntries must be positive, got ${maxEntries}`);
    this.entryBytes = entryBytes;
    this.maxEntries = maxEntries;
    this.#buf = buf;
    this.#entries = entries;
    this.#diskEntries = entries;
    this.#diskTruncatePending = diskTruncatePending;
  }

  /** No entries; whatever file is at the index's path is stale and is cut by the first flush. */
  static empty(entryBytes: number, maxEntries: number): IndexEntries {
    return new IndexEntries(entryBytes, maxEntries, Buffer.alloc(INITIAL_CAPACITY_ENTRIES * entryBytes), 0, true);
  }

  /**
   * The entries of the file at `path`, or null when it is missing, not a whole number of entries, or longer than
   * `maxEntries`. `valid` then checks the entries themselves (`bytes` holds exactly `count` entries).
   */
  static async load(
    fs: FileSystem,
    path: string,
    entryBytes: number,
    maxEntries: number,
    valid: (bytes: Buffer, count: number) => boolean,
  ): Promise<IndexEntries | null> {
    if (!(await fs.exists(path))) return null;
    const bytes = await fs.readFile(path);
    if (bytes.length % entryBytes !== 0) return null;
    const count = bytes.length / entryBytes;
    if (count > maxEntries || !valid(bytes, count)) return null;
    const buf = Buffer.alloc(Math.max(bytes.length, INITIAL_CAPACITY_ENTRIES * entryBytes));
    bytes.copy(buf);
    return new IndexEntries(entryBytes, maxEntries, buf, count, false);
  }

  get count(): number {
    return this.#entries;
  }

  get isFull(): boolean {
    return this.#entries >= this.maxEntries;
  }

  /** The entries, entry i at byte i * entryBytes. Re-read after `append`: growing replaces the buffer. */
  get bytes(): Buffer {
    return this.#buf;
  }

  /** Adds one entry at the end; `write` fills its bytes starting at `at`. The caller checks fullness and order. */
  append(write: (buf: Buffer, at: number) => void): void {
    if ((this.#entries + 1) * this.entryBytes > this.#buf.length) {
      const next = Buffer.alloc(this.#buf.length * 2);
      this.#buf.copy(next, 0, 0, this.#entries * this.entryBytes);
      this.#buf = next;
    }
    write(this.#buf, this.#entries * this.entryBytes);
    this.#entries++;
  }

  /**
   * Binary search: the last entry i for which `before(i)` holds, or -1. `before` must hold on a prefix of the entries
   * (true up to some entry, false after), which the owning index's ordering guarantees.
   */
  lastWhere(before: (i: number) => boolean): number {
    let lo = 0;
    let hi = this.#entries - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (before(mid)) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }

  /** Keeps the first `keep` entries. */
  truncateToEntries(keep: number): void {
    assert(keep >= 0 && keep <= this.#entries, () => `truncateToEntries(${keep}) out of range: the index has ${this.#entries} entries`);
    this.#entries = keep;
    if (keep < this.#diskEntries) {
      this.#diskEntries = keep;
      this.#diskTruncatePending = true;
    }
  }

  /** Writes the entries not yet in the file at `path` (cutting it first when a truncation is pending) and fsyncs it. */
  async flush(fs: FileSystem, path: string): Promise<void> {
    if (this.#diskEntries === this.#entries && !this.#diskTruncatePending) return;
    const handle = await fs.open(path, 'create');
    try {
      if (this.#diskTruncatePending) await handle.truncate(this.#diskEntries * this.entryBytes);
      if (this.#entries > this.#diskEntries) {
        await handle.write(this.#buf.subarray(this.#diskEntries * this.entryBytes, this.#entries * this.entryBytes), this.#diskEntries * this.entryBytes);
      }
      await handle.sync();
    } finally {
      await handle.close();
    }
    this.#diskEntries = this.#entries;
    this.#diskTruncatePending = false;
  }
}

/** What OffsetIndex and TimeIndex have in common: their file, their segment's base offset, and their entries. */
export abstract class SegmentIndex {
  readonly baseOffset: number;
  /** Changes when the segment's files are renamed (swap, deletion). */
  path: string;
  protected readonly file: IndexEntries;

  protected constructor(path: string, baseOffset: number, file: IndexEntries) {
    this.path = path;
    this.baseOffset = baseOffset;
    this.file = file;
  }

  get maxEntries(): number {
    return this.file.maxEntries;
  }

  get entries(): number {
    return this.file.count;
  }

  get isFull(): boolean {
    return this.file.isFull;
  }

  /** Writes entries not yet on disk and fsyncs the file. */
  async flush(fs: FileSystem): Promise<void> {
    await this.file.flush(fs, this.path);
  }
}
