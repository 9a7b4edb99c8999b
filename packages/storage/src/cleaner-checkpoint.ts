/**
 * CleanerCheckpoint: how far the log cleaner got, per partition, in `cleaner.checkpoint` (Kafka keeps one
 * `cleaner-offset-checkpoint` per log dir; one file per partition keeps partitions independent).
 *
 * On disk: one line of JSON `{"version":1,"cleanedOffset":N,"deleteHorizonMs":N,"crc":C}`, crc = CRC-32C of the JSON
 * without the crc field, written atomically (temp + fsync + rename + fsync dir). `cleanedOffset`: every key in
 * [log start, cleanedOffset) appears at most once there (the first dirty offset of the next pass). `deleteHorizonMs`:
 * the earliest delete horizon stamped on a batch still holding tombstones below cleanedOffset (-1: none), so a pass
 * runs once it passes even when nothing is dirty. Missing or unparsable reads as "nothing cleaned".
 *
 * Concurrency: written only from the PartitionLog writer queue.
 */
import { crc32c } from '@node-rs/crc32';
import { joinPath, writeFileAtomic, type FileSystem } from './fs/file-system.ts';

export const CLEANER_CHECKPOINT_FILE = 'cleaner.checkpoint';

export interface CleanerCheckpoint {
  cleanedOffset: number;
  deleteHorizonMs: number;
}

function body(cp: CleanerCheckpoint): string {
  return `{"version":1,"cleanedOffset":${cp.cleanedOffset},"deleteHorizonMs":${cp.deleteHorizonMs}`;
}

export async function readCleanerCheckpoint(fs: FileSystem, dir: string): Promise<CleanerCheckpoint | null> {
  const path = joinPath(dir, CLEANER_CHECKPOINT_FILE);
  if (!(await fs.exists(path))) return null;
  try {
    const parsed: unknown = JSON.parse((await fs.readFile(path)).toString('utf8'));
    if (typeof parsed !== 'object' || parsed === null) return null;
    const { cleanedOffset, deleteHorizonMs, crc } = parsed as Record<string, unknown>;
    if (!Number.isSafeInteger(cleanedOffset) || !Number.isSafeInteger(deleteHorizonMs)) return null;
    const cp = { cleanedOffset: cleanedOffset as number, deleteHorizonMs: deleteHorizonMs as number };
    if (cp.cleanedOffset < 0 || cp.deleteHorizonMs < -1) return null;
    if (crc !== crc32c(Buffer.from(body(cp)))) return null;
    return cp;
  } catch {
    return null;
  }
}

export async function writeCleanerCheckpoint(fs: FileSystem, dir: string, cp: CleanerCheckpoint): Promise<void> {
  const b = body(cp);
  await writeFileAtomic(fs, joinPath(dir, CLEANER_CHECKPOINT_FILE), Buffer.from(`${b},"crc":${crc32c(Buffer.from(b))}}\n`));
}
