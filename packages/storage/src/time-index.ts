/**
 * TimeIndex: the sparse `.timeindex` file of one segment, mapping timestamps to offsets.
 *
 * On disk: a flat array of 12-byte big-endian entries { timestamp int64, relativeOffset int32 }. Timestamps are
 * strictly increasing, offsets non-decreasing. An entry (T, O) means: T is the largest batch maxTimestamp among all
 * batches up to and including the batch whose last offset is O. Entries are added alongside offset-index entries when
 * the max timestamp grew, and once more when the segment is rolled or closed, so the last entry always carries the
 * segment's max timestamp for closed segments.
 *
 * Like OffsetIndex: appended (not preallocated), kept in memory, written only by `flush()`; a crash may lose unflushed
 * entries and recovery rebuilds the index of every segment it re-validates.
 *
 * Concurrency: mutated only by the PartitionLog writer queue; lookups are synchronous over memory.
 */
import { assert } from '@tributary/common';
import { readInt64, writeInt64 } from './batch-format.ts';
import type { FileSystem } from './fs/file-system.ts';

export const TIME_INDEX_ENTRY_BYTES = 12;

export class TimeIndex {
  readonly baseOffset: number;
  readonly maxEntries: number;
  path: string;
  #buf: Buffer;
  #entries: number;
  #diskEntries: number;
  #diskTruncatePending = false;

  private constructor(path: string, baseOffset: number, maxEntries: number, buf: Buffer, entries: number) {
    assert(maxEntries > 0, 'time index maxEntries must be positive');
    this.path = path;
    this.baseOffset = baseOffset;
    this.maxEntries = maxEntries;
    this.#buf = buf;
    this.#entries = entries;
    this.#diskEntries = entries;
  }

  static empty(path: string, baseOffset: number, maxEntries: number): TimeIndex {
    const index = new TimeIndex(path, baseOffset, maxEntries, Buffer.alloc(64 * TIME_INDEX_ENTRY_BYTES), 0);
    index.#diskTruncatePending = true;
    return index;
  }

  /** Loads and sanity-checks; null when missing or corrupt (the caller rebuilds). `maxRelativeOffset` bounds entries. */
  static async load(fs: FileSystem, path: string, baseOffset: number, maxEntries: number, maxRelativeOffset: number): Promise<TimeIndex | null> {
    if (!(await fs.exists(path))) return null;
    const bytes = await fs.readFile(path);
    if (bytes.length % TIME_INDEX_ENTRY_BYTES !== 0) return null;
    const entries = bytes.length / TIME_INDEX_ENTRY_BYTES;
    if (entries > maxEntries) return null;
    let prevTs = Number.NEGATIVE_INFINITY;
    let prevRelative = 0;
    for (let i = 0; i < entries; i++) {
      const hi = bytes.readInt32BE(i * 12);
      const ts = hi * 0x1_0000_0000 + bytes.readUInt32BE(i * 12 + 4);
      const relative = bytes.readInt32BE(i * 12 + 8);
      if (!Number.isSafeInteger(ts) || ts <= prevTs || relative < prevRelative || relative > maxRelativeOffset) return null;
      prevTs = ts;
      prevRelative = relative;
    }
    const buf = Buffer.alloc(Math.max(bytes.length, 64 * TIME_INDEX_ENTRY_BYTES));
    bytes.copy(buf);
    return new TimeIndex(path, baseOffset, maxEntries, buf, entries);
  }

  get entries(): number {
    return this.#entries;
  }

  get isFull(): boolean {
    return this.#entries >= this.maxEntries;
  }

  #timestampAt(i: number): number {
    return readInt64(this.#buf, i * 12);
  }

  #offsetAt(i: number): number {
    return this.baseOffset + this.#buf.readInt32BE(i * 12 + 8);
  }

  lastEntry(): { timestamp: number; offset: number } | null {
    if (this.#entries === 0) return null;
    return { timestamp: this.#timestampAt(this.#entries - 1), offset: this.#offsetAt(this.#entries - 1) };
  }

  /** Adds (timestamp, offset) if the timestamp is larger than the last entry's; `force` ignores the full check. */
  maybeAppend(timestamp: number, offset: number, force = false): void {
    const last = this.lastEntry();
    if (last !== null && timestamp <= last.timestamp) return;
    if (this.isFull && !force) return;
    const relative = offset - this.baseOffset;
    assert(relative >= 0 && relative <= 0x7fffffff, () => `offset ${offset} out of range for time index base ${this.baseOffset}`);
    assert(last === null || offset >= last.offset, 'time index offsets must not decrease');
    if ((this.#entries + 1) * 12 > this.#buf.length) {
      const next = Buffer.alloc(this.#buf.length * 2);
      this.#buf.copy(next, 0, 0, this.#entries * 12);
      this.#buf = next;
    }
    writeInt64(this.#buf, timestamp, this.#entries * 12);
    this.#buf.writeInt32BE(relative, this.#entries * 12 + 8);
    this.#entries++;
  }

  /**
   * An offset from which a forward scan finds the first batch with maxTimestamp >= target: the offset of the last
   * entry whose timestamp < target (every batch up to it is older), else the segment base.
   */
  lookup(targetMs: number): number {
    let lo = 0;
    let hi = this.#entries - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#timestampAt(mid) < targetMs) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found < 0 ? this.baseOffset : this.#offsetAt(found);
  }

  /** Drops entries whose offset >= `offset`. */
  truncateTo(offset: number): void {
    let keep = this.#entries;
    while (keep > 0 && this.#offsetAt(keep - 1) >= offset) keep--;
    this.#entries = keep;
    if (keep < this.#diskEntries) {
      this.#diskEntries = keep;
      this.#diskTruncatePending = true;
    }
  }

  async flush(fs: FileSystem): Promise<void> {
    if (this.#diskEntries === this.#entries && !this.#diskTruncatePending) return;
    const handle = await fs.open(this.path, 'create');
    try {
      if (this.#diskTruncatePending) await handle.truncate(this.#diskEntries * 12);
      if (this.#entries > this.#diskEntries) {
        await handle.write(this.#buf.subarray(this.#diskEntries * 12, this.#entries * 12), this.#diskEntries * 12);
      }
      await handle.sync();
    } finally {
      await handle.close();
    }
    this.#diskEntries = this.#entries;
    this.#diskTruncatePending = false;
  }
}
