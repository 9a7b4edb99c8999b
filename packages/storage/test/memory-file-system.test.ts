import { describe, expect, it } from 'vitest';
import { MemoryFileSystem } from '../src/fs/memory-file-system.ts';
import { writeFileAtomic } from '../src/fs/file-system.ts';

describe('MemoryFileSystem', () => {
  it('keeps only fsynced data and dir-synced names across a crash', async () => {
    const fs = new MemoryFileSystem();
    await fs.mkdir('/d');
    const a = await fs.open('/d/a', 'create');
    await a.write(Buffer.from('hello'), 0);
    await a.sync();
    await fs.syncDir('/d');
    await a.write(Buffer.from(' world'), 5);
    const b = await fs.open('/d/b', 'create');
    await b.write(Buffer.from('x'), 0);
    await b.sync(); // data synced, but the name never was
    expect((await fs.readFile('/d/a')).toString()).toBe('hello world');
    fs.crash();
    expect((await fs.readFile('/d/a')).toString()).toBe('hello');
    expect(await fs.exists('/d/b')).toBe(false);
    await expect(a.read(Buffer.alloc(1), 0, 1, 0)).rejects.toMatchObject({ code: 'EBADF' });
  });

  it('torn writes keep a prefix of the unsynced bytes', async () => {
    const seen = new Set<number>();
    for (let seed = 1; seed <= 40; seed++) {
      const fs = new MemoryFileSystem({ tornWrites: true, seed });
      await fs.mkdir('/d');
      const h = await fs.open('/d/f', 'create');
      await fs.syncDir('/d');
      await h.write(Buffer.alloc(100, 1), 0);
      await h.write(Buffer.alloc(100, 2), 100);
      fs.crash();
      const data = await fs.readFile('/d/f');
      seen.add(data.length);
      for (let i = 0; i < data.length; i++) expect(data[i]).toBe(i < 100 ? 1 : 2);
    }
    expect(seen.size).toBeGreaterThan(5);
  });

  it('writeFileAtomic is all or nothing; faults and read-only are injected', async () => {
    const fs = new MemoryFileSystem();
    await fs.mkdir('/d');
    await writeFileAtomic(fs, '/d/cp', Buffer.from('one'));
    fs.failOn('rename', 'EIO');
    await expect(writeFileAtomic(fs, '/d/cp', Buffer.from('two'))).rejects.toMatchObject({ code: 'EIO' });
    fs.crash();
    expect((await fs.readFile('/d/cp')).toString()).toBe('one');
    fs.failOn('write', 'ENOSPC', { skip: 1 });
    const h = await fs.open('/d/x', 'create');
    await h.write(Buffer.from('a'), 0);
    await expect(h.write(Buffer.from('b'), 1)).rejects.toMatchObject({ code: 'ENOSPC' });
    await h.write(Buffer.from('c'), 1);
    fs.setReadOnly(true);
    await expect(h.write(Buffer.from('d'), 2)).rejects.toMatchObject({ code: 'EROFS' });
    await expect(fs.unlink('/d/x')).rejects.toMatchObject({ code: 'EROFS' });
    expect((await fs.readFile('/d/x')).toString()).toBe('ac');
  });
});
