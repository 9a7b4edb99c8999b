/**
 * LeaderEpochCache: the partition's leader-epoch history (Kafka KIP-101/279), one (epoch, startOffset) entry per
 * leader epoch that wrote into the retained log: the first offset written in that epoch. It answers
 * OffsetsForLeaderEpoch (`endOffsetFor`) so a follower can find where its log diverges from the leader's.
 *
 * Rules (as Kafka's LeaderEpochFileCache):
 * - `assign(epoch, startOffset)` is called for every appended batch with its partition leader epoch (>= 0). It adds an
 *   entry when the epoch differs from the latest one (or the offset is below the latest entry's start); entries with
 *   an epoch >= the new one or a start offset >= the new one are removed first, so epochs and start offsets stay
 *   strictly increasing.
 * - `truncateFromEnd(end)` removes entries starting at or after `end` (log truncation).
 * - `truncateFromStart(start)` removes entries before the new log start except the last one, which is clipped to
 *   start there (retention, deleteRecords).
 *
 * On disk: `leader-epoch-checkpoint`, text (our own format, Kafka's plus a version and a checksum):
 *   `1\n<count>\n<epoch> <startOffset>\n...crc <CRC-32C of every byte before this line>\n`
 * written atomically (temp + fsync + rename + fsync dir). A file that does not parse, fails its CRC or breaks the
 * ordering rules is treated as missing, and the log rebuilds the cache from its batches.
 *
 * Bounds: at most one entry per leader epoch still in the log; entries below the log start are clipped away.
 * Concurrency: mutated only from the PartitionLog writer queue; reads are synchronous.
 */
import { crc32c } from '@node-rs/crc32';
import { assert } from '@tributary/common';
import { joinPath, writeFileAtomic, type FileSystem } from './fs/file-system.ts';

export const LEADER_EPOCH_CHECKPOINT_FILE = 'leader-epoch-checkpoint';
export const UNDEFINED_EPOCH = -1;
export const UNDEFINED_EPOCH_OFFSET = -1;
const FORMAT_VERSION = 1;
/** Sanity bound when parsing: a file claiming more entries than this is corrupt. */
const MAX_FILE_ENTRIES = 1 << 20;

export interface EpochEntry {
  epoch: number;
  startOffset: number;
}

export interface EpochEndOffset {
  /** The largest known epoch <= the requested one (the requested one when below every entry); -1 if undefined. */
  epoch: number;
  /** Where that epoch ends: the next epoch's start offset, or the log end for the latest epoch; -1 if undefined. */
  endOffset: number;
}

export class LeaderEpochCache {
  #entries: EpochEntry[];

  constructor(entries: readonly EpochEntry[] = []) {
    assert(isWellFormed(entries), 'leader epoch entries must have strictly increasing epochs and start offsets');
    this.#entries = entries.map((e) => ({ ...e }));
  }

  get entries(): readonly Readonly<EpochEntry>[] {
    return this.#entries;
  }

  /** Latest epoch in the cache, or -1 when empty. */
  get latestEpoch(): number {
    return this.#entries.at(-1)?.epoch ?? UNDEFINED_EPOCH;
  }

  /** Earliest epoch in the cache, or -1 when empty. */
  get earliestEpoch(): number {
    return this.#entries[0]?.epoch ?? UNDEFINED_EPOCH;
  }

  /** Records that `epoch` wrote at `startOffset`; true if the cache changed (then it must be written). */
  assign(epoch: number, startOffset: number): boolean {
    assert(Number.isInteger(epoch) && epoch >= 0 && epoch <= 0x7fffffff, `assign: bad leader epoch ${epoch}`);
    assert(Number.isSafeInteger(startOffset) && startOffset >= 0, `assign: bad start offset ${startOffset}`);
    const latest = this.#entries.at(-1);
    if (latest !== undefined && latest.epoch === epoch && startOffset >= latest.startOffset) return false;
    // Bounded by the number of entries.
    while (this.#entries.length > 0) {
      const last = this.#entries.at(-1)!;
      if (last.epoch < epoch && last.startOffset < startOffset) break;
      this.#entries.pop();
    }
    this.#entries.push({ epoch, startOffset });
    return true;
  }

  /** Drops entries starting at or after `endOffset`; true if any went. */
  truncateFromEnd(endOffset: number): boolean {
    const before = this.#entries.length;
    while (this.#entries.length > 0 && this.#entries.at(-1)!.startOffset >= endOffset) this.#entries.pop();
    return this.#entries.length !== before;
  }

  /** Drops entries below the new log start, keeping the last of them clipped to start there; true if it changed. */
  truncateFromStart(startOffset: number): boolean {
    let below = 0;
    while (below < this.#entries.length && this.#entries[below]!.startOffset <= startOffset) below++;
    if (below === 0) return false;
    const kept = this.#entries[below - 1]!;
    if (below === 1 && kept.startOffset === startOffset) return false;
    this.#entries = [{ epoch: kept.epoch, startOffset }, ...this.#entries.slice(below)];
    return true;
  }

  clear(): boolean {
    const changed = this.#entries.length > 0;
    this.#entries = [];
    return changed;
  }

  /**
   * OffsetsForLeaderEpoch, exactly as Kafka answers it:
   * - requested epoch undefined (-1), above every entry, or the cache empty: (-1, -1);
   * - the latest epoch: (epoch, logEndOffset);
   * - below the first entry: (requested epoch, the first entry's start offset): the data before it is gone, the
   *   follower should replicate from there;
   * - otherwise: (largest epoch <= requested, start offset of the next epoch).
   */
  endOffsetFor(requestedEpoch: number, logEndOffset: number): EpochEndOffset {
    const undefinedAnswer = { epoch: UNDEFINED_EPOCH, endOffset: UNDEFINED_EPOCH_OFFSET };
    if (requestedEpoch === UNDEFINED_EPOCH || this.#entries.length === 0) return undefinedAnswer;
    if (requestedEpoch === this.latestEpoch) return { epoch: requestedEpoch, endOffset: logEndOffset };
    // First entry with an epoch above the requested one (entries are sorted by epoch).
    let higher = 0;
    while (higher < this.#entries.length && this.#entries[higher]!.epoch <= requestedEpoch) higher++;
    if (higher === this.#entries.length) return undefinedAnswer;
    if (higher === 0) return { epoch: requestedEpoch, endOffset: this.#entries[0]!.startOffset };
    return { epoch: this.#entries[higher - 1]!.epoch, endOffset: this.#entries[higher]!.startOffset };
  }

  /** The checkpoint file's bytes. */
  encode(): Buffer {
    let body = `${FORMAT_VERSION}\n${this.#entries.length}\n`;
    for (const e of this.#entries) body += `${e.epoch} ${e.startOffset}\n`;
    return Buffer.from(`${body}crc ${crc32c(Buffer.from(body))}\n`);
  }

  /** Parses a checkpoint file; null when it is not a complete, valid one. */
  static decode(bytes: Buffer): EpochEntry[] | null {
    const text = bytes.toString('latin1');
    const crcAt = text.lastIndexOf('crc ');
    if (crcAt < 0 || !text.endsWith('\n')) return null;
    const body = text.slice(0, crcAt);
    const crc = Number(text.slice(crcAt + 4, -1));
    if (!Number.isInteger(crc) || crc !== crc32c(Buffer.from(body, 'latin1'))) return null;
    const lines = body.split('\n');
    // version, count, entries..., '' after the final newline
    if (lines.length < 3 || lines[0] !== String(FORMAT_VERSION)) return null;
    const count = Number(lines[1]);
    if (!Number.isInteger(count) || count < 0 || count > MAX_FILE_ENTRIES || lines.length !== count + 3) return null;
    const entries: EpochEntry[] = [];
    for (let i = 0; i < count; i++) {
      const parts = lines[i + 2]!.split(' ');
      if (parts.length !== 2) return null;
      const epoch = Number(parts[0]);
      const startOffset = Number(parts[1]);
      if (!Number.isInteger(epoch) || epoch < 0 || epoch > 0x7fffffff || !Number.isSafeInteger(startOffset) || startOffset < 0) return null;
      entries.push({ epoch, startOffset });
    }
    return isWellFormed(entries) ? entries : null;
  }
}

function isWellFormed(entries: readonly EpochEntry[]): boolean {
  for (let i = 1; i < entries.length; i++) {
    if (entries[i]!.epoch <= entries[i - 1]!.epoch || entries[i]!.startOffset <= entries[i - 1]!.startOffset) return false;
  }
  return true;
}

/** Reads `leader-epoch-checkpoint`; null when missing or not valid (the caller rebuilds from the log). */
export async function readLeaderEpochCheckpoint(fs: FileSystem, dir: string): Promise<EpochEntry[] | null> {
  const path = joinPath(dir, LEADER_EPOCH_CHECKPOINT_FILE);
  if (!(await fs.exists(path))) return null;
  try {
    return LeaderEpochCache.decode(await fs.readFile(path));
  } catch {
    return null;
  }
}

export async function writeLeaderEpochCheckpoint(fs: FileSystem, dir: string, cache: LeaderEpochCache): Promise<void> {
  await writeFileAtomic(fs, joinPath(dir, LEADER_EPOCH_CHECKPOINT_FILE), cache.encode());
}
