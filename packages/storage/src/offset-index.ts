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
import { IndexEntries, SegmentIndex } from './index-file.ts';

export const OFFSET_INDEX_ENTRY_BYTES = 8;

export class OffsetIndex extends SegmentIndex {
  private constructor(path: string, baseOffset: number, file: IndexEntries) {
    super(path, baseOffset, file);
  }

  static empty(path: string, baseOffset: number, maxEntries: number): OffsetIndex {
    return new OffsetIndex(path, baseOffset, IndexEntries.empty(OFFSET_INDEX_ENTRY_BYTES, maxEntries));
  }

  /**
   * Loads the file and sanity-checks it against the log file size. Returns null when the file is missing or corrupt
   * (wrong size, entries out of order, positions past the log) so the caller rebuilds it.
   */
  static async load(fs: FileSystem, path: string, baseOffset: number, maxEntries: number, logSizeBytes: number): Promise<OffsetIndex | null> {
    const file = await IndexEntries.load(fs, path, OFFSET_INDEX_ENTRY_BYTES, maxEntries, (bytes, count) => {
      let prevRelative = -1;
      let prevPosition = -1;
      for (let i = 0; i < count; i++) {
        const relative = bytes.readInt32BE(i * 8);
        const position = bytes.readInt32BE(i * 8 + 4);
        if (relative <= prevRelative || position <= prevPosition || position >= logSizeBytes) return false;
        prevRelative = relative;
        prevPosition = position;
      }
      return true;
    });
    return file === null ? null : new OffsetIndex(path, baseOffset, file);
  }

  get sizeInBytes(): number {
    return this.file.count * OFFSET_INDEX_ENTRY_BYTES;
  }

  #offsetAt(i: number): number {
    return this.baseOffset + this.file.bytes.readInt32BE(i * 8);
  }

  #positionAt(i: number): number {
    return this.file.bytes.readInt32BE(i * 8 + 4);
  }

  lastEntry(): { offset: number; position: number } {
    const count = this.file.count;
    if (count === 0) return { offset: this.baseOffset, position: 0 };
    return { offset: this.#offsetAt(count - 1), position: this.#positionAt(count - 1) };
  }

  append(offset: number, position: number): void {
    assert(!this.isFull, 'offset index is full');
    const relative = offset - this.baseOffset;
    assert(relative >= 0 && relative <= 0x7fffffff, () => `offset ${offset} out of range for index base ${this.baseOffset}`);
    assert(position >= 0 && position <= 0x7fffffff, () => `position ${position} out of int32 range`);
    if (this.file.count > 0) {
      const last = this.lastEntry();
      assert(offset > last.offset && position > last.position, () => `index entries must increase: ${offset}@${position} after ${last.offset}@${last.position}`);
    }
    this.file.append((buf, at) => {
      buf.writeInt32BE(relative, at);
      buf.writeInt32BE(position, at + 4);
    });
  }

  /** Largest entry with offset <= target (or the segment start), and the position of the next entry (or -1). */
  lookup(offset: number): { offset: number; position: number; nextPosition: number } {
    const found = this.file.lastWhere((i) => this.#offsetAt(i) <= offset);
    const nextPosition = found + 1 < this.file.count ? this.#positionAt(found + 1) : -1;
    if (found < 0) return { offset: this.baseOffset, position: 0, nextPosition };
    return { offset: this.#offsetAt(found), position: this.#positionAt(found), nextPosition };
  }

  /** Drops every entry with offset >= `offset`. */
  truncateTo(offset: number): void {
    // Entry offsets strictly increase, so the ones below `offset` are a prefix.
    this.truncateToEntries(this.file.lastWhere((i) => this.#offsetAt(i) < offset) + 1);
  }

  truncateToEntries(keep: number): void {
    this.file.truncateToEntries(keep);
  }
}
