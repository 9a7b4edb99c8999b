/**
 * NodeFileSystem: the FileSystem port over node:fs/promises file handles. Positional reads and writes (pread/pwrite),
 * so handles carry no shared cursor and several async callers may use one handle.
 */
import * as fsp from 'node:fs/promises';
import { constants } from 'node:fs';
import type { FileHandle, FileStat, FileSystem, OpenMode } from './file-system.ts';

class NodeFileHandle implements FileHandle {
  readonly path: string;
  readonly #handle: fsp.FileHandle;

  constructor(path: string, handle: fsp.FileHandle) {
    this.path = path;
    this.#handle = handle;
  }

  async read(buf: Buffer, offset: number, length: number, position: number): Promise<number> {
    const { bytesRead } = await this.#handle.read(buf, offset, length, position);
    return bytesRead;
  }

  async write(data: Buffer, position: number): Promise<void> {
    let done = 0;
    // pwrite to a regular file writes everything unless the disk is full (then it throws); loop is bounded by size.
    while (done < data.length) {
      const { bytesWritten } = await this.#handle.write(data, done, data.length - done, position + done);
      if (bytesWritten <= 0) throw new Error(`short write to ${this.path}`);
      done += bytesWritten;
    }
  }

  async size(): Promise<number> {
    return (await this.#handle.stat()).size;
  }

  async sync(): Promise<void> {
    await this.#handle.sync();
  }

  async truncate(length: number): Promise<void> {
    await this.#handle.truncate(length);
  }

  async close(): Promise<void> {
    await this.#handle.close();
  }
}

export class NodeFileSystem implements FileSystem {
  async open(path: string, mode: OpenMode): Promise<FileHandle> {
    const flags = mode === 'r' ? constants.O_RDONLY : mode === 'rw' ? constants.O_RDWR : constants.O_RDWR | constants.O_CREAT;
    return new NodeFileHandle(path, await fsp.open(path, flags, 0o644));
  }

  async readFile(path: string): Promise<Buffer> {
    return fsp.readFile(path);
  }

  async rename(from: string, to: string): Promise<void> {
    await fsp.rename(from, to);
  }

  async unlink(path: string): Promise<void> {
    await fsp.unlink(path);
  }

  async readdir(path: string): Promise<string[]> {
    return fsp.readdir(path);
  }

  async mkdir(path: string): Promise<void> {
    await fsp.mkdir(path, { recursive: true });
  }

  async rmdir(path: string): Promise<void> {
    await fsp.rm(path, { recursive: true, force: true });
  }

  async stat(path: string): Promise<FileStat> {
    const st = await fsp.stat(path);
    return { size: st.size, isDirectory: st.isDirectory() };
  }

  async exists(path: string): Promise<boolean> {
    try {
      await fsp.access(path);
      return true;
    } catch {
      return false;
    }
  }

  async syncDir(path: string): Promise<void> {
    const handle = await fsp.open(path, constants.O_RDONLY);
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }
}
