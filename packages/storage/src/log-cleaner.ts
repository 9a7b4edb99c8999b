/**
 * LogCleaner: log compaction (cleanup.policy=compact, and the compact half of compact,delete) for one PartitionLog.
 * Kafka's LogCleaner / Cleaner / LogCleanerManager semantics, with KIP-58 (min.compaction.lag.ms), KIP-354
 * (max.compaction.lag.ms) and KIP-534 (delete horizon in the batch attributes).
 *
 * A pass:
 *  1. Plan (on a snapshot of the segment array): first dirty offset = the cleaner checkpoint (reset to the log start
 *     when below it or past the log end); first uncleanable offset = min(active segment base, `uncleanableOffset`
 *     (the caller's last stable offset / high watermark), base of the first dirty segment whose max timestamp is
 *     newer than now - minCompactionLagMs). dirtyRatio = dirty bytes / (clean + dirty bytes) at segment granularity.
 *     The pass runs when dirtyRatio >= minCleanableDirtyRatio, when the oldest dirty segment's first batch is older
 *     than now - maxCompactionLagMs, or when a delete horizon recorded in the checkpoint has passed.
 *  2. Map (outside the writer queue): key → latest offset over the dirty section, whole batches only, bounded by
 *     `offsetMapBytes`; when the next batch might not fit, the map stops there and the pass cleans up to that batch
 *     (`cleanedUpToOffset`). Control batches and transactional records never enter the map (their fate is not known
 *     to storage: transactions are refused by the broker today), so they supersede nothing. The same read notes each
 *     producer id's last batch in the whole log.
 *  3. Clean (outside the writer queue): the segments below cleanedUpToOffset — all of them, from the log start, as in
 *     Kafka — in consecutive groups whose input fits in segmentBytes (and int32 relative offsets). Each group becomes
 *     one `.cleaned` segment at the group's first base offset; per record batch (CRC checked, so corruption is never
 *     re-sealed under a fresh CRC):
 *       - batches at or past cleanedUpToOffset and control batches are copied as they are;
 *       - a keyed record is dropped when the map holds a later offset for its key; a tombstone that is the latest is
 *         dropped once its batch's delete horizon passed, and otherwise kept, its batch stamped with
 *         horizon = now + deleteRetentionMs the first time it is cleaned; records without a key are kept;
 *       - an unchanged batch is copied byte for byte; a changed one is rebuilt (batch-filter.ts) keeping its offsets,
 *         producer id/epoch/base sequence, leader epoch and codec; a batch left with no record is dropped unless it is
 *         its producer's last batch in the log, which stays as an empty batch (Kafka's RETAIN_EMPTY).
 *     Offsets never change: a compacted log has gaps, which read, offsetForTimestamp, truncation and recovery handle.
 *  4. Swap (one writer-queue task per group, so appends and reads go on between groups): see the protocol below.
 *  5. Checkpoint (writer queue): cleanedOffset = cleanedUpToOffset, deleteHorizonMs = earliest horizon still pending.
 *
 * On-disk swap protocol for a group replacing segments S1..Sn (base offsets b1 < ... < bn) with cleaned segment C at b1:
 *   a. write b1.log.cleaned, b1.index.cleaned, b1.timeindex.cleaned; fsync each; fsync the directory.
 *   b. rename b1.{timeindex,index}.cleaned → .swap, then b1.log.cleaned → b1.log.swap; fsync the directory.
 *      The durable `b1.log.swap` is the COMMIT POINT.
 *   c. delete S1..Sn (rename to .deleted, unlink); fsync the directory.
 *   d. rename b1.{timeindex,index}.swap → final names; fsync the directory; rename b1.log.swap → b1.log; fsync.
 * Recovery at open (log-loader.ts), Kafka's rule: `.cleaned` files mean the swap was not committed and are deleted;
 * a `X.log.swap` means it was: every segment whose base offset lies in [X, next offset of the swap segment) is
 * deleted, X's index files are replaced by the `.swap` ones (or rebuilt from the log when those are gone), and
 * X.log.swap is renamed to X.log, each step fsynced; index `.swap` files without their log `.swap` are deleted.
 *
 * Crash-safety argument. Before the commit point, the old segments are untouched and only `.cleaned`/`.swap` index
 * files exist, which recovery deletes. After it, C is complete and durable (fsynced in step a), and recovery deletes
 * exactly the old segments whose base offsets C's records reach, then finishes the renames; every step is idempotent,
 * so a crash during recovery is recovered the same way. Old segments past C's last record (every record in them was
 * removed) may survive a crash between b and c: they are then whole, unmodified old segments with offsets beyond
 * every record of C, so offsets stay unique and each key's latest value is still present — the log is exactly as if
 * that part had not been cleaned, which the next pass redoes. Any mix of cleaned and uncleaned groups is consistent
 * too: a group drops a record only for a later record of the same key that is kept by its own group in either state,
 * and drops a tombstone only after a pass that already removed every older value of its key. The checkpoint is written
 * after the last swap; a stale one only makes the next pass re-read more. A truncation lowers it first (see
 * `onTruncated`). As in Kafka, all this assumes cleaning stays below the high watermark (`uncleanableOffset`) and
 * truncation above it: a truncation into the cleaned range can remove the record that made an older one obsolete.
 *
 * Concurrency: one pass at a time per log. The map and the cleaned files are built from an immutable snapshot of the
 * segment array without holding the writer queue; only the renames/deletes/fsyncs of a swap and the checkpoint write
 * run on it (a bounded number of metadata operations per group). A swap first checks that the group's segments are
 * still in the log, unchanged in size, and that no truncation happened since the snapshot; otherwise the pass stops
 * and its `.cleaned` files are deleted. Readers holding a replaced segment retry on the new segment array.
 */
import { assert, type Logger } from '@tributary/common';
import { BATCH_HEADER_BYTES, OFF_LAST_OFFSET_DELTA, readInt64 } from './batch-format.ts';
import {
  deleteHorizonOf,
  emptyBatch,
  isControl,
  isTransactional,
  parseStoredBatch,
  rebuildBatch,
  recordsOf,
  type RecordView,
} from './batch-filter.ts';
import { readCleanerCheckpoint, writeCleanerCheckpoint, type CleanerCheckpoint } from './cleaner-checkpoint.ts';
import type { FileSystem } from './fs/file-system.ts';
import { CLEANED_SUFFIX, LogSegment, SWAP_SUFFIX, type SegmentConfig } from './log-segment.ts';
import { OffsetMap } from './offset-map.ts';

const OFF_PRODUCER_ID = 43;
/** Default bytes for the key → offset map (Kafka's log.cleaner.dedupe.buffer.size is 128 MiB for all cleaner threads). */
export const DEFAULT_OFFSET_MAP_BYTES = 64 * 1024 * 1024;
/** Cleaned output is written to the `.cleaned` file in pieces of about this size. */
const WRITE_CHUNK_BYTES = 1 << 20;
/**
 * Latest delete horizon stamped (year ~73000: "forever"), so records' timestamp deltas from it stay within the safe
 * integer range as zigzag varlongs.
 */
const MAX_DELETE_HORIZON_MS = 2 ** 51;
/** Records decoded between two turns given back to the event loop (decoding and re-compressing are synchronous). */
const YIELD_EVERY_RECORDS = 512;
/** Producer ids tracked per pass; past it every emptied producer batch is kept (safe, slightly larger). */
const MAX_TRACKED_PRODUCERS = 1_000_000;

export interface CompactionConfig {
  /** How long a tombstone stays after the pass that first cleaned it (delete.retention.ms). */
  deleteRetentionMs: number;
  /** min.cleanable.dirty.ratio, in [0, 1]. */
  minCleanableDirtyRatio: number;
  /** min.compaction.lag.ms: segments holding a record newer than now - lag are not cleaned. */
  minCompactionLagMs: number;
  /** max.compaction.lag.ms: a dirty segment whose first batch is older than now - lag forces a pass. */
  maxCompactionLagMs: number;
  /** Offsets at or above this are never cleaned (pass the last stable offset / high watermark). Default: no bound. */
  uncleanableOffset?: number;
  /** Memory for the key → offset map. Default DEFAULT_OFFSET_MAP_BYTES. */
  offsetMapBytes?: number;
  /** Test hook: called after each step of the pass; throwing stops the pass there as a crash would. */
  failpoint?: (step: CleanerStep) => void;
}

export const CLEANER_STEPS = [
  'map-built',
  'group-written',
  'index-swap-renamed',
  'swap-committed',
  'old-segments-deleted',
  'indexes-renamed',
  'swap-finished',
  'checkpoint-written',
] as const;
export type CleanerStep = (typeof CLEANER_STEPS)[number];

export interface CompactionResult {
  cleaned: boolean;
  /** Why nothing was cleaned (null when cleaned). */
  skipped: null | 'not-dirty-enough' | 'nothing-cleanable' | 'in-progress' | 'aborted';
  dirtyRatio: number;
  firstDirtyOffset: number;
  firstUncleanableOffset: number;
  /** The new cleaner checkpoint: every key below it appears once (the next pass's first dirty offset). */
  cleanedUpToOffset: number;
  /** The map filled before the end of the dirty section. */
  mapFull: boolean;
  segmentsBefore: number;
  segmentsAfter: number;
  /** Bytes of the cleaned segments before and after. */
  bytesBefore: number;
  bytesAfter: number;
  /** Records read into the key → offset map. */
  recordsRead: number;
  recordsRemoved: number;
  tombstonesRemoved: number;
  batchesRemoved: number;
  emptyBatchesKept: number;
}

export interface CleaningStats {
  firstDirtyOffset: number;
  firstUncleanableOffset: number;
  cleanBytes: number;
  dirtyBytes: number;
  dirtyRatio: number;
  /** How far past max.compaction.lag.ms the oldest dirty segment is (0 if not). */
  maxCompactionDelayMs: number;
  /** A recorded delete horizon has passed: tombstones are due for removal. */
  deleteHorizonDue: boolean;
}

/** What the cleaner needs from its PartitionLog; every method is called as documented. */
export interface CleanerHost {
  readonly dir: string;
  readonly fs: FileSystem;
  readonly segmentConfig: SegmentConfig;
  readonly logger: Logger;
  segments(): readonly LogSegment[];
  logStartOffset(): number;
  segmentBytes(): number;
  /** Incremented by every truncation. */
  truncations(): number;
  /** Runs `fn` on the writer queue, after checking the log is open and writable. */
  exclusive<T>(fn: () => Promise<T>): Promise<T>;
  /** Writer queue only: replaces segments[index .. index+count) with `segment`. */
  replaceSegments(index: number, count: number, segment: LogSegment): void;
  /** Writer queue only: the log is inconsistent in memory; refuse writes until reopened. */
  fail(err: unknown): void;
}

class FailpointError extends Error {
  override name = 'FailpointError';
}

/** The pass must stop: a segment it reads went away, or the log is closing. */
class CleaningAborted extends Error {
  override name = 'CleaningAborted';
}

interface Group {
  segments: LogSegment[];
  sizes: number[];
}

interface PassState {
  nowMs: number;
  config: CompactionConfig;
  map: OffsetMap;
  cleanedUpTo: number;
  producerLastOffset: Map<number, number>;
  producersOverflow: boolean;
  pendingHorizonMs: number;
  truncations: number;
  result: CompactionResult;
}

export class LogCleaner {
  #host: CleanerHost;
  #checkpoint: CleanerCheckpoint;
  #running: Promise<CompactionResult> | null = null;
  #aborting = false;

  private constructor(host: CleanerHost, checkpoint: CleanerCheckpoint) {
    this.#host = host;
    this.#checkpoint = checkpoint;
  }

  /** Reads the checkpoint; one past the log end (a truncation the crash kept from reaching it) is lowered now. */
  static async load(host: CleanerHost): Promise<LogCleaner> {
    const stored = await readCleanerCheckpoint(host.fs, host.dir);
    const cleaner = new LogCleaner(host, stored ?? { cleanedOffset: 0, deleteHorizonMs: -1 });
    const logEnd = host.segments().at(-1)!.nextOffset;
    if (stored !== null && stored.cleanedOffset > logEnd) await cleaner.#write({ cleanedOffset: logEnd, deleteHorizonMs: stored.deleteHorizonMs });
    return cleaner;
  }

  get checkpoint(): Readonly<CleanerCheckpoint> {
    return this.#checkpoint;
  }

  async #write(cp: CleanerCheckpoint): Promise<void> {
    await writeCleanerCheckpoint(this.#host.fs, this.#host.dir, cp);
    this.#checkpoint = cp;
  }

  /** Writer queue only: a truncation to `logEnd` makes everything past it dirty again (Kafka's maybeTruncateCheckpoint). */
  async onTruncated(logEnd: number): Promise<void> {
    if (this.#checkpoint.cleanedOffset > logEnd) await this.#write({ ...this.#checkpoint, cleanedOffset: logEnd });
  }

  /** Stops a running pass at its next step and waits for it (close/delete). */
  async abort(): Promise<void> {
    this.#aborting = true;
    try {
      await this.#running?.catch(() => {});
    } finally {
      this.#aborting = false;
    }
  }

  stats(nowMs: number, config: Pick<CompactionConfig, 'minCompactionLagMs' | 'maxCompactionLagMs' | 'uncleanableOffset'>): CleaningStats {
    const segments = this.#host.segments();
    const active = segments.at(-1)!;
    const logStart = this.#host.logStartOffset();
    const logEnd = active.nextOffset;
    let firstDirty = this.#checkpoint.cleanedOffset;
    if (firstDirty < logStart || firstDirty > logEnd) firstDirty = logStart;
    const end = (i: number): number => (i + 1 < segments.length ? segments[i + 1]!.baseOffset : logEnd);

    let firstUncleanable = Math.min(active.baseOffset, config.uncleanableOffset ?? Number.MAX_SAFE_INTEGER);
    let earliestDirtyMs = Number.MAX_SAFE_INTEGER;
    for (let i = 0; i < segments.length - 1; i++) {
      const segment = segments[i]!;
      if (end(i) <= firstDirty) continue;
      if (config.minCompactionLagMs > 0 && segment.maxTimestamp > nowMs - config.minCompactionLagMs) {
        firstUncleanable = Math.min(firstUncleanable, segment.baseOffset);
      }
      if (segment.firstBatchTimestamp > 0) earliestDirtyMs = Math.min(earliestDirtyMs, segment.firstBatchTimestamp);
    }
    firstUncleanable = Math.max(firstUncleanable, firstDirty);

    let cleanBytes = 0;
    let dirtyBytes = 0;
    for (let i = 0; i < segments.length - 1; i++) {
      const segment = segments[i]!;
      if (segment.baseOffset < firstDirty) cleanBytes += segment.size;
      // Segment granularity, like Kafka: a segment counts as dirty only if it starts below the uncleanable offset
      // and it ends after the first dirty one; the one holding the uncleanable offset is not cleanable yet.
      if (end(i) > firstDirty && end(i) <= firstUncleanable) dirtyBytes += segment.size;
    }
    const total = cleanBytes + dirtyBytes;
    const lagMs = Math.max(0, config.maxCompactionLagMs);
    const cleanUntilMs = nowMs - lagMs;
    const maxCompactionDelayMs = earliestDirtyMs < cleanUntilMs ? cleanUntilMs - earliestDirtyMs : 0;
    const horizon = this.#checkpoint.deleteHorizonMs;
    return {
      firstDirtyOffset: firstDirty,
      firstUncleanableOffset: firstUncleanable,
      cleanBytes,
      dirtyBytes,
      dirtyRatio: total === 0 ? 0 : dirtyBytes / total,
      maxCompactionDelayMs,
      deleteHorizonDue: horizon >= 0 && nowMs >= horizon && firstDirty > logStart,
    };
  }

  compact(nowMs: number, config: CompactionConfig): Promise<CompactionResult> {
    validate(config);
    if (this.#running !== null) {
      const stats = this.stats(nowMs, config);
      return Promise.resolve(emptyResult(stats, 'in-progress'));
    }
    const run = this.#pass(nowMs, config).finally(() => {
      this.#running = null;
    });
    this.#running = run;
    return run;
  }

  async #pass(nowMs: number, config: CompactionConfig): Promise<CompactionResult> {
    const host = this.#host;
    const stats = this.stats(nowMs, config);
    const force = stats.maxCompactionDelayMs > 0 && stats.dirtyBytes > 0;
    if (!(stats.dirtyBytes > 0 && stats.dirtyRatio >= config.minCleanableDirtyRatio) && !force && !stats.deleteHorizonDue) {
      return emptyResult(stats, 'not-dirty-enough');
    }
    const segments = host.segments();
    const state: PassState = {
      nowMs,
      config,
      map: new OffsetMap(config.offsetMapBytes ?? DEFAULT_OFFSET_MAP_BYTES),
      cleanedUpTo: stats.firstDirtyOffset,
      producerLastOffset: new Map(),
      producersOverflow: false,
      pendingHorizonMs: -1,
      truncations: host.truncations(),
      result: emptyResult(stats, null),
    };
    try {
      await this.#buildMap(segments, stats, state);
      this.#step(config, 'map-built');
      if (state.cleanedUpTo === stats.firstDirtyOffset && !stats.deleteHorizonDue) {
        state.result.skipped = 'nothing-cleanable';
        return state.result;
      }
      const groups = groupSegments(segments, state.cleanedUpTo, host.segmentBytes(), host.segmentConfig);
      if (groups.length === 0) {
        state.result.skipped = 'nothing-cleanable';
        return state.result;
      }
      for (const group of groups) {
        this.#checkAbort();
        const swapped = await this.#cleanGroup(group, state);
        if (!swapped) {
          state.result.skipped = 'aborted';
          return state.result;
        }
      }
      await host.exclusive(async () => {
        if (host.truncations() !== state.truncations) throw new CleaningAborted('truncated during cleaning');
        const logEnd = host.segments().at(-1)!.nextOffset;
        await this.#write({ cleanedOffset: Math.min(state.cleanedUpTo, logEnd), deleteHorizonMs: state.pendingHorizonMs });
        this.#step(config, 'checkpoint-written');
      });
    } catch (err) {
      if (err instanceof CleaningAborted) {
        host.logger.info({ reason: err.message }, 'log cleaning aborted');
        state.result.skipped = 'aborted';
        return state.result;
      }
      throw err;
    }
    const r = state.result;
    r.cleaned = true;
    r.skipped = null;
    r.cleanedUpToOffset = state.cleanedUpTo;
    host.logger.info(
      {
        firstDirtyOffset: r.firstDirtyOffset,
        cleanedUpToOffset: r.cleanedUpToOffset,
        dirtyRatio: r.dirtyRatio,
        mapFull: r.mapFull,
        segmentsBefore: r.segmentsBefore,
        segmentsAfter: r.segmentsAfter,
        bytesBefore: r.bytesBefore,
        bytesAfter: r.bytesAfter,
        recordsRemoved: r.recordsRemoved,
        tombstonesRemoved: r.tombstonesRemoved,
      },
      'log cleaned',
    );
    return r;
  }

  #step(config: CompactionConfig, step: CleanerStep): void {
    if (config.failpoint === undefined) return;
    try {
      config.failpoint(step);
    } catch (err) {
      throw new FailpointError(`failpoint ${step}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  #checkAbort(): void {
    if (this.#aborting) throw new CleaningAborted('log is closing');
  }

  /**
   * One read of every segment in the snapshot: producer ids' last batches everywhere, and keys → latest offsets over
   * [firstDirty, firstUncleanable) until the map is full. Sets state.cleanedUpTo to where the map is complete.
   */
  async #buildMap(segments: readonly LogSegment[], stats: CleaningStats, state: PassState): Promise<void> {
    const { firstDirtyOffset: firstDirty, firstUncleanableOffset: upper } = stats;
    const map = state.map;
    let mapping = firstDirty < upper;
    let reached = firstDirty;
    for (let i = 0; i < segments.length; i++) {
      this.#checkAbort();
      const segment = segments[i]!;
      const segmentEnd = i + 1 < segments.length ? segments[i + 1]!.baseOffset : segment.nextOffset;
      const mapsHere = mapping && segment.baseOffset < upper && segmentEnd > firstDirty;
      let failure: Error | null = null;
      await readSegment(segment, false, (batch) => {
        const baseOffset = readInt64(batch, 0);
        const lastOffset = baseOffset + batch.readInt32BE(OFF_LAST_OFFSET_DELTA);
        const producerId = readInt64(batch, OFF_PRODUCER_ID);
        if (producerId >= 0) {
          if (state.producerLastOffset.size < MAX_TRACKED_PRODUCERS || state.producerLastOffset.has(producerId)) {
            state.producerLastOffset.set(producerId, lastOffset);
          } else {
            state.producersOverflow = true;
          }
        }
        if (!mapsHere || !mapping || lastOffset < firstDirty) return;
        if (lastOffset >= upper) {
          mapping = false;
          return;
        }
        const stored = parseStoredBatch(batch);
        if (isControl(stored.header) || isTransactional(stored.header) || stored.header.recordsCount === 0) {
          reached = lastOffset + 1;
          return;
        }
        let records: RecordView[];
        try {
          records = recordsOf(stored);
        } catch (err) {
          failure = new Error(`corrupt batch at offset ${baseOffset} in ${segment.logPath}: ${String(err)}`);
          mapping = false;
          return;
        }
        let cost = 0;
        for (const record of records) if (record.key !== null && record.offset >= firstDirty) cost += OffsetMap.costOf(record.key);
        if (!map.wouldFit(cost) && map.size > 0) {
          // Full: clean up to this batch; the rest stays dirty for the next pass.
          mapping = false;
          state.result.mapFull = true;
          return;
        }
        for (const record of records) {
          if (record.key !== null && record.offset >= firstDirty) map.put(record.key, record.offset);
        }
        state.result.recordsRead += records.length;
        reached = lastOffset + 1;
      });
      if (failure !== null) throw failure;
      // A fully mapped segment is clean up to its end (gaps included), as Kafka fast-forwards.
      if (mapsHere && mapping) reached = Math.min(segmentEnd, upper);
      if (mapsHere && mapping && segmentEnd >= upper) mapping = false;
    }
    state.cleanedUpTo = Math.max(firstDirty, reached);
    assert(state.cleanedUpTo <= Math.max(firstDirty, upper), 'cleaner: map passed the uncleanable offset');
  }

  /** Writes the group's `.cleaned` segment, then swaps it in on the writer queue. False when the pass must stop. */
  async #cleanGroup(group: Group, state: PassState): Promise<boolean> {
    const host = this.#host;
    const base = group.segments[0]!.baseOffset;
    const cleaned = await LogSegment.create(host.fs, host.dir, base, host.segmentConfig, CLEANED_SUFFIX);
    let committed = false;
    try {
      let pending: Buffer[] = [];
      let pendingBytes = 0;
      const flushPending = async (): Promise<void> => {
        if (pendingBytes === 0) return;
        await cleaned.appendCleaned(pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes));
        pending = [];
        pendingBytes = 0;
      };
      for (const segment of group.segments) {
        this.#checkAbort();
        let position = 0;
        // Bounded: each round consumes at least one batch of the segment (or stops).
        for (let round = 0; position < segment.size; round++) {
          assert(round <= segment.size, 'cleaner: no progress');
          let failure: Error | null = null;
          const next = await readSegment(
            segment,
            true,
            (batch) => {
              let out: Buffer | null;
              try {
                out = this.#filter(batch, state);
              } catch (err) {
                failure = new Error(`cannot clean batch at offset ${readInt64(batch, 0)} in ${segment.logPath}: ${String(err)}`);
                return false;
              }
              if (out !== null) {
                pending.push(out);
                pendingBytes += out.length;
              }
              return pendingBytes < WRITE_CHUNK_BYTES;
            },
            position,
          );
          if (failure !== null) throw failure;
          await flushPending();
          assert(next > position, () => `cleaner: no progress in ${segment.logPath} at ${position}`);
          position = next;
        }
      }
      await flushPending();
      cleaned.onRolled();
      await cleaned.flush();
      await host.fs.syncDir(host.dir);
      this.#step(state.config, 'group-written');
      this.#checkAbort();
      const swapped = await host.exclusive(() => this.#swap(group, cleaned, state, () => (committed = true)));
      if (!swapped) await discard(cleaned);
      else {
        state.result.segmentsBefore += group.segments.length;
        state.result.segmentsAfter += 1;
        state.result.bytesBefore += group.sizes.reduce((a, b) => a + b, 0);
        state.result.bytesAfter += cleaned.size;
      }
      return swapped;
    } catch (err) {
      // A failpoint is a simulated crash: leave the files exactly as they are. Otherwise drop uncommitted output.
      if (!(err instanceof FailpointError) && !committed) await discard(cleaned);
      throw err;
    }
  }

  /** Writer queue: the swap protocol of the header for one group. */
  async #swap(group: Group, cleaned: LogSegment, state: PassState, onCommit: () => void): Promise<boolean> {
    const host = this.#host;
    const segments = host.segments();
    const index = segments.indexOf(group.segments[0]!);
    const intact =
      !this.#aborting &&
      host.truncations() === state.truncations &&
      index >= 0 &&
      index + group.segments.length < segments.length &&
      group.segments.every((s, j) => segments[index + j] === s && s.size === group.sizes[j]);
    if (!intact) return false;
    const step = (name: CleanerStep): void => this.#step(state.config, name);
    let committed = false;
    try {
      await cleaned.renameFiles('indexes', SWAP_SUFFIX);
      step('index-swap-renamed');
      await cleaned.renameFiles('log', SWAP_SUFFIX);
      await host.fs.syncDir(host.dir);
      committed = true;
      onCommit();
      step('swap-committed');
      host.replaceSegments(index, group.segments.length, cleaned);
      for (const old of group.segments) await old.delete();
      await host.fs.syncDir(host.dir);
      step('old-segments-deleted');
      await cleaned.renameFiles('indexes', '');
      await host.fs.syncDir(host.dir);
      step('indexes-renamed');
      await cleaned.renameFiles('log', '');
      await host.fs.syncDir(host.dir);
      step('swap-finished');
    } catch (err) {
      // Past the commit point the directory and the segment array may disagree: reopening finishes the swap.
      if (committed || err instanceof FailpointError) host.fail(err);
      throw err;
    }
    return true;
  }

  /** The cleaned form of one stored batch: itself, a rebuilt batch, an empty batch, or null (dropped). */
  #filter(batch: Buffer, state: PassState): Buffer | null {
    const result = state.result;
    const baseOffset = readInt64(batch, 0);
    if (baseOffset >= state.cleanedUpTo) return batch; // dirty, not covered by the map: untouched
    const stored = parseStoredBatch(batch);
    const { header } = stored;
    if (isControl(header)) return batch; // markers stay (storage does not track transactions)
    const horizon = deleteHorizonOf(header);
    const records = header.recordsCount === 0 ? [] : recordsOf(stored);
    const retained: RecordView[] = [];
    let tombstones = 0;
    for (const record of records) {
      if (record.key !== null) {
        if (state.map.get(record.key) > record.offset) {
          result.recordsRemoved++;
          continue;
        }
        if (record.isTombstone) {
          if (horizon >= 0 && state.nowMs >= horizon) {
            result.recordsRemoved++;
            result.tombstonesRemoved++;
            continue;
          }
          tombstones++;
        }
      }
      retained.push(record);
    }
    if (retained.length === 0) {
      if (this.#isLastOfProducer(header.producerId, header.lastOffset, state)) {
        result.emptyBatchesKept++;
        return header.recordsCount === 0 ? batch : emptyBatch(stored);
      }
      result.batchesRemoved++;
      return null;
    }
    const stampHorizon = tombstones > 0 && horizon < 0;
    const newHorizon = stampHorizon ? Math.min(state.nowMs + state.config.deleteRetentionMs, MAX_DELETE_HORIZON_MS) : horizon;
    if (tombstones > 0 && (state.pendingHorizonMs < 0 || newHorizon < state.pendingHorizonMs)) state.pendingHorizonMs = newHorizon;
    if (retained.length === records.length && !stampHorizon) return batch;
    return rebuildBatch(stored, retained, newHorizon);
  }

  #isLastOfProducer(producerId: number, lastOffset: number, state: PassState): boolean {
    if (producerId < 0) return false;
    if (state.producersOverflow) return true;
    const last = state.producerLastOffset.get(producerId);
    return last === undefined || last === lastOffset;
  }
}

/** Durations may be as large as Kafka's Long.MAX_VALUE defaults (not safe integers): they only bound comparisons. */
function validate(config: CompactionConfig): void {
  assert(config.deleteRetentionMs >= 0, 'deleteRetentionMs must be >= 0');
  assert(config.minCleanableDirtyRatio >= 0 && config.minCleanableDirtyRatio <= 1, 'minCleanableDirtyRatio must be in [0, 1]');
  assert(config.minCompactionLagMs >= 0, 'minCompactionLagMs must be >= 0');
  assert(config.maxCompactionLagMs >= config.minCompactionLagMs, 'maxCompactionLagMs must be >= minCompactionLagMs');
  assert(config.uncleanableOffset === undefined || (Number.isSafeInteger(config.uncleanableOffset) && config.uncleanableOffset >= 0), 'bad uncleanableOffset');
}

function emptyResult(stats: CleaningStats, skipped: CompactionResult['skipped']): CompactionResult {
  return {
    cleaned: false,
    skipped,
    dirtyRatio: stats.dirtyRatio,
    firstDirtyOffset: stats.firstDirtyOffset,
    firstUncleanableOffset: stats.firstUncleanableOffset,
    cleanedUpToOffset: stats.firstDirtyOffset,
    mapFull: false,
    segmentsBefore: 0,
    segmentsAfter: 0,
    bytesBefore: 0,
    bytesAfter: 0,
    recordsRead: 0,
    recordsRemoved: 0,
    tombstonesRemoved: 0,
    batchesRemoved: 0,
    emptyBatchesKept: 0,
  };
}

/**
 * Consecutive segments below `cleanedUpTo` (never the active one), grouped so a group's input fits in segmentBytes,
 * its index entries fit one index, and its offsets fit int32 relative offsets (Kafka's groupSegmentsBySize).
 */
function groupSegments(segments: readonly LogSegment[], cleanedUpTo: number, segmentBytes: number, config: SegmentConfig): Group[] {
  const groups: Group[] = [];
  const maxIndexEntries = Math.floor(config.segmentIndexBytes / 8);
  let i = 0;
  // Bounded: every round consumes at least one segment.
  while (i < segments.length - 1 && segments[i]!.baseOffset < cleanedUpTo) {
    const first = segments[i]!;
    const group: Group = { segments: [first], sizes: [first.size] };
    let bytes = first.size;
    let entries = first.offsetIndex.entries;
    i++;
    while (i < segments.length - 1 && segments[i]!.baseOffset < cleanedUpTo) {
      const next = segments[i]!;
      const end = i + 1 < segments.length ? segments[i + 1]!.baseOffset : next.nextOffset;
      if (bytes + next.size > segmentBytes || entries + next.offsetIndex.entries > maxIndexEntries || end - 1 - first.baseOffset > 0x7fffffff) break;
      group.segments.push(next);
      group.sizes.push(next.size);
      bytes += next.size;
      entries += next.offsetIndex.entries;
      i++;
    }
    groups.push(group);
  }
  return groups;
}

/**
 * Visits the batches of `segment` from `from` to its current size (`visit` returning false stops after that batch)
 * and returns the position after the last batch visited. Holds the segment open meanwhile; a segment already deleted
 * aborts the pass. With `verifyCrc`, a bad batch is an error: the cleaner never re-seals corrupt data.
 */
async function readSegment(segment: LogSegment, verifyCrc: boolean, visit: (batch: Buffer) => boolean | void, from = 0): Promise<number> {
  if (!segment.acquire()) throw new CleaningAborted(`segment ${segment.baseOffset} was deleted during cleaning`);
  try {
    const size = segment.size;
    let work = 0;
    const result = await segment.scan(
      from,
      size,
      verifyCrc,
      (header, _position, chunk, chunkPos) => {
        assert(header.sizeInBytes >= BATCH_HEADER_BYTES, 'cleaner: short batch');
        work += 1 + Math.max(0, header.recordsCount);
        return visit(chunk.subarray(chunkPos, chunkPos + header.sizeInBytes));
      },
      () => {
        if (work < YIELD_EVERY_RECORDS) return false;
        work = 0;
        return true;
      },
    );
    if (result.stop !== null) throw new Error(`corrupt batch (${result.stop}) at position ${result.validEnd} of ${segment.logPath}`);
    return result.validEnd;
  } finally {
    segment.release();
  }
}

/** Deletes a cleaned segment that will not be swapped in (best effort: load removes leftovers anyway). */
async function discard(segment: LogSegment): Promise<void> {
  try {
    await segment.delete();
  } catch {
    // left for the loader
  }
}
