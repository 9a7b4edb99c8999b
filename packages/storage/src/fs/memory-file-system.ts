/**
 * MemoryFileSystem: an in-memory FileSystem that models the page cache, for tests and simulation.
 *
 * Model:
 * - Each file is an inode with its visible bytes and its durable bytes (as of the last `sync()`), plus the ordered
 *   list of writes/truncates since then.
 * - Names live in two maps: visible (what readdir/open see) and durable (what survives a crash). Creating, renaming and
 *   unlinking change the visible map; `syncDir(dir)` copies the dir's visible entries into the durable map.
 *   Directories themselves are durable as soon as mkdir returns (simplification).
 * - `crash()` drops everything not durable. With `tornWrites`, each file instead keeps a seeded random prefix of its
 *   unsynced operations, the last one possibly cut mid-write (the page cache wrote back part of it).
 * - Faults: `failOn(op, code)` makes chosen operations throw ENOSPC/EIO/...; `setReadOnly(true)` makes every
 *   mutation throw EROFS. `flipBit` models bit rot in both the visible and the durable bytes.
 * Single-threaded JS: every operation is atomic with respect to the others. Handles opened before a crash are dead.
 */
import { assert, seededRng, type Rng } from '@tributary/common';
import { FileSystemError, dirname, type FileHandle, type FileStat, type FileSystem, type OpenMode } from './file-system.ts';

type PendingOp = { kind: 'write'; position: number; data: Buffer } | { kind: 'truncate'; length: number };

class Inode {
  data: Buffer = Buffer.alloc(0);
  size = 0;
  durable: Buffer = Buffer.alloc(0);
  pending: PendingOp[] = [];

  ensureCapacity(n: number): void {
    if (n <= this.data.length) return;
    const next = Buffer.alloc(Math.max(n, this.data.length * 2, 256));
    this.data.copy(next, 0, 0, this.size);
    this.data = next;
  }

  applyWrite(position: number, data: Buffer): void {
    this.ensureCapacity(position + data.length);
    if (position > this.size) this.data.fill(0, this.size, position);
    data.copy(this.data, position);
    this.size = Math.max(this.size, position + data.length);
  }

  applyTruncate(length: number): void {
    if (length > this.size) {
      this.ensureCapacity(length);
      this.data.fill(0, this.size, length);
    }
    this.size = length;
  }

  content(): Buffer {
    return this.data.subarray(0, this.size);
  }
}

export type FsOp =
  | 'open'
  | 'read'
  | 'write'
  | 'sync'
  | 'truncate'
  | 'close'
  | 'readFile'
  | 'rename'
  | 'unlink'
  | 'readdir'
  | 'mkdir'
  | 'rmdir'
  | 'stat'
  | 'syncDir';

const MUTATING: ReadonlySet<FsOp> = new Set(['write', 'sync', 'truncate', 'rename', 'unlink', 'mkdir', 'rmdir', 'syncDir']);

interface FaultRule {
  op: FsOp;
  code: string;
  pathIncludes: string | undefined;
  remaining: number;
  /** Matching calls to let through before failing. */
  skip: number;
}

export interface MemoryFileSystemOptions {
  /** Seed for torn-write choices. */
  seed?: number;
  /** On crash keep a random prefix of unsynced operations (else drop them all). */
  tornWrites?: boolean;
}

function normalize(path: string): string {
  assert(path.length > 0, 'empty path');
  let p = path.replace(/\/+/g, '/');
  if (p.length > 1 && p.endsWith('/')) p = p.slice(0, -1);
  return p;
}

class MemoryFileHandle implements FileHandle {
  readonly path: string;
  readonly #fs: MemoryFileSystem;
  readonly #inode: Inode;
  readonly #generation: number;
  readonly #writable: boolean;
  #closed = false;

  constructor(fs: MemoryFileSystem, path: string, inode: Inode, generation: number, writable: boolean) {
    this.#fs = fs;
    this.path = path;
    this.#inode = inode;
    this.#generation = generation;
    this.#writable = writable;
  }

  #check(op: FsOp): void {
    if (this.#closed || this.#generation !== this.#fs.generation) throw new FileSystemError('EBADF', op, this.path);
    if (MUTATING.has(op) && op !== 'sync' && !this.#writable) throw new FileSystemError('EBADF', op, this.path);
    this.#fs.maybeFail(op, this.path);
  }

  async read(buf: Buffer, offset: number, length: number, position: number): Promise<number> {
    this.#check('read');
    assert(offset >= 0 && length >= 0 && offset + length <= buf.length, 'read: range outside buffer');
    const inode = this.#inode;
    if (position >= inode.size) return 0;
    const n = Math.min(length, inode.size - position);
    inode.data.copy(buf, offset, position, position + n);
    return n;
  }

  async write(data: Buffer, position: number): Promise<void> {
    this.#check('write');
    assert(position >= 0, 'write: negative position');
    const copy = Buffer.from(data);
    this.#inode.applyWrite(position, copy);
    this.#inode.pending.push({ kind: 'write', position, data: copy });
  }

  async size(): Promise<number> {
    this.#check('stat');
    return this.#inode.size;
  }

  async sync(): Promise<void> {
    this.#check('sync');
    this.#inode.durable = Buffer.from(this.#inode.content());
    this.#inode.pending = [];
    this.#fs.syncCount++;
  }

  async truncate(length: number): Promise<void> {
    this.#check('truncate');
    this.#inode.applyTruncate(length);
    this.#inode.pending.push({ kind: 'truncate', length });
  }

  async close(): Promise<void> {
    this.#closed = true;
  }
}

export class MemoryFileSystem implements FileSystem {
  /** Bumped by crash(): handles from before are dead. */
  generation = 0;
  /** Number of file syncs, for tests of flush policy. */
  syncCount = 0;
  #files = new Map<string, Inode>();
  #durableFiles = new Map<string, Inode>();
  #dirs = new Set<string>(['/']);
  #rng: Rng;
  #tornWrites: boolean;
  #readOnly = false;
  #faults: FaultRule[] = [];

  constructor(options: MemoryFileSystemOptions = {}) {
    this.#rng = seededRng(options.seed ?? 1);
    this.#tornWrites = options.tornWrites ?? false;
  }

  // ---- fault injection -------------------------------------------------------------------------------------------

  /** Makes the next `times` calls of `op` (on paths containing `pathIncludes`) throw `code`, after `skip` successes. */
  failOn(op: FsOp, code: 'ENOSPC' | 'EIO' | string, opts: { pathIncludes?: string; times?: number; skip?: number } = {}): void {
    this.#faults.push({ op, code, pathIncludes: opts.pathIncludes, remaining: opts.times ?? 1, skip: opts.skip ?? 0 });
  }

  clearFaults(): void {
    this.#faults = [];
  }

  setReadOnly(readOnly: boolean): void {
    this.#readOnly = readOnly;
  }

  setTornWrites(tornWrites: boolean, seed?: number): void {
    this.#tornWrites = tornWrites;
    if (seed !== undefined) this.#rng = seededRng(seed);
  }

  /** @internal called by handles and by every operation. */
  maybeFail(op: FsOp, path: string): void {
    if (this.#readOnly && MUTATING.has(op)) throw new FileSystemError('EROFS', op, path);
    for (const rule of this.#faults) {
      if (rule.op !== op || rule.remaining <= 0) continue;
      if (rule.pathIncludes !== undefined && !path.includes(rule.pathIncludes)) continue;
      if (rule.skip > 0) {
        rule.skip--;
        continue;
      }
      rule.remaining--;
      this.#faults = this.#faults.filter((r) => r.remaining > 0);
      throw new FileSystemError(rule.code, op, path);
    }
  }

  /**
   * Power loss: unsynced data and unsynced directory changes are lost (or, with torn writes, partly kept).
   * Every open handle becomes invalid.
   */
  crash(): void {
    this.generation++;
    const survivors = new Map<string, Inode>();
    const done = new Set<Inode>();
    for (const [path, inode] of this.#durableFiles) {
      if (!done.has(inode)) {
        done.add(inode);
        this.#recoverInode(inode);
      }
      survivors.set(path, inode);
    }
    this.#files = survivors;
    this.#durableFiles = new Map(survivors);
  }

  #recoverInode(inode: Inode): void {
    const pending = inode.pending;
    inode.data = Buffer.from(inode.durable);
    inode.size = inode.durable.length;
    inode.pending = [];
    if (!this.#tornWrites || pending.length === 0) return;
    const keep = this.#rng.int(pending.length + 1);
    for (let i = 0; i < keep; i++) {
      const op = pending[i]!;
      if (op.kind === 'write') inode.applyWrite(op.position, op.data);
      else inode.applyTruncate(op.length);
    }
    if (keep < pending.length) {
      const op = pending[keep]!;
      if (op.kind === 'write') {
        const prefix = this.#rng.int(op.data.length + 1);
        if (prefix > 0) inode.applyWrite(op.position, op.data.subarray(0, prefix));
      }
    }
    inode.durable = Buffer.from(inode.content());
  }

  /** Bit rot: flips one bit of the file's visible and durable bytes. */
  flipBit(path: string, bytePosition: number, bit: number): void {
    const inode = this.#files.get(normalize(path));
    assert(inode !== undefined, `flipBit: no file ${path}`);
    assert(bytePosition < inode.size, 'flipBit: position past end');
    inode.data[bytePosition]! ^= 1 << bit;
    if (bytePosition < inode.durable.length) inode.durable[bytePosition]! ^= 1 << bit;
  }

  /** Test helper: every visible file path. */
  listFiles(): string[] {
    return [...this.#files.keys()].sort();
  }

  fileSize(path: string): number {
    const inode = this.#files.get(normalize(path));
    assert(inode !== undefined, `fileSize: no file ${path}`);
    return inode.size;
  }

  // ---- FileSystem ------------------------------------------------------------------------------------------------

  #requireDir(path: string, op: FsOp): void {
    if (!this.#dirs.has(path)) throw new FileSystemError('ENOENT', op, path);
  }

  async open(rawPath: string, mode: OpenMode): Promise<FileHandle> {
    const path = normalize(rawPath);
    this.maybeFail('open', path);
    let inode = this.#files.get(path);
    if (inode === undefined) {
      if (mode !== 'create') throw new FileSystemError('ENOENT', 'open', path);
      if (this.#readOnly) throw new FileSystemError('EROFS', 'open', path);
      this.#requireDir(dirname(path), 'open');
      if (this.#dirs.has(path)) throw new FileSystemError('EISDIR', 'open', path);
      inode = new Inode();
      this.#files.set(path, inode);
    }
    return new MemoryFileHandle(this, path, inode, this.generation, mode !== 'r');
  }

  async readFile(rawPath: string): Promise<Buffer> {
    const path = normalize(rawPath);
    this.maybeFail('readFile', path);
    const inode = this.#files.get(path);
    if (inode === undefined) throw new FileSystemError('ENOENT', 'readFile', path);
    return Buffer.from(inode.content());
  }

  async rename(rawFrom: string, rawTo: string): Promise<void> {
    const from = normalize(rawFrom);
    const to = normalize(rawTo);
    this.maybeFail('rename', from);
    const inode = this.#files.get(from);
    if (inode === undefined) throw new FileSystemError('ENOENT', 'rename', from);
    this.#requireDir(dirname(to), 'rename');
    this.#files.delete(from);
    this.#files.set(to, inode);
  }

  async unlink(rawPath: string): Promise<void> {
    const path = normalize(rawPath);
    this.maybeFail('unlink', path);
    if (!this.#files.delete(path)) throw new FileSystemError('ENOENT', 'unlink', path);
  }

  async readdir(rawPath: string): Promise<string[]> {
    const path = normalize(rawPath);
    this.maybeFail('readdir', path);
    this.#requireDir(path, 'readdir');
    const prefix = path === '/' ? '/' : `${path}/`;
    const names: string[] = [];
    for (const p of [...this.#files.keys(), ...this.#dirs]) {
      if (p !== path && p.startsWith(prefix) && !p.slice(prefix.length).includes('/')) names.push(p.slice(prefix.length));
    }
    return names.sort();
  }

  async mkdir(rawPath: string): Promise<void> {
    const path = normalize(rawPath);
    this.maybeFail('mkdir', path);
    const parts = path.split('/').filter((s) => s.length > 0);
    let current = '';
    for (const part of parts) {
      current += `/${part}`;
      if (this.#files.has(current)) throw new FileSystemError('ENOTDIR', 'mkdir', current);
      this.#dirs.add(current);
    }
  }

  async rmdir(rawPath: string): Promise<void> {
    const path = normalize(rawPath);
    this.maybeFail('rmdir', path);
    const prefix = `${path}/`;
    for (const p of [...this.#files.keys()]) if (p.startsWith(prefix)) this.#files.delete(p);
    for (const p of [...this.#durableFiles.keys()]) if (p.startsWith(prefix)) this.#durableFiles.delete(p);
    for (const d of [...this.#dirs]) if (d === path || d.startsWith(prefix)) this.#dirs.delete(d);
  }

  async stat(rawPath: string): Promise<FileStat> {
    const path = normalize(rawPath);
    this.maybeFail('stat', path);
    if (this.#dirs.has(path)) return { size: 0, isDirectory: true };
    const inode = this.#files.get(path);
    if (inode === undefined) throw new FileSystemError('ENOENT', 'stat', path);
    return { size: inode.size, isDirectory: false };
  }

  async exists(rawPath: string): Promise<boolean> {
    const path = normalize(rawPath);
    this.maybeFail('stat', path);
    return this.#dirs.has(path) || this.#files.has(path);
  }

  async syncDir(rawPath: string): Promise<void> {
    const path = normalize(rawPath);
    this.maybeFail('syncDir', path);
    this.#requireDir(path, 'syncDir');
    const inDir = (p: string): boolean => dirname(p) === path;
    for (const p of [...this.#durableFiles.keys()]) if (inDir(p)) this.#durableFiles.delete(p);
    for (const [p, inode] of this.#files) if (inDir(p)) this.#durableFiles.set(p, inode);
  }
}
