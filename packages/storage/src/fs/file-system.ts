/**
 * FileSystem port: the only way storage touches disk, so tests can swap in `MemoryFileSystem` (page-cache model with
 * crashes, torn writes and injected errors) and the simulator can run storage deterministically.
 *
 * Semantics every implementation must honour (POSIX-like):
 * - Writes are visible to reads immediately; they are durable only after `FileHandle.sync()`.
 * - Creating, renaming or unlinking a name is durable only after `syncDir(parent)`.
 * - Paths are '/'-separated; `join` builds them. No symlinks.
 * Concurrency: a FileHandle may be used by several async callers; storage serializes writers itself.
 */

export type OpenMode =
  /** read only; the file must exist */
  | 'r'
  /** read/write; the file must exist */
  | 'rw'
  /** read/write; create if missing (never truncates) */
  | 'create';

export interface FileStat {
  size: number;
  isDirectory: boolean;
}

export interface FileHandle {
  readonly path: string;
  /** Reads up to `length` bytes at `position` into buf[offset..]; returns bytes read (short at end of file). */
  read(buf: Buffer, offset: number, length: number, position: number): Promise<number>;
  /** Writes all of `data` at `position` (one pwrite for regular sizes). */
  write(data: Buffer, position: number): Promise<void>;
  size(): Promise<number>;
  sync(): Promise<void>;
  truncate(length: number): Promise<void>;
  close(): Promise<void>;
}

export interface FileSystem {
  open(path: string, mode: OpenMode): Promise<FileHandle>;
  /** Reads a whole (small) file. */
  readFile(path: string): Promise<Buffer>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  readdir(path: string): Promise<string[]>;
  /** Recursive, like `mkdir -p`. */
  mkdir(path: string): Promise<void>;
  /** Removes a directory and everything in it. */
  rmdir(path: string): Promise<void>;
  stat(path: string): Promise<FileStat>;
  exists(path: string): Promise<boolean>;
  /** fsync a directory so that creates, renames and unlinks in it are durable. */
  syncDir(path: string): Promise<void>;
}

/** Errors carry a POSIX code so callers can tell ENOENT from ENOSPC/EIO whatever the implementation. */
export class FileSystemError extends Error {
  override name = 'FileSystemError';
  readonly code: string;
  readonly path: string;
  constructor(code: string, op: string, path: string) {
    super(`${code}: ${op} ${path}`);
    this.code = code;
    this.path = path;
  }
}

export function errorCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string') return err.code;
  return undefined;
}

export function joinPath(dir: string, name: string): string {
  return dir.endsWith('/') ? dir + name : `${dir}/${name}`;
}

export function dirname(path: string): string {
  const i = path.lastIndexOf('/');
  if (i < 0) return '.';
  if (i === 0) return '/';
  return path.slice(0, i);
}

export function basename(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/**
 * Atomically replaces `path` with `data`: write `path.tmp`, fsync it, rename over `path`, fsync the directory.
 * After a crash the file holds either the old or the new content, never a mix.
 */
export async function writeFileAtomic(fs: FileSystem, path: string, data: Buffer): Promise<void> {
  const tmp = `${path}.tmp`;
  const handle = await fs.open(tmp, 'create');
  try {
    await handle.truncate(0);
    await handle.write(data, 0);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.rename(tmp, path);
  await fs.syncDir(dirname(path));
}

/** Reads exactly `length` bytes at `position` (or fewer at end of file) with as few reads as the OS allows. */
export async function readAt(handle: FileHandle, buf: Buffer, offset: number, length: number, position: number): Promise<number> {
  let done = 0;
  // Bounded: each round reads at least one byte or stops.
  while (done < length) {
    const n = await handle.read(buf, offset + done, length - done, position + done);
    if (n <= 0) break;
    done += n;
  }
  return done;
}
