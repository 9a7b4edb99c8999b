/**
 * LogLoader: turns a partition directory into loaded segments at open, recovering after a crash.
 *
 * Steps (each counted and logged):
 *  1. Delete leftovers of interrupted operations: `*.deleted`, `*.cleaned`, `*.swap`, `*.tmp`, and index files whose
 *     `.log` is gone.
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
  DELETED_SUFFIX,
  INDEX_SUFFIX,
  LOG_SUFFIX,
  LogSegment,
  TIME_INDEX_SUFFIX,
  parseSegmentFileName,
  type SegmentConfig,
} from './log-segment.ts';

const LEFTOVER_SUFFIXES = [DELETED_SUFFIX, '.cleaned', '.swap', '.tmp'];

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
  };
}

export async function loadLog(fs: FileSystem, dir: string, config: SegmentConfig, logger: Logger): Promise<LoadResult> {
  await fs.mkdir(dir);
  const stats = { segmentsLoaded: 0, segmentsRecovered: 0, indexesRebuilt: 0, bytesTruncated: 0, segmentsDropped: 0, leftoversDeleted: 0 };
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
