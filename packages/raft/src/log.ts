/**
 * The core's synchronous view of the replicated log.
 *
 * The core mutates its view immediately (append, truncate, compact, reset) and reports the same mutation in
 * the next Ready; the driver makes it durable. So a view only has to answer reads synchronously:
 * `MemoryRaftLog` keeps everything in memory (the metadata log is small and snapshotted); a view backed by
 * `@tributary/storage`'s PartitionLog would keep an epoch index (its leader-epoch checkpoint) plus a bounded
 * cache of the tail, and serve `read` for older offsets from a prefetched window — the interface does not
 * assume the entries live in memory, only that reads the core makes on the hot path (tail reads for fetch
 * responses, `endOffsetForEpoch`) answer without I/O.
 *
 * Layout: entries cover [startOffset, endOffset). When a snapshot exists, startOffset == snapshot.endOffset
 * and everything below lives only in the snapshot.
 */
import { assert } from '@tributary/common';
import { entrySizeBytes } from './messages.ts';
import type { Entry, OffsetAndEpoch, SnapshotId } from './types.ts';

export interface RaftLog {
  readonly startOffset: number;
  readonly endOffset: number;
  readonly snapshotId: SnapshotId | null;
  /** Epoch of the last entry; the snapshot's epoch when the log is empty after it; 0 when there is nothing. */
  lastEpoch(): number;
  entryAt(offset: number): Entry;
  /** Entries from `fromOffset`, at most `maxEntries` and `maxBytes` (but at least one entry if any exists). */
  read(fromOffset: number, maxEntries: number, maxBytes: number): Entry[];
  /**
   * The largest epoch <= `epoch` in this log's history and the offset where it ends (the start of the next
   * epoch, or the log end). `null` when `epoch` is older than the snapshot, so the answer is unknown.
   */
  endOffsetForEpoch(epoch: number): OffsetAndEpoch | null;
  append(entries: readonly Entry[]): void;
  /** Drop every entry at or above `offset`. */
  truncateTo(offset: number): void;
  /** A snapshot now covers [0, id.endOffset): drop the entries below it. */
  compact(id: SnapshotId): void;
  /** Replace everything with a fetched snapshot: the log becomes empty, starting at id.endOffset. */
  resetTo(id: SnapshotId): void;
}

interface EpochStart {
  epoch: number;
  startOffset: number;
}

export class MemoryRaftLog implements RaftLog {
  #entries: Entry[] = [];
  #startOffset = 0;
  #snapshotId: SnapshotId | null = null;
  /** One element per epoch present in #entries, ascending; the epoch cache Kafka keeps in leader-epoch-checkpoint. */
  #epochs: EpochStart[] = [];

  constructor(snapshotId: SnapshotId | null = null, entries: readonly Entry[] = []) {
    if (snapshotId) {
      assert(snapshotId.endOffset > 0 && snapshotId.epoch > 0, () => `bad snapshot id ${JSON.stringify(snapshotId)}`);
      this.#snapshotId = snapshotId;
      this.#startOffset = snapshotId.endOffset;
    }
    this.append(entries);
  }

  get startOffset(): number {
    return this.#startOffset;
  }

  get endOffset(): number {
    return this.#startOffset + this.#entries.length;
  }

  get snapshotId(): SnapshotId | null {
    return this.#snapshotId;
  }

  lastEpoch(): number {
    const last = this.#entries[this.#entries.length - 1];
    if (last) return last.epoch;
    return this.#snapshotId?.epoch ?? 0;
  }

  entryAt(offset: number): Entry {
    assert(offset >= this.#startOffset && offset < this.endOffset, () => `offset ${offset} outside [${this.#startOffset}, ${this.endOffset})`);
    return this.#entries[offset - this.#startOffset]!;
  }

  read(fromOffset: number, maxEntries: number, maxBytes: number): Entry[] {
    assert(fromOffset >= this.#startOffset && fromOffset <= this.endOffset, () => `read from ${fromOffset} outside [${this.#startOffset}, ${this.endOffset}]`);
    assert(maxEntries > 0 && maxBytes > 0, 'read bounds must be positive');
    const out: Entry[] = [];
    let bytes = 0;
    for (let offset = fromOffset; offset < this.endOffset && out.length < maxEntries; offset++) {
      const entry = this.#entries[offset - this.#startOffset]!;
      const size = entrySizeBytes(entry);
      if (out.length > 0 && bytes + size > maxBytes) break;
      out.push(entry);
      bytes += size;
    }
    return out;
  }

  endOffsetForEpoch(epoch: number): OffsetAndEpoch | null {
    const last = this.lastEpoch();
    if (epoch >= last) return { epoch: last, offset: this.endOffset };
    // Largest cached epoch <= epoch; the epoch list is short (one element per leader change), scan from the end.
    for (let i = this.#epochs.length - 1; i >= 0; i--) {
      const e = this.#epochs[i]!;
      if (e.epoch <= epoch) {
        const next = this.#epochs[i + 1];
        assert(next !== undefined, 'an epoch below the last must have a successor');
        return { epoch: e.epoch, offset: next.startOffset };
      }
    }
    // Every retained entry has a larger epoch. What precedes the log is the snapshot (or nothing).
    if (this.#snapshotId === null) return { epoch: 0, offset: 0 };
    if (epoch >= this.#snapshotId.epoch) return { epoch: this.#snapshotId.epoch, offset: this.#startOffset };
    return null;
  }

  append(entries: readonly Entry[]): void {
    for (const entry of entries) {
      assert(entry.offset === this.endOffset, () => `append at ${entry.offset}, log ends at ${this.endOffset}`);
      const last = this.lastEpoch();
      assert(entry.epoch >= last && entry.epoch > 0, () => `append epoch ${entry.epoch} after epoch ${last}`);
      const tail = this.#epochs[this.#epochs.length - 1];
      if (tail === undefined || tail.epoch !== entry.epoch) this.#epochs.push({ epoch: entry.epoch, startOffset: entry.offset });
      this.#entries.push(entry);
    }
  }

  truncateTo(offset: number): void {
    assert(offset >= this.#startOffset, () => `truncate to ${offset} below log start ${this.#startOffset}`);
    if (offset >= this.endOffset) return;
    this.#entries.length = offset - this.#startOffset;
    while (this.#epochs.length > 0 && this.#epochs[this.#epochs.length - 1]!.startOffset >= offset) this.#epochs.pop();
  }

  compact(id: SnapshotId): void {
    assert(id.endOffset > this.#startOffset && id.endOffset <= this.endOffset, () => `compact to ${id.endOffset} outside (${this.#startOffset}, ${this.endOffset}]`);
    assert(this.entryAt(id.endOffset - 1).epoch === id.epoch, () => `snapshot epoch ${id.epoch} does not match entry ${id.endOffset - 1}`);
    this.#entries = this.#entries.slice(id.endOffset - this.#startOffset);
    this.#startOffset = id.endOffset;
    this.#snapshotId = id;
    this.#epochs = this.#epochs.filter((e, i) => {
      const next = this.#epochs[i + 1];
      return next === undefined ? true : next.startOffset > id.endOffset;
    });
    const first = this.#epochs[0];
    if (first) {
      if (this.#entries.length === 0) this.#epochs = [];
      else if (first.startOffset < id.endOffset) first.startOffset = id.endOffset;
    }
  }

  resetTo(id: SnapshotId): void {
    assert(id.endOffset > 0 && id.epoch > 0, () => `bad snapshot id ${JSON.stringify(id)}`);
    this.#entries = [];
    this.#epochs = [];
    this.#startOffset = id.endOffset;
    this.#snapshotId = id;
  }
}
