/**
 * LogLoader: turns a partition directory into loaded segments at open, recovering after a crash.
 *
 * Steps (each counted and logged):
 *  0. Finish or roll back an interrupted log-cleaner swap (protocol in log-cleaner.ts): `*.cleaned` files were never
 *     committed and are deleted; each `X.log.swap` was: the segments whose base offsets lie in [X, the swap segment's
 *     next offset) are deleted, X's index files are replaced by `X.{index,timeindex}.swap` (or dropped, to be rebuilt),
 *     and `X.log.swap` becomes `X.log`, fsyncing the directory between steps; index `.swap` files without a log
 *     `.swap` are deleted.
 *  1. Delete leftovers of interrupted operations: `*.deleted`, `*.tmp`, and index files whose `.log` is gone.
 *  2. Read `partition.checkpoint` (recovery point, log start offset) and the `.clean-shutdown` marker.
 *  3. For each segment in base-offset order: load its indexes (rebuilding any missing or failing the sanity check).
 *     Without a clean shutdown, every segment holding offsets at or above the recovery point is re-validated batch by
 *     batch (length sane, magic 2, CRC-32C, offsets increasing); the first bad batch truncates the file there and every
 *     later segment is deleted. Trusted segments still get their tail (from the last index entry) checked, so bit
 *     rot there also leads to recovery instead of a crash.
 *  4. If the log start offset is past the recovered end (tail lost), start an empty log at the log start offset.
 * The caller writes a fresh checkpoint (recovery point = end of log, everything having been fsynced) and removes the
 * clean-shutdown marker before accepting writes.
 *
 * Concurrency: runs before the PartitionLog exists; nothing else touches the directory.
 */
import type { Logger } from '@tributary/common';
import { assert } from '@tributary/common';
import { joinPath, type FileSystem } from './fs/file-system.ts';
import { CLEAN_SHUTDOWN_FILE, readCheckpoint } from './log-checkpoint.ts';
import {
  CLEANED_SUFFIX,
  DELETED_SUFFIX,
  SWAP_SUFFIX,
  INDEX_SUFFIX,
  LOG_SUFFIX,
  LogSegment,
  TIME_INDEX_SUFFIX,
  parseSegmentFileName,
  type SegmentConfig,
} from './log-segment.ts';

const LEFTOVER_SUFFIXES = [DELETED_SUFFIX, CLEANED_SUFFIX, SWAP_SUFFIX, '.tmp'];

export interface LoadResult {
  segments: LogSegment[];
  logStartOffset: number;
  hadCleanShutdown: boolean;
  stats: {
    segmentsLoaded: number;
    segmentsRecovered: number;
    indexesRebuilt: number;
    bytesTruncated: number;
    segmentsDropped: number;
    leftoversDeleted: number;
    swapsCompleted: number;
  };
}

export async function loadLog(fs: FileSystem, dir: string, config: SegmentConfig, logger: Logger): Promise<LoadResult> {
  await fs.mkdir(dir);
  const stats = { segmentsLoaded: 0, segmentsRecovered: 0, indexesRebuilt: 0, bytesTruncated: 0, segmentsDropped: 0, leftoversDeleted: 0, swapsCompleted: 0 };
  stats.swapsCompleted = await completeSwaps(fs, dir, config, logger);
  const names = await fs.readdir(dir);
  const bases: number[] = [];
  const logNames = new Set<string>();
  for (const name of names) {
    if (LEFTOVER_SUFFIXES.some((s) => name.endsWith(s))) {
      await fs.unlink(joinPath(dir, name));
      stats.leftoversDeleted++;
      continue;
    }
    const base = parseSegmentFileName(name, LOG_SUFFIX);
    if (base !== null) {
      bases.push(base);
      logNames.add(name.slice(0, -LOG_SUFFIX.length));
    }
  }
  for (const name of names) {
    for (const suffix of [INDEX_SUFFIX, TIME_INDEX_SUFFIX]) {
      if (parseSegmentFileName(name, suffix) !== null && !logNames.has(name.slice(0, -suffix.length))) {
        await fs.unlink(joinPath(dir, name));
        stats.leftoversDeleted++;
      }
    }
  }
  bases.sort((a, b) => a - b);

  const checkpoint = await readCheckpoint(fs, dir);
  const hadCleanShutdown = (await fs.exists(joinPath(dir, CLEAN_SHUTDOWN_FILE))) && checkpoint !== null;
  const recoveryPoint = hadCleanShutdown ? Number.MAX_SAFE_INTEGER : (checkpoint?.recoveryPoint ?? 0);

  const segments: LogSegment[] = [];
  for (let i = 0; i < bases.length; i++) {
    const base = bases[i]!;
    const nextBase = i + 1 < bases.length ? bases[i + 1]! : null;
    const maxRelative = nextBase === null ? 0x7fffffff : Math.min(0x7fffffff, nextBase - base - 1);
    const { segment, indexesOk } = await LogSegment.open(fs, dir, base, config, maxRelative);
    stats.segmentsLoaded++;
    const prev = segments.at(-1);
    let needsRecovery = !indexesOk || (nextBase === null ? recoveryPoint !== Number.MAX_SAFE_INTEGER : nextBase > recoveryPoint);
    if (!indexesOk) stats.indexesRebuilt++;
    if (!needsRecovery && !(await segment.loadTrusted(nextBase))) {
      needsRecovery = true;
      stats.indexesRebuilt++;
    }
    let corrupt = false;
    if (needsRecovery) {
      const result = await segment.recover();
      stats.segmentsRecovered++;
      stats.bytesTruncated += result.truncatedBytes;
      corrupt = result.stop !== null;
      if (corrupt) {
        logger.warn({ dir, baseOffset: base, stop: result.stop, validBatches: result.batches, truncatedBytes: result.truncatedBytes }, 'segment truncated during recovery');
      }
      // A closed segment's time index must end with its max timestamp (loadTrusted relies on it next time).
      if (nextBase !== null) segment.onRolled();
      await segment.flush();
    }
    if (prev !== undefined && prev.nextOffset > segment.baseOffset) {
      // Overlap: the previous segment runs into this one; keep the earlier data and drop from here on.
      corrupt = true;
      await segment.delete();
      stats.segmentsDropped++;
    } else {
      // Even when nothing valid is left, the (now empty) segment stays as the active one: its base is the previous
      // segment's end, and the previous segment keeps its closed-segment state (it was loaded without a tail scan).
      segments.push(segment);
    }
    if (corrupt) {
      for (let j = i + 1; j < bases.length; j++) {
        await deleteSegmentFiles(fs, dir, bases[j]!);
        stats.segmentsDropped++;
      }
      break;
    }
  }

  let logStartOffset = Math.max(checkpoint?.logStartOffset ?? 0, segments[0]?.baseOffset ?? 0);
  const logEnd = segments.at(-1)?.nextOffset ?? logStartOffset;
  if (segments.length === 0 || logStartOffset > logEnd) {
    // Empty directory, or the tail below the log start offset was lost: start empty at the log start offset.
    for (const segment of segments) {
      await segment.delete();
      stats.segmentsDropped++;
    }
    segments.length = 0;
    segments.push(await LogSegment.create(fs, dir, logStartOffset, config));
  }
  logStartOffset = Math.max(logStartOffset, segments[0]!.baseOffset);
  for (let i = 1; i < segments.length; i++) {
    assert(segments[i]!.baseOffset >= segments[i - 1]!.nextOffset, 'loaded segments overlap');
  }
  logger.info({ dir, hadCleanShutdown, logStartOffset, logEndOffset: segments.at(-1)!.nextOffset, ...stats }, 'log loaded');
  return { segments, logStartOffset, hadCleanShutdown, stats };
}

async function deleteSegmentFiles(fs: FileSystem, dir: string, base: number): Promise<void> {
  for (const suffix of [LOG_SUFFIX, INDEX_SUFFIX, TIME_INDEX_SUFFIX]) {
    const path = joinPath(dir, String(base).padStart(20, '0') + suffix);
    if (await fs.exists(path)) await fs.unlink(path);
  }
}

/**
 * Step 0: a `X.log.swap` is a committed cleaner swap; finish it (idempotently: a crash in here is recovered the same
 * way next time). `.cleaned` files are left for step 1 to delete. Returns the number of swaps completed.
 */
async function completeSwaps(fs: FileSystem, dir: string, config: SegmentConfig, logger: Logger): Promise<number> {
  const names = await fs.readdir(dir);
  const swapBases: number[] = [];
  for (const name of names) {
    if (!name.endsWith(SWAP_SUFFIX)) continue;
    const base = parseSegmentFileName(name.slice(0, -SWAP_SUFFIX.length), LOG_SUFFIX);
    if (base !== null) swapBases.push(base);
  }
  swapBases.sort((a, b) => a - b);
  for (const base of swapBases) {
    // The swap segment was fsynced before the commit; recover() re-validates it anyway and yields its extent.
    const { segment } = await LogSegment.open(fs, dir, base, config, 0x7fffffff, SWAP_SUFFIX);
    let nextOffset: number;
    try {
      await segment.recover();
      nextOffset = segment.nextOffset;
    } finally {
      await segment.close();
    }
    const bases: number[] = [];
    for (const name of await fs.readdir(dir)) {
      const b = parseSegmentFileName(name, LOG_SUFFIX);
      if (b !== null && b >= base && b < nextOffset) bases.push(b);
    }
    // The replaced segments go (X's own log is replaced by the rename below; its indexes must not outlive it).
    for (const b of bases) if (b !== base) await deleteSegmentFiles(fs, dir, b);
    for (const suffix of [TIME_INDEX_SUFFIX, INDEX_SUFFIX]) {
      const final = joinPath(dir, String(base).padStart(20, '0') + suffix);
      if (await fs.exists(final + SWAP_SUFFIX)) await fs.rename(final + SWAP_SUFFIX, final);
      else if (await fs.exists(final)) await fs.unlink(final);
    }
    await fs.syncDir(dir);
    const logPath = joinPath(dir, String(base).padStart(20, '0') + LOG_SUFFIX);
    await fs.rename(logPath + SWAP_SUFFIX, logPath);
    await fs.syncDir(dir);
    logger.warn({ dir, baseOffset: base, nextOffset, replacedSegments: bases.length }, 'completed an interrupted log-cleaner swap');
  }
  return swapBases.length;
}
