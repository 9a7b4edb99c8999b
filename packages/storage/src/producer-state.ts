/**
 * ProducerStateManager: idempotent-producer state of one partition (Kafka's ProducerStateManager, without
 * transactions). Per producer id: the producer epoch, the last `PRODUCER_BATCHES_RETAINED` batches
 * (firstSeq, lastSeq, lastOffset, offsetDelta, timestamp) and the last batch timestamp (for expiry).
 *
 * - `check` is the leader's pure test before appending a client batch (Kafka's duplicate lookup + checkProducerEpoch +
 *   checkSequence for the client origin): a batch equal in epoch and sequence range to one of the retained ones is a
 *   duplicate (acked with the original offsets, not appended); a lower epoch is fenced (INVALID_PRODUCER_EPOCH); a
 *   higher epoch must start at sequence 0; the same epoch must continue at lastSeq + 1 (2^31-1 wraps to 0). A batch
 *   AHEAD of that (a higher epoch not at 0, or the same epoch past lastSeq + 1) is a `SEQUENCE_GAP`: an earlier batch
 *   of the producer is missing (refused before it was appended, e.g. by a broker that was not yet serving as leader,
 *   or still on its way). Kafka answers OUT_OF_ORDER_SEQUENCE_NUMBER there, which makes librdkafka bump the producer
 *   epoch and re-send every possibly persisted batch under the new epoch, i.e. duplicate it; the broker answers a gap
 *   with a retriable error instead (see the produce handler). A batch BEHIND (not a retained duplicate) is out of
 *   order. As in
 *   Kafka since KIP-360, a producer id with no state (new, expired, or its batches removed) may start at any
 *   sequence: the broker never answers UNKNOWN_PRODUCER_ID for produce, and neither does this check.
 * - `update` applies an appended batch without validation (the leader validated it; a follower takes the leader's
 *   word), so leader and follower paths and the replay at open build the same state from the same batches.
 * - Bounded: at most `maxProducers` ids. `check` refuses a new id past it (TOO_MANY_PRODUCERS); `update` (follower,
 *   replay) cannot refuse data already in the leader's log, so it evicts the producer idle the longest.
 *
 * Snapshot file `<20-digit offset>.snapshot` (our own format, big-endian), the state after every batch below offset:
 *   version int16 (=1), crc uint32 (CRC-32C of every byte after this field), offset int64, producerCount int32,
 *   per producer: producerId int64, producerEpoch int16, lastTimestamp int64, batchCount int8,
 *     per batch: firstSeq int32, lastSeq int32, lastOffset int64, offsetDelta int32, timestamp int64.
 * Written atomically (temp + fsync + rename + fsync dir) by the log; a file that fails any check is ignored.
 *
 * Concurrency: mutated only from the PartitionLog writer queue; `check` and the getters are synchronous.
 */
import { crc32c } from '@node-rs/crc32';
import { assert } from '@tributary/common';
import { lastSequenceOf, readInt64, writeInt64 } from './batch-format.ts';
import { joinPath, writeFileAtomic, type FileSystem } from './fs/file-system.ts';
import { parseSegmentFileName, segmentFileName } from './log-segment.ts';

export const PRODUCER_BATCHES_RETAINED = 5;
export const SNAPSHOT_SUFFIX = '.snapshot';
const SNAPSHOT_VERSION = 1;
const HEADER_BYTES = 18;
const PRODUCER_BYTES = 19;
const BATCH_BYTES = 28;
const MAX_SEQUENCE = 0x7fffffff;

export interface ProducerBatchMetadata {
  firstSeq: number;
  lastSeq: number;
  lastOffset: number;
  offsetDelta: number;
  timestamp: number;
}

export interface ProducerEntry {
  producerId: number;
  producerEpoch: number;
  /** Oldest first, at most PRODUCER_BATCHES_RETAINED. */
  batches: ProducerBatchMetadata[];
  lastTimestamp: number;
}

/** The producer fields of an appended batch (what `update` needs). */
export interface ProducerBatch {
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  baseOffset: number;
  lastOffsetDelta: number;
  maxTimestamp: number;
}

export type ProducerCheckError = 'OUT_OF_ORDER_SEQUENCE_NUMBER' | 'SEQUENCE_GAP' | 'INVALID_PRODUCER_EPOCH' | 'TOO_MANY_PRODUCERS';

export type ProducerCheck =
  | { kind: 'ok' }
  /** Already in the log: ack with these offsets, do not append. */
  | { kind: 'duplicate'; firstOffset: number; lastOffset: number; timestamp: number }
  | { kind: 'error'; error: ProducerCheckError; message: string };

/** A client batch for a new producer id would exceed the per-partition bound. */
export class TooManyProducersError extends Error {
  override name = 'TooManyProducersError';
}

function inSequence(lastSeq: number, nextSeq: number): boolean {
  return nextSeq === lastSeq + 1 || (nextSeq === 0 && lastSeq === MAX_SEQUENCE);
}

/**
 * Whether `firstSeq` lies ahead of `lastSeq + 1` (batches in between are missing) rather than behind it, in the
 * sequence space that wraps at 2^31: ahead = less than half the space forward.
 */
function isAhead(lastSeq: number, firstSeq: number): boolean {
  const distance = (firstSeq - lastSeq - 1 + MAX_SEQUENCE + 1) % (MAX_SEQUENCE + 1);
  return distance > 0 && distance < (MAX_SEQUENCE + 1) / 2;
}

export class ProducerStateManager {
  readonly maxProducers: number;
  #producers = new Map<number, ProducerEntry>();

  constructor(maxProducers: number) {
    assert(Number.isInteger(maxProducers) && maxProducers >= 1, `maxProducers must be >= 1, got ${maxProducers}`);
    this.maxProducers = maxProducers;
  }

  get size(): number {
    return this.#producers.size;
  }

  has(producerId: number): boolean {
    return this.#producers.has(producerId);
  }

  entry(producerId: number): Readonly<ProducerEntry> | undefined {
    return this.#producers.get(producerId);
  }

  /** Every entry, by producer id (copies: for tests, tools and snapshots). */
  entries(): ProducerEntry[] {
    return [...this.#producers.values()]
      .sort((a, b) => a.producerId - b.producerId)
      .map((e) => ({ ...e, batches: e.batches.map((b) => ({ ...b })) }));
  }

  check(producerId: number, producerEpoch: number, firstSeq: number, lastSeq: number): ProducerCheck {
    assert(Number.isSafeInteger(producerId) && producerId >= 0, `check: bad producer id ${producerId}`);
    assert(Number.isInteger(producerEpoch) && producerEpoch >= 0 && producerEpoch <= 0x7fff, `check: bad producer epoch ${producerEpoch}`);
    assert(Number.isInteger(firstSeq) && firstSeq >= 0 && firstSeq <= MAX_SEQUENCE, `check: bad first sequence ${firstSeq}`);
    assert(Number.isInteger(lastSeq) && lastSeq >= 0 && lastSeq <= MAX_SEQUENCE, `check: bad last sequence ${lastSeq}`);
    const entry = this.#producers.get(producerId);
    if (entry === undefined) {
      if (this.#producers.size >= this.maxProducers) {
        return {
          kind: 'error',
          error: 'TOO_MANY_PRODUCERS',
          message: `partition already tracks ${this.#producers.size} producer ids (the maximum); producer ${producerId} must wait until idle ones expire`,
        };
      }
      return { kind: 'ok' };
    }
    if (producerEpoch === entry.producerEpoch) {
      const dup = entry.batches.find((b) => b.firstSeq === firstSeq && b.lastSeq === lastSeq);
      if (dup !== undefined) return { kind: 'duplicate', firstOffset: dup.lastOffset - dup.offsetDelta, lastOffset: dup.lastOffset, timestamp: dup.timestamp };
    }
    if (producerEpoch < entry.producerEpoch) {
      return {
        kind: 'error',
        error: 'INVALID_PRODUCER_EPOCH',
        message: `producer ${producerId} epoch ${producerEpoch} is below the current epoch ${entry.producerEpoch} (fenced)`,
      };
    }
    if (producerEpoch !== entry.producerEpoch) {
      if (firstSeq !== 0) {
        // A new epoch starts at 0: a later batch of it arrived first (its first batch was refused or is on its way).
        return {
          kind: 'error',
          error: 'SEQUENCE_GAP',
          message: `producer ${producerId}: new epoch ${producerEpoch} starts at sequence 0 but sequence ${firstSeq} arrived first (current epoch ${entry.producerEpoch}); nothing was appended: retry after the earlier batches`,
        };
      }
      return { kind: 'ok' };
    }
    const currentLastSeq = entry.batches.at(-1)?.lastSeq;
    // An entry without batches (loaded from a snapshot of a producer whose batches were all removed) accepts any.
    if (currentLastSeq !== undefined && !inSequence(currentLastSeq, firstSeq)) {
      if (isAhead(currentLastSeq, firstSeq)) {
        return {
          kind: 'error',
          error: 'SEQUENCE_GAP',
          message: `producer ${producerId} epoch ${producerEpoch}: sequence ${firstSeq} arrived but the log ends at sequence ${currentLastSeq}; nothing was appended: retry after the earlier batches`,
        };
      }
      return {
        kind: 'error',
        error: 'OUT_OF_ORDER_SEQUENCE_NUMBER',
        message: `producer ${producerId} epoch ${producerEpoch}: sequence ${firstSeq} does not follow ${currentLastSeq}`,
      };
    }
    return { kind: 'ok' };
  }

  /**
   * Applies an appended batch (no validation: see the header). Returns the producer id evicted to stay within the
   * bound, or null.
   */
  update(batch: ProducerBatch): number | null {
    const { producerId, producerEpoch, baseSequence, baseOffset, lastOffsetDelta, maxTimestamp } = batch;
    assert(Number.isSafeInteger(producerId) && producerId >= 0, `update: bad producer id ${producerId}`);
    let evicted: number | null = null;
    let entry = this.#producers.get(producerId);
    if (entry === undefined) {
      if (this.#producers.size >= this.maxProducers) evicted = this.#evictIdlest();
      entry = { producerId, producerEpoch, batches: [], lastTimestamp: maxTimestamp };
      this.#producers.set(producerId, entry);
    }
    if (entry.producerEpoch !== producerEpoch) {
      // A new epoch starts a new sequence space (Kafka's ProducerStateEntry.addBatch).
      entry.producerEpoch = producerEpoch;
      entry.batches = [];
    }
    const lastSeq = lastSequenceOf(baseSequence, lastOffsetDelta);
    entry.batches.push({ firstSeq: baseSequence, lastSeq, lastOffset: baseOffset + lastOffsetDelta, offsetDelta: lastOffsetDelta, timestamp: maxTimestamp });
    if (entry.batches.length > PRODUCER_BATCHES_RETAINED) entry.batches.shift();
    entry.lastTimestamp = maxTimestamp;
    return evicted;
  }

  #evictIdlest(): number {
    let idlest: ProducerEntry | null = null;
    for (const entry of this.#producers.values()) if (idlest === null || entry.lastTimestamp < idlest.lastTimestamp) idlest = entry;
    assert(idlest !== null, 'evict from an empty producer map');
    this.#producers.delete(idlest.producerId);
    return idlest.producerId;
  }

  /** Drops producers whose last batch is at least `expirationMs` old (producer.id.expiration.ms); returns how many. */
  removeExpired(nowMs: number, expirationMs: number): number {
    let removed = 0;
    for (const [id, entry] of this.#producers) {
      if (nowMs - entry.lastTimestamp >= expirationMs) {
        this.#producers.delete(id);
        removed++;
      }
    }
    return removed;
  }

  clear(): void {
    this.#producers.clear();
  }

  /** Replaces the state with decoded snapshot entries. */
  load(entries: readonly ProducerEntry[]): void {
    this.#producers.clear();
    for (const e of entries) this.#producers.set(e.producerId, { ...e, batches: e.batches.map((b) => ({ ...b })) });
  }

  encodeSnapshot(offset: number): Buffer {
    const entries = [...this.#producers.values()];
    let size = HEADER_BYTES;
    for (const e of entries) size += PRODUCER_BYTES + e.batches.length * BATCH_BYTES;
    const buf = Buffer.alloc(size);
    buf.writeInt16BE(SNAPSHOT_VERSION, 0);
    writeInt64(buf, offset, 6);
    buf.writeInt32BE(entries.length, 14);
    let pos = HEADER_BYTES;
    for (const e of entries) {
      writeInt64(buf, e.producerId, pos);
      buf.writeInt16BE(e.producerEpoch, pos + 8);
      writeInt64(buf, e.lastTimestamp, pos + 10);
      buf.writeInt8(e.batches.length, pos + 18);
      pos += PRODUCER_BYTES;
      for (const b of e.batches) {
        buf.writeInt32BE(b.firstSeq, pos);
        buf.writeInt32BE(b.lastSeq, pos + 4);
        writeInt64(buf, b.lastOffset, pos + 8);
        buf.writeInt32BE(b.offsetDelta, pos + 16);
        writeInt64(buf, b.timestamp, pos + 20);
        pos += BATCH_BYTES;
      }
    }
    buf.writeUInt32BE(crc32c(buf.subarray(6)), 2);
    return buf;
  }

  /** Parses a snapshot; null unless it is complete, checks out and was taken at `offset`. */
  static decodeSnapshot(buf: Buffer, offset: number): ProducerEntry[] | null {
    try {
      if (buf.length < HEADER_BYTES || buf.readInt16BE(0) !== SNAPSHOT_VERSION) return null;
      if (buf.readUInt32BE(2) !== crc32c(buf.subarray(6))) return null;
      if (readInt64(buf, 6) !== offset) return null;
      const count = buf.readInt32BE(14);
      if (count < 0 || count > (buf.length - HEADER_BYTES) / PRODUCER_BYTES) return null;
      const entries: ProducerEntry[] = [];
      let pos = HEADER_BYTES;
      for (let i = 0; i < count; i++) {
        if (pos + PRODUCER_BYTES > buf.length) return null;
        const producerId = readInt64(buf, pos);
        const producerEpoch = buf.readInt16BE(pos + 8);
        const lastTimestamp = readInt64(buf, pos + 10);
        const batchCount = buf.readInt8(pos + 18);
        pos += PRODUCER_BYTES;
        if (producerId < 0 || batchCount < 0 || batchCount > PRODUCER_BATCHES_RETAINED || pos + batchCount * BATCH_BYTES > buf.length) return null;
        const batches: ProducerBatchMetadata[] = [];
        for (let j = 0; j < batchCount; j++) {
          batches.push({
            firstSeq: buf.readInt32BE(pos),
            lastSeq: buf.readInt32BE(pos + 4),
            lastOffset: readInt64(buf, pos + 8),
            offsetDelta: buf.readInt32BE(pos + 16),
            timestamp: readInt64(buf, pos + 20),
          });
          pos += BATCH_BYTES;
        }
        entries.push({ producerId, producerEpoch, batches, lastTimestamp });
      }
      return pos === buf.length ? entries : null;
    } catch {
      // readInt64 asserts on unsafe values: a CRC collision with garbage is still just a bad file.
      return null;
    }
  }
}

export function snapshotPath(dir: string, offset: number): string {
  return joinPath(dir, segmentFileName(offset, SNAPSHOT_SUFFIX));
}

/** Offsets of the `.snapshot` files in `dir`, ascending. */
export async function listSnapshotOffsets(fs: FileSystem, dir: string): Promise<number[]> {
  const offsets: number[] = [];
  for (const name of await fs.readdir(dir)) {
    const offset = parseSegmentFileName(name, SNAPSHOT_SUFFIX);
    if (offset !== null) offsets.push(offset);
  }
  return offsets.sort((a, b) => a - b);
}

export async function writeProducerSnapshot(fs: FileSystem, dir: string, offset: number, state: ProducerStateManager): Promise<void> {
  await writeFileAtomic(fs, snapshotPath(dir, offset), state.encodeSnapshot(offset));
}

/** The entries of the snapshot at `offset`, or null when it is missing, torn or corrupt. */
export async function readProducerSnapshot(fs: FileSystem, dir: string, offset: number): Promise<ProducerEntry[] | null> {
  try {
    return ProducerStateManager.decodeSnapshot(await fs.readFile(snapshotPath(dir, offset)), offset);
  } catch {
    return null;
  }
}
