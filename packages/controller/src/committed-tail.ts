/**
 * CommittedTail: the recent committed metadata entries an active controller serves to FetchMetadata, in memory and
 * bounded (entries and bytes; the oldest go first). It covers [startOffset, endOffset): every data entry with an
 * offset in that range is here (leader-change entries are not metadata and are left out, so offsets may skip). A
 * follower asking below startOffset gets a snapshot of the committed image instead (quorum-controller.ts).
 *
 * Why not read the Raft log: the driver owns the log's read window and loads into it in its pump; a second reader
 * would evict what the pump just loaded. Entries are copied in, so a tail entry never pins a larger storage buffer.
 */
import { assert } from '@tributary/common';
import type { MetadataEntry } from './api.ts';

export interface TailLimits {
  maxEntries: number;
  maxBytes: number;
}

export const defaultTailLimits: Readonly<TailLimits> = Object.freeze({ maxEntries: 100_000, maxBytes: 64 * 1024 * 1024 });

export class CommittedTail {
  readonly #limits: TailLimits;
  #entries: MetadataEntry[] = [];
  #head = 0;
  #bytes = 0;
  #start = 0;
  #end = 0;

  constructor(limits: Partial<TailLimits> = {}) {
    this.#limits = { ...defaultTailLimits, ...limits };
    assert(this.#limits.maxEntries > 0 && this.#limits.maxBytes > 0, 'tail limits must be positive');
  }

  get startOffset(): number {
    return this.#start;
  }

  get endOffset(): number {
    return this.#end;
  }

  get size(): number {
    return this.#entries.length - this.#head;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** Empty, covering nothing below `offset` (after a snapshot restore). */
  reset(offset: number): void {
    this.#entries = [];
    this.#head = 0;
    this.#bytes = 0;
    this.#start = offset;
    this.#end = offset;
  }

  append(offset: number, epoch: number, records: Uint8Array): void {
    assert(offset >= this.#end, () => `tail append at ${offset} below its end ${this.#end}`);
    this.#entries.push({ offset, epoch, records: Uint8Array.prototype.slice.call(records) });
    this.#bytes += records.byteLength;
    this.#end = offset + 1;
    // Bounded: each round removes one entry.
    while (this.size > this.#limits.maxEntries || (this.#bytes > this.#limits.maxBytes && this.size > 1)) {
      const gone = this.#entries[this.#head++]!;
      this.#bytes -= gone.records.byteLength;
      this.#start = gone.offset + 1;
    }
    if (this.#head > 1024 && this.#head * 2 > this.#entries.length) {
      this.#entries = this.#entries.slice(this.#head);
      this.#head = 0;
    }
  }

  /** Everything below `offset` is applied (a leader-change entry moves the end without an entry). */
  advanceTo(offset: number): void {
    assert(offset >= this.#end, () => `tail end moving back from ${this.#end} to ${offset}`);
    this.#end = offset;
  }

  covers(from: number): boolean {
    return from >= this.#start && from <= this.#end;
  }

  /** Entries from `from` (which covers() must accept) up to about maxBytes (at least one), and where to go next. */
  read(from: number, maxBytes: number): { entries: MetadataEntry[]; nextOffset: number } {
    assert(this.covers(from), () => `tail [${this.#start}, ${this.#end}) does not cover ${from}`);
    let lo = this.#head;
    let hi = this.#entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#entries[mid]!.offset < from) lo = mid + 1;
      else hi = mid;
    }
    const out: MetadataEntry[] = [];
    let bytes = 0;
    for (let i = lo; i < this.#entries.length; i++) {
      const e = this.#entries[i]!;
      if (out.length > 0 && bytes + e.records.byteLength > maxBytes) return { entries: out, nextOffset: e.offset };
      out.push(e);
      bytes += e.records.byteLength;
    }
    return { entries: out, nextOffset: this.#end };
  }
}
