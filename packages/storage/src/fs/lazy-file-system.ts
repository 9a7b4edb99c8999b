/**
 * LazyFileSystem: the real file system, except that file data written but not fsynced lives only in this process'
 * memory (a write-back cache, the page cache's model), so `kill -9` loses exactly what a power cut would lose.
 * The fault-injection harness runs nodes on it (env TRIB_FAULT_FS=lazy) for its `power-loss` fault: kill -9, then
 * restart on whatever reached the disk.
 *
 * - `write` keeps a copy of the data as a dirty extent of the file (per path, shared by every handle on it, kept
 *   after close like the page cache); reads overlay the dirty extents on the file's bytes.
 * - `sync()` writes the path's dirty extents (in write order) and fsyncs; only then are they durable.
 * - Bounded: past `extentsMax` extents on one file or `dirtyBytesMax` over all files, dirty data is written back
 *   (not fsynced) as the kernel's writeback would; it then survives a kill -9 (not a real power cut: the model
 *   never loses more than the real thing could).
 * - Names (create, rename, unlink, truncate) reach the disk at once: a weaker loss model than a real disk's
 *   (where they need syncDir), never a harsher one.
 * Only this process writes these files (one node per data folder), so the file's size on disk is tracked here.
 */
import { NodeFileSystem } from './node-file-system.ts';
import { readAt, type FileHandle, type FileStat, type FileSystem, type OpenMode } from './file-system.ts';

interface Extent {
  readonly position: number;
  length: number;
  readonly chunks: Buffer[];
  /** Being written back: later writes start an extent of their own instead of growing this one. */
  sealed: boolean;
}

interface FileState {
  path: string;
  /** Bytes in the real file (as this process made it). */
  diskSize: number;
  /** In write order: a later extent wins where two overlap. */
  extents: Extent[];
  dirtyBytes: number;
  /** Serializes write-back and truncation, which both change the real file. */
  lock: Promise<void>;
}

export interface LazyFileSystemOptions {
  readonly base?: FileSystem;
  readonly extentsMax?: number;
  readonly dirtyBytesMax?: number;
}

const end = (e: Extent): number => e.position + e.length;

/** Copies the parts of `e` that fall in [position, position + length) into buf at offset. */
function overlay(e: Extent, buf: Buffer, offset: number, position: number, length: number): void {
  let at = e.position;
  for (const chunk of e.chunks) {
    const from = Math.max(at, position);
    const to = Math.min(at + chunk.length, position + length);
    if (from < to) chunk.copy(buf, offset + (from - position), from - at, to - at);
    at += chunk.length;
    if (at >= position + length) return;
  }
}

class LazyFileHandle implements FileHandle {
  readonly path: string;
  readonly #fs: LazyFileSystem;
  readonly #real: FileHandle;

  constructor(path: string, fs: LazyFileSystem, real: FileHandle) {
    this.path = path;
    this.#fs = fs;
    this.#real = real;
  }

  async read(buf: Buffer, offset: number, length: number, position: number): Promise<number> {
    return this.#fs.readThrough(this.path, this.#real, buf, offset, length, position);
  }

  async write(data: Buffer, position: number): Promise<void> {
    await this.#fs.writeDirty(this.path, data, position);
  }

  async size(): Promise<number> {
    return this.#fs.logicalSize(this.#fs.state(this.path));
  }

  async sync(): Promise<void> {
    await this.#fs.writeBack(this.path);
    await this.#real.sync();
  }

  async truncate(length: number): Promise<void> {
    await this.#fs.truncate(this.path, this.#real, length);
  }

  async close(): Promise<void> {
    // The dirty data stays: like the page cache, it outlives the descriptor.
    await this.#real.close();
  }
}

export class LazyFileSystem implements FileSystem {
  readonly #base: FileSystem;
  readonly #extentsMax: number;
  readonly #dirtyBytesMax: number;
  readonly #files = new Map<string, FileState>();
  #dirtyBytes = 0;

  constructor(o: LazyFileSystemOptions = {}) {
    this.#base = o.base ?? new NodeFileSystem();
    this.#extentsMax = o.extentsMax ?? 4096;
    this.#dirtyBytesMax = o.dirtyBytesMax ?? 256 * 1024 * 1024;
  }

  /** Bytes written and not yet written back, over every file. */
  get dirtyBytes(): number {
    return this.#dirtyBytes;
  }

  state(path: string): FileState {
    const s = this.#files.get(path);
    if (s === undefined) throw new Error(`LazyFileSystem: ${path} has no state; open it first`);
    return s;
  }

  logicalSize(s: FileState): number {
    let size = s.diskSize;
    for (const e of s.extents) size = Math.max(size, end(e));
    return size;
  }

  async open(path: string, mode: OpenMode): Promise<FileHandle> {
    const real = await this.#base.open(path, mode);
    if (!this.#files.has(path)) this.#files.set(path, { path, diskSize: await real.size(), extents: [], dirtyBytes: 0, lock: Promise.resolve() });
    return new LazyFileHandle(path, this, real);
  }

  async readThrough(path: string, real: FileHandle, buf: Buffer, offset: number, length: number, position: number): Promise<number> {
    const s = this.state(path);
    const n = Math.min(length, this.logicalSize(s) - position);
    if (n <= 0) return 0;
    const fromDisk = Math.max(0, Math.min(n, s.diskSize - position));
    // The extents as they are now: a write-back finishing during the disk read below removes them from the list, and
    // their bytes lie past the disk size taken above, so without them the read would return zeros there.
    const extents = s.extents.filter((e) => e.position < position + n && end(e) > position);
    const got = fromDisk > 0 ? await readAt(real, buf, offset, fromDisk, position) : 0;
    // Past the disk's end and before a dirty extent: a hole, zeros as POSIX reads them.
    buf.fill(0, offset + got, offset + n);
    for (const e of extents) overlay(e, buf, offset, position, n);
    return n;
  }

  async writeDirty(path: string, data: Buffer, position: number): Promise<void> {
    const s = this.state(path);
    if (data.length === 0) return;
    // A copy: the caller may reuse its buffer once the write resolves.
    const copy = Buffer.from(data);
    const last = s.extents.at(-1);
    if (last !== undefined && !last.sealed && end(last) === position) {
      last.chunks.push(copy);
      last.length += copy.length;
    } else {
      s.extents.push({ position, length: copy.length, chunks: [copy], sealed: false });
    }
    s.dirtyBytes += copy.length;
    this.#dirtyBytes += copy.length;
    if (s.extents.length > this.#extentsMax) await this.writeBack(path);
    if (this.#dirtyBytes > this.#dirtyBytesMax) for (const p of [...this.#files.keys()]) await this.writeBack(p);
  }

  async #locked<T>(s: FileState, fn: () => Promise<T>): Promise<T> {
    const previous = s.lock;
    let release!: () => void;
    s.lock = new Promise((r) => {
      release = r;
    });
    await previous;
    try {
      return await fn();
    } finally {
      release();
    }
  }

  /** Writes the path's dirty extents to the file (no fsync). */
  async writeBack(path: string): Promise<void> {
    const s = this.#files.get(path);
    if (s === undefined || s.extents.length === 0) return;
    await this.#locked(s, async () => {
      const batch = [...s.extents];
      if (batch.length === 0) return;
      for (const e of batch) e.sealed = true;
      const real = await this.#base.open(s.path, 'rw');
      try {
        // Bounded by the extents taken; later writes stay dirty and overlay these until their own write-back.
        for (const e of batch) {
          let at = e.position;
          for (const chunk of e.chunks) {
            await real.write(chunk, at);
            at += chunk.length;
          }
          s.diskSize = Math.max(s.diskSize, at);
        }
      } finally {
        await real.close();
      }
      const written = new Set(batch);
      const bytes = batch.reduce((n, e) => n + e.length, 0);
      s.extents = s.extents.filter((e) => !written.has(e));
      s.dirtyBytes -= bytes;
      this.#dirtyBytes -= bytes;
    });
  }

  async truncate(path: string, real: FileHandle, length: number): Promise<void> {
    const s = this.state(path);
    await this.#locked(s, async () => {
      await real.truncate(length);
      s.diskSize = length;
      let dropped = 0;
      const kept: Extent[] = [];
      for (const e of s.extents) {
        if (e.position >= length) {
          dropped += e.length;
          continue;
        }
        if (end(e) > length) {
          // Cut the extent at the new end: rebuild its chunks up to there.
          const keep = length - e.position;
          const joined = Buffer.concat(e.chunks, e.length).subarray(0, keep);
          dropped += e.length - keep;
          kept.push({ position: e.position, length: keep, chunks: [joined], sealed: false });
        } else {
          kept.push(e);
        }
      }
      s.extents = kept;
      s.dirtyBytes -= dropped;
      this.#dirtyBytes -= dropped;
    });
  }

  #forget(path: string): void {
    const s = this.#files.get(path);
    if (s === undefined) return;
    this.#dirtyBytes -= s.dirtyBytes;
    this.#files.delete(path);
  }

  async readFile(path: string): Promise<Buffer> {
    const s = this.#files.get(path);
    if (s === undefined || s.extents.length === 0) return this.#base.readFile(path);
    const real = await this.#base.open(path, 'r');
    try {
      const buf = Buffer.alloc(this.logicalSize(s));
      const n = await this.readThrough(path, real, buf, 0, buf.length, 0);
      return buf.subarray(0, n);
    } finally {
      await real.close();
    }
  }

  async rename(from: string, to: string): Promise<void> {
    await this.#base.rename(from, to);
    this.#forget(to);
    const s = this.#files.get(from);
    if (s !== undefined) {
      this.#files.delete(from);
      s.path = to;
      this.#files.set(to, s);
    }
  }

  async unlink(path: string): Promise<void> {
    await this.#base.unlink(path);
    this.#forget(path);
  }

  async readdir(path: string): Promise<string[]> {
    return this.#base.readdir(path);
  }

  async mkdir(path: string): Promise<void> {
    await this.#base.mkdir(path);
  }

  async rmdir(path: string): Promise<void> {
    await this.#base.rmdir(path);
    const prefix = path.endsWith('/') ? path : `${path}/`;
    for (const p of [...this.#files.keys()]) if (p.startsWith(prefix)) this.#forget(p);
  }

  async stat(path: string): Promise<FileStat> {
    const st = await this.#base.stat(path);
    const s = this.#files.get(path);
    return s === undefined || st.isDirectory ? st : { ...st, size: this.logicalSize(s) };
  }

  async exists(path: string): Promise<boolean> {
    return this.#base.exists(path);
  }

  async syncDir(path: string): Promise<void> {
    await this.#base.syncDir(path);
  }
}
