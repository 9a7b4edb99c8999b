/**
 * MemLog: an in-memory replica log of (offset, epoch, value) records with a leader-epoch cache (Kafka's
 * LeaderEpochFileCache semantics) and a durable prefix, for the unit tests and the simulation. A crash keeps only the
 * flushed prefix, as a real disk after power loss.
 */
import { assert } from '@tributary/common';
import type { EpochEndOffset, ReplicaLogView } from '../src/index.ts';

export interface MemRecord {
  readonly epoch: number;
  readonly value: string;
}

export interface EpochEntry {
  readonly epoch: number;
  readonly startOffset: number;
}

export class MemLog implements ReplicaLogView {
  #startOffset = 0;
  #records: MemRecord[] = [];
  #epochs: EpochEntry[] = [];
  #flushed = 0;
  /** The durable epoch cache (a checkpoint written with each flush). */
  #flushedEpochs: EpochEntry[] = [];

  logStartOffset(): number {
    return this.#startOffset;
  }
  logEndOffset(): number {
    return this.#startOffset + this.#records.length;
  }
  flushedOffset(): number {
    return this.#flushed;
  }
  latestEpoch(): number {
    return this.#epochs.at(-1)?.epoch ?? -1;
  }
  get epochs(): readonly EpochEntry[] {
    return this.#epochs;
  }

  /** Kafka's LeaderEpochFileCache.endOffsetFor. */
  endOffsetForEpoch(epoch: number): EpochEndOffset {
    const undefinedEnd = { epoch: -1, endOffset: -1 };
    if (epoch === -1) return undefinedEnd;
    const latest = this.#epochs.at(-1);
    if (latest !== undefined && latest.epoch === epoch) return { epoch, endOffset: this.logEndOffset() };
    const higher = this.#epochs.find((e) => e.epoch > epoch);
    if (higher === undefined) return undefinedEnd;
    const floor = this.#epochs.filter((e) => e.epoch <= epoch).at(-1);
    return floor === undefined ? { epoch, endOffset: higher.startOffset } : { epoch: floor.epoch, endOffset: higher.startOffset };
  }

  record(offset: number): MemRecord | undefined {
    return this.#records[offset - this.#startOffset];
  }

  read(fromOffset: number, maxRecords: number): { offset: number; record: MemRecord }[] {
    const out: { offset: number; record: MemRecord }[] = [];
    for (let o = fromOffset; o < this.logEndOffset() && out.length < maxRecords; o++) out.push({ offset: o, record: this.record(o)! });
    return out;
  }

  /** Kafka's assign: a new epoch starts at the log end (on becoming leader, or with the first record of that epoch). */
  assignEpoch(epoch: number, startOffset = this.logEndOffset()): void {
    const latest = this.#epochs.at(-1);
    if (latest !== undefined && latest.epoch === epoch) return;
    // Entries that start at or after the new one were epochs led without writing: the new epoch replaces them.
    this.#epochs = this.#epochs.filter((e) => e.startOffset < startOffset);
    const last = this.#epochs.at(-1);
    assert(last === undefined || last.epoch < epoch, () => `epoch ${epoch} at ${startOffset} after epoch ${last?.epoch}`);
    this.#epochs.push({ epoch, startOffset });
  }

  append(offset: number, record: MemRecord): void {
    assert(offset === this.logEndOffset(), () => `append at ${offset} but the log ends at ${this.logEndOffset()}`);
    this.assignEpoch(record.epoch, offset);
    this.#records.push(record);
  }

  truncateTo(offset: number): void {
    assert(offset >= this.#startOffset, () => `truncate to ${offset} below log start ${this.#startOffset}`);
    if (offset < this.logEndOffset()) this.#records.length = offset - this.#startOffset;
    this.#epochs = this.#epochs.filter((e) => e.startOffset < offset);
    this.#flushed = Math.min(this.#flushed, this.logEndOffset());
    // Truncation is made durable at once (Kafka rewrites the epoch checkpoint when it truncates).
    this.#flushedEpochs = this.#flushedEpochs.filter((e) => e.startOffset < offset);
  }

  truncateFullyAndStartAt(offset: number): void {
    this.#records = [];
    this.#epochs = [];
    this.#flushedEpochs = [];
    this.#startOffset = offset;
    this.#flushed = offset;
  }

  /** fsync up to `offset` (group commit: everything appended before the flush began). */
  flush(offset: number): void {
    const to = Math.min(offset, this.logEndOffset());
    if (to <= this.#flushed) return;
    this.#flushed = to;
    this.#flushedEpochs = this.#epochs.filter((e) => e.startOffset <= to).map((e) => ({ ...e }));
  }

  /** A crash: everything not flushed is gone. */
  crash(): void {
    this.#records.length = this.#flushed - this.#startOffset;
    this.#epochs = this.#flushedEpochs.filter((e) => e.startOffset <= this.#flushed).map((e) => ({ ...e }));
  }
}
