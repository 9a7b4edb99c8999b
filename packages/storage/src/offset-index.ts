/**
 * OffsetIndex: the sparse `.index` file of one segment, mapping offsets to byte positions in the `.log` file.
 *
 * On disk: a flat array of 8-byte big-endian entries { relativeOffset int32 (offset - segment base), position int32 },
 * both strictly increasing. Each entry points at the first byte of a batch whose baseOffset is that offset. One entry
 * is added whenever more than `index.interval.bytes` were appended since the last one, so a lookup lands at most about
 * one interval before the wanted batch.
 *
 * Files are appended, not preallocated: the entries live in memory (a growing Buffer, same bytes as the file) and new
 * entries are written to the file only by `flush()` (segment roll, log flush, close). Appending a batch therefore costs
 * no syscall here. A crash can lose unflushed entries; recovery rebuilds the index of every segment it re-validates,
 * and `flush()` always runs before the recovery point moves past a segment's data.
 *
 * Concurrency: mutated only by the PartitionLog writer queue; lookups are synchronous over memory.
 */
import { assert } from '@tributary/common';
import type { FileSystem } from './fs/file-system.ts';

export const OFFSET_INDEX_ENTRY_BYTES = 8;

export class OffsetIndex {
  readonly baseOffset: number;
  readonly maxEntries: number;
  path: string;
  #buf: Buffer;
  #entries: number;
  /** Entries already written to the file (durable once the next sync returns). */
  #diskEntries: number;
  /** The file may hold more than #diskEntries entries (after a truncation) and must be cut first. */
  #diskTruncatePending = false;

  private constructor(path: string, baseOffset: number, maxEntries: number, buf: Buffer, entries: number, diskEntries: number) {
    assert(maxEntries > 0, 'offset index maxEntries must be positive');
    this.path = path;
    this.baseOffset = baseOffset;
    this.maxEntries = maxEntries;
    this.#buf = buf;
    this.#entries = entries;
    this.#diskEntries = diskEntries;
  }

  static empty(path: string, baseOffset: number, maxEntries: number): OffsetIndex {
    const index = new OffsetIndex(path, baseOffset, maxEntries, Buffer.alloc(64 * OFFSET_INDEX_ENTRY_BYTES), 0, 0);
    index.#diskTruncatePending = true; // whatever file is there is stale
    return index;
  }

  /**
   * Loads the file and sanity-checks it against the log file size. Returns null when the file is missing or corrupt
   * (wrong size, entries out of order, positions past the log) so the caller rebuilds it.
   */
  static async load(fs: FileSystem, path: string, baseOffset: number, maxEntries: number, logSizeBytes: number): Promise<OffsetIndex | null> {
    if (!(await fs.exists(path))) return null;
    const bytes = await fs.readFile(path);
    if (bytes.length % OFFSET_INDEX_ENTRY_BYTES !== 0) return null;
    const entries = bytes.length / OFFSET_INDEX_ENTRY_BYTES;
    if (entries > maxEntries) return null;
    let prevRelative = -1;
    let prevPosition = -1;
    for (let i = 0; i < entries; i++) {
      const relative = bytes.readInt32BE(i * 8);
      const position = bytes.readInt32BE(i * 8 + 4);
      if (relative <= prevRelative || position <= prevPosition || position >= logSizeBytes) return null;
      prevRelative = relative;
      prevPosition = position;
    }
    const buf = Buffer.alloc(Math.max(bytes.length, 64 * OFFSET_INDEX_ENTRY_BYTES));
    bytes.copy(buf);
    return new OffsetIndex(path, baseOffset, maxEntries, buf, entries, entries);
  }

  get entries(): number {
    return this.#entries;
  }

  get isFull(): boolean {
    return this.#entries >= this.maxEntries;
  }

  get sizeInBytes(): number {
    return this.#entries * OFFSET_INDEX_ENTRY_BYTES;
  }

  #offsetAt(i: number): number {
    return this.baseOffset + this.#buf.readInt32BE(i * 8);
  }

  #positionAt(i: number): number {
    return this.#buf.readInt32BE(i * 8 + 4);
  }

  lastEntry(): { offset: number; position: number } {
    if (this.#entries === 0) return { offset: this.baseOffset, position: 0 };
    return { offset: this.#offsetAt(this.#entries - 1), position: this.#positionAt(this.#entries - 1) };
  }

  append(offset: number, position: number): void {
    assert(!this.isFull, 'offset index is full');
    const relative = offset - this.baseOffset;
    assert(relative >= 0 && relative <= 0x7fffffff, () => `offset ${offset} out of range for index base ${this.baseOffset}`);
    assert(position >= 0 && position <= 0x7fffffff, () => `position ${position} out of int32 range`);
    if (this.#entries > 0) {
      const last = this.lastEntry();
      assert(offset > last.offset && position > last.position, () => `index entries must increase: ${offset}@${position} after ${last.offset}@${last.position}`);
    }
    if ((this.#entries + 1) * 8 > this.#buf.length) {
      const next = Buffer.alloc(this.#buf.length * 2);
      this.#buf.copy(next, 0, 0, this.#entries * 8);
      this.#buf = next;
    }
    this.#buf.writeInt32BE(relative, this.#entries * 8);
    this.#buf.writeInt32BE(position, this.#entries * 8 + 4);
    this.#entries++;
  }

  /** Largest entry with offset <= target (or the segment start), and the position of the next entry (or -1). */
  lookup(offset: number): { offset: number; position: number; nextPosition: number } {
    let lo = 0;
    let hi = this.#entries - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#offsetAt(mid) <= offset) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    const nextPosition = found + 1 < this.#entries ? this.#positionAt(found + 1) : -1;
    if (found < 0) return { offset: this.baseOffset, position: 0, nextPosition };
    return { offset: this.#offsetAt(found), position: this.#positionAt(found), nextPosition };
  }

  /** Drops every entry with offset >= `offset`. */
  truncateTo(offset: number): void {
    let keep = this.#entries;
    // Bounded by the entry count.
    while (keep > 0 && this.#offsetAt(keep - 1) >= offset) keep--;
    this.truncateToEntries(keep);
  }

  truncateToEntries(keep: number): void {
    assert(keep >= 0 && keep <= this.#entries, 'truncateToEntries out of range');
    this.#entries = keep;
    if (keep < this.#diskEntries) {
      this.#diskEntries = keep;
      this.#diskTruncatePending = true;
    }
  }

  /** Writes entries not yet on disk and fsyncs the file. */
  async flush(fs: FileSystem): Promise<void> {
    if (this.#diskEntries === this.#entries && !this.#diskTruncatePending) return;
    const handle = await fs.open(this.path, 'create');
    try {
      if (this.#diskTruncatePending) await handle.truncate(this.#diskEntries * 8);
      if (this.#entries > this.#diskEntries) {
        await handle.write(this.#buf.subarray(this.#diskEntries * 8, this.#entries * 8), this.#diskEntries * 8);
      }
      await handle.sync();
    } finally {
      await handle.close();
    }
    this.#diskEntries = this.#entries;
    this.#diskTruncatePending = false;
  }
}
