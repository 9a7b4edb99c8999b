/**
 * LogCheckpoint: the per-partition checkpoint file `partition.checkpoint` and the clean-shutdown marker.
 *
 * On disk: `partition.checkpoint` is one line of JSON `{"version":1,"recoveryPoint":N,"logStartOffset":N,"crc":C}`
 * where crc is CRC-32C of the JSON without the crc field. Written atomically (temp + fsync + rename + fsync dir), so
 * it is always either the old or the new content; anything unparsable is treated as missing.
 * `.clean-shutdown` is an empty file written by close() after everything was flushed and removed (durably) by open()
 * before the first write.
 *
 * Concurrency: written only from the PartitionLog writer queue.
 */
import { crc32c } from '@node-rs/crc32';
import { joinPath, writeFileAtomic, type FileSystem } from './fs/file-system.ts';

export const CHECKPOINT_FILE = 'partition.checkpoint';
export const CLEAN_SHUTDOWN_FILE = '.clean-shutdown';

export interface LogCheckpoint {
  recoveryPoint: number;
  logStartOffset: number;
}

function body(cp: LogCheckpoint): string {
  return `{"version":1,"recoveryPoint":${cp.recoveryPoint},"logStartOffset":${cp.logStartOffset}`;
}

export async function readCheckpoint(fs: FileSystem, dir: string): Promise<LogCheckpoint | null> {
  const path = joinPath(dir, CHECKPOINT_FILE);
  if (!(await fs.exists(path))) return null;
  try {
    const text = (await fs.readFile(path)).toString('utf8');
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null) return null;
    const { recoveryPoint, logStartOffset, crc } = parsed as Record<string, unknown>;
    if (!Number.isSafeInteger(recoveryPoint) || !Number.isSafeInteger(logStartOffset)) return null;
    const cp = { recoveryPoint: recoveryPoint as number, logStartOffset: logStartOffset as number };
    if (cp.recoveryPoint < 0 || cp.logStartOffset < 0) return null;
    if (crc !== crc32c(Buffer.from(body(cp)))) return null;
    return cp;
  } catch {
    return null;
  }
}

export async function writeCheckpoint(fs: FileSystem, dir: string, cp: LogCheckpoint): Promise<void> {
  const b = body(cp);
  await writeFileAtomic(fs, joinPath(dir, CHECKPOINT_FILE), Buffer.from(`${b},"crc":${crc32c(Buffer.from(b))}}\n`));
}
