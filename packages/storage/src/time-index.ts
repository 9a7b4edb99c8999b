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
import { IndexEntries, SegmentIndex } from './index-file.ts';

export const TIME_INDEX_ENTRY_BYTES = 12;

export class TimeIndex extends SegmentIndex {
  private constructor(path: string, baseOffset: number, file: IndexEntries) {
    super(path, baseOffset, file);
  }

  static empty(path: string, baseOffset: number, maxEntries: number): TimeIndex {
    return new TimeIndex(path, baseOffset, IndexEntries.empty(TIME_INDEX_ENTRY_BYTES, maxEntries));
  }

  /** Loads and sanity-checks; null when missing or corrupt (the caller rebuilds). `maxRelativeOffset` bounds entries. */
  static async load(fs: FileSystem, path: string, baseOffset: number, maxEntries: number, maxRelativeOffset: number): Promise<TimeIndex | null> {
    const file = await IndexEntries.load(fs, path, TIME_INDEX_ENTRY_BYTES, maxEntries, (bytes, count) => {
      let prevTs = Number.NEGATIVE_INFINITY;
      let prevRelative = 0;
      for (let i = 0; i < count; i++) {
        const hi = bytes.readInt32BE(i * 12);
        const ts = hi * 0x1_0000_0000 + bytes.readUInt32BE(i * 12 + 4);
        const relative = bytes.readInt32BE(i * 12 + 8);
        if (!Number.isSafeInteger(ts) || ts <= prevTs || relative < prevRelative || relative > maxRelativeOffset) return false;
        prevTs = ts;
        prevRelative = relative;
      }
      return true;
    });
    return file === null ? null : new TimeIndex(path, baseOffset, file);
  }

  #timestampAt(i: number): number {
    return readInt64(this.file.bytes, i * 12);
  }

  #offsetAt(i: number): number {
    return this.baseOffset + this.file.bytes.readInt32BE(i * 12 + 8);
  }

  lastEntry(): { timestamp: number; offset: number } | null {
    const count = this.file.count;
    if (count === 0) return null;
    return { timestamp: this.#timestampAt(count - 1), offset: this.#offsetAt(count - 1) };
  }

  /** Adds (timestamp, offset) if the timestamp is larger than the last entry's; `force` ignores the full check. */
  maybeAppend(timestamp: number, offset: number, force = false): void {
    const last = this.lastEntry();
    if (last !== null && timestamp <= last.timestamp) return;
    if (this.isFull && !force) return;
    const relative = offset - this.baseOffset;
    assert(relative >= 0 && relative <= 0x7fffffff, () => `offset ${offset} out of range for time index base ${this.baseOffset}`);
    assert(last === null || offset >= last.offset, 'time index offsets must not decrease');
    this.file.append((buf, at) => {
      writeInt64(buf, timestamp, at);
      buf.writeInt32BE(relative, at + 8);
    });
  }

  /**
   * An offset from which a forward scan finds the first batch with maxTimestamp >= target: the offset of the last
   * entry whose timestamp < target (every batch up to it is older), else the segment base.
   */
  lookup(targetMs: number): number {
    const found = this.file.lastWhere((i) => this.#timestampAt(i) < targetMs);
    return found < 0 ? this.baseOffset : this.#offsetAt(found);
  }

  /** Drops entries whose offset >= `offset`. */
  truncateTo(offset: number): void {
    // Entry offsets never decrease, so the ones below `offset` are a prefix.
    this.file.truncateToEntries(this.file.lastWhere((i) => this.#offsetAt(i) < offset) + 1);
  }
}
