// LazyFileSystem (the harness' power-loss model): while the process lives it reads and writes exactly as the real
// file system does; what was not fsynced is gone once the process is (a new instance, or a real kill -9).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { seededRng } from '@tributary/common';
import { LazyFileSystem } from '../src/fs/lazy-file-system.ts';
import { NodeFileSystem } from '../src/fs/node-file-system.ts';
import type { FileHandle, FileSystem } from '../src/fs/file-system.ts';

const dirs: string[] = [];
const tempDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'trib-lazy-fs-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

async function readAll(h: FileHandle): Promise<Buffer> {
  const size = await h.size();
  const buf = Buffer.alloc(size);
  const n = await h.read(buf, 0, size, 0);
  return buf.subarray(0, n);
}

describe('LazyFileSystem', () => {
  it('reads, sizes and truncates exactly as the real file system, over 30 seeded random op sequences', async () => {
    for (let seed = 1; seed <= 30; seed++) {
      const rng = seededRng(seed);
      const lazyDir = tempDir();
      const realDir = tempDir();
      // Small bounds so write-back by bound happens too.
      const systems: [FileSystem, string][] = [[new LazyFileSystem({ extentsMax: 8, dirtyBytesMax: 4096 }), lazyDir], [new NodeFileSystem(), realDir]];
      const handles = await Promise.all(systems.map(([fs, d]) => fs.open(join(d, 'f'), 'create')));
      for (let op = 0; op < 120; op++) {
        const kind = rng.int(10);
        const size = await handles[1]!.size();
        if (kind < 5) {
          const position = rng.int(10) < 7 ? size : rng.int(size + 200);
          const data = Buffer.alloc(1 + rng.int(300), 97 + rng.int(26));
          for (const h of handles) await h.write(data, position);
        } else if (kind === 5) {
          const length = rng.int(size + 100);
          for (const h of handles) await h.truncate(length);
        } else if (kind === 6) {
          for (const h of handles) await h.sync();
        } else {
          const position = rng.int(size + 50);
          const length = rng.int(400);
          const got = await Promise.all(handles.map(async (h) => {
            const buf = Buffer.alloc(length);
            const n = await h.read(buf, 0, length, position);
            return buf.subarray(0, n).toString('hex');
          }));
          expect(got[0], `seed ${seed} op ${op}: read ${length} at ${position}`).toBe(got[1]);
        }
        expect(await handles[0]!.size(), `seed ${seed} op ${op}: size`).toBe(await handles[1]!.size());
      }
      expect((await readAll(handles[0]!)).equals(await readAll(handles[1]!))).toBe(true);
      expect((await systems[0]![0].readFile(join(lazyDir, 'f'))).equals(await readAll(handles[1]!))).toBe(true);
      expect((await systems[0]![0].stat(join(lazyDir, 'f'))).size).toBe(await handles[1]!.size());
      for (const h of handles) await h.close();
    }
  });

  it('a read that overlaps a write-back returns the written bytes, not zeros', async () => {
    // A base file system whose reads wait for the test: the write-back runs to its end while the read is in flight.
    const base = new NodeFileSystem();
    let releaseRead: () => void = () => {};
    let readStarted: () => void = () => {};
    const started = new Promise<void>((r) => (readStarted = r));
    let holdReads = false;
    const gated: FileSystem = Object.assign(Object.create(base) as FileSystem, {
      open: async (path: string, mode: Parameters<FileSystem['open']>[1]): Promise<FileHandle> => {
        const h = await base.open(path, mode);
        return Object.assign(Object.create(h) as FileHandle, {
          read: async (buf: Buffer, offset: number, length: number, position: number): Promise<number> => {
            if (holdReads) {
              holdReads = false;
              readStarted();
              await new Promise<void>((r) => (releaseRead = r));
            }
            return h.read(buf, offset, length, position);
          },
          write: h.write.bind(h), size: h.size.bind(h), sync: h.sync.bind(h), truncate: h.truncate.bind(h), close: h.close.bind(h),
        });
      },
    });
    const fs = new LazyFileSystem({ base: gated });
    const h = await fs.open(join(tempDir(), 'f'), 'create');
    await h.write(Buffer.alloc(100, 1), 0);
    await h.sync(); // 100 bytes on disk
    await h.write(Buffer.alloc(100, 2), 100); // 100 dirty bytes after them
    holdReads = true;
    const buf = Buffer.alloc(200);
    const reading = h.read(buf, 0, 200, 0);
    await started;
    await fs.writeBack(join(dirs.at(-1)!, 'f'));
    releaseRead();
    expect(await reading).toBe(200);
    expect(buf.subarray(0, 100).equals(Buffer.alloc(100, 1))).toBe(true);
    expect(buf.subarray(100).equals(Buffer.alloc(100, 2)), 'the bytes written back while the read waited').toBe(true);
    await h.close();
  });

  it('keeps only fsynced data once the process that wrote is gone; names move and go with the data', async () => {
    const dir = tempDir();
    const fs = new LazyFileSystem();
    const a = await fs.open(join(dir, 'a'), 'create');
    await a.write(Buffer.from('hello'), 0);
    await a.sync();
    await a.write(Buffer.from(' world'), 5);
    const b = await fs.open(join(dir, 'b.tmp'), 'create');
    await b.write(Buffer.from('unsynced'), 0);
    await b.close();
    await fs.rename(join(dir, 'b.tmp'), join(dir, 'b'));
    expect((await fs.readFile(join(dir, 'a'))).toString()).toBe('hello world');
    // Dirty data outlives the handle and follows a rename, as the page cache's does.
    expect((await fs.readFile(join(dir, 'b'))).toString()).toBe('unsynced');
    expect(fs.dirtyBytes).toBe(6 + 8);
    expect(readFileSync(join(dir, 'a'), 'utf8')).toBe('hello');
    // What a restarted process sees:
    const after = new LazyFileSystem();
    expect((await after.readFile(join(dir, 'a'))).toString()).toBe('hello');
    expect((await after.readFile(join(dir, 'b'))).toString()).toBe('');
    await fs.unlink(join(dir, 'b'));
    expect(fs.dirtyBytes).toBe(6);
    await a.close();
  });

  it('a real kill -9 loses what was written after the last fsync', { timeout: 30_000 }, async () => {
    const dir = tempDir();
    const module = resolve(import.meta.dirname, '../src/fs/lazy-file-system.ts');
    const script = `
      const { LazyFileSystem } = await import(${JSON.stringify(module)});
      const fs = new LazyFileSystem();
      const h = await fs.open(${JSON.stringify(join(dir, 'log'))}, 'create');
      await h.write(Buffer.from('durable;'), 0);
      await h.sync();
      await h.write(Buffer.from('lost;'), 8);
      process.stdout.write('written\\n');
      setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((r, reject) => {
      child.stdout.once('data', () => r());
      child.once('exit', (code) => reject(new Error(`child exited with ${code}`)));
    });
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    expect(readFileSync(join(dir, 'log'), 'utf8')).toBe('durable;');
  });
});
