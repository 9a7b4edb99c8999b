import { describe, expect, it } from 'vitest';
import { MemoryFileSystem } from '../src/fs/memory-file-system.ts';
import { IndexEntries } from '../src/index-file.ts';
import { OffsetIndex } from '../src/offset-index.ts';
import { TimeIndex } from '../src/time-index.ts';

const ENTRY_BYTES = 4;

async function memFs(): Promise<MemoryFileSystem> {
  const fs = new MemoryFileSystem();
  await fs.mkdir('/d');
  return fs;
}

function appendValues(file: IndexEntries, values: number[]): void {
  for (const v of values) file.append((buf, at) => buf.writeInt32BE(v, at));
}

function values(file: IndexEntries): number[] {
  return Array.from({ length: file.count }, (_, i) => file.bytes.readInt32BE(i * ENTRY_BYTES));
}

const anyEntries = (): boolean => true;

describe('IndexEntries', () => {
  it('grows past its initial buffer, flushes, and loads back the same entries', async () => {
    const fs = await memFs();
    const file = IndexEntries.empty(ENTRY_BYTES, 1000);
    const written = Array.from({ length: 200 }, (_, i) => i * 3);
    appendValues(file, written);
    expect(values(file)).toEqual(written);
    await file.flush(fs, '/d/x.index');
    expect((await fs.readFile('/d/x.index')).length).toBe(200 * ENTRY_BYTES);
    const loaded = await IndexEntries.load(fs, '/d/x.index', ENTRY_BYTES, 1000, anyEntries);
    expect(loaded === null ? null : values(loaded)).toEqual(written);
  });

  it('writes only new entries, and cuts the file after a truncation below what it holds', async () => {
    const fs = await memFs();
    const file = IndexEntries.empty(ENTRY_BYTES, 100);
    appendValues(file, [1, 2, 3, 4]);
    await file.flush(fs, '/d/x.index');
    file.truncateToEntries(2);
    appendValues(file, [7]);
    await file.flush(fs, '/d/x.index');
    const loaded = await IndexEntries.load(fs, '/d/x.index', ENTRY_BYTES, 100, anyEntries);
    expect(loaded === null ? null : values(loaded)).toEqual([1, 2, 7]);
    expect(() => file.truncateToEntries(4)).toThrow(/out of range/);
  });

  it('cuts a stale file on the first flush of an empty index', async () => {
    const fs = await memFs();
    const stale = IndexEntries.empty(ENTRY_BYTES, 100);
    appendValues(stale, [5, 6]);
    await stale.flush(fs, '/d/x.index');
    await IndexEntries.empty(ENTRY_BYTES, 100).flush(fs, '/d/x.index');
    expect((await fs.readFile('/d/x.index')).length).toBe(0);
  });

  it('loads nothing from a missing file, a partial entry, too many entries, or entries the owner rejects', async () => {
    const fs = await memFs();
    expect(await IndexEntries.load(fs, '/d/missing.index', ENTRY_BYTES, 10, anyEntries)).toBeNull();
    const file = IndexEntries.empty(ENTRY_BYTES, 10);
    appendValues(file, [1, 2, 3]);
    await file.flush(fs, '/d/x.index');
    expect(await IndexEntries.load(fs, '/d/x.index', ENTRY_BYTES, 2, anyEntries)).toBeNull();
    expect(await IndexEntries.load(fs, '/d/x.index', 5, 10, anyEntries)).toBeNull();
    let seen = -1;
    const rejected = await IndexEntries.load(fs, '/d/x.index', ENTRY_BYTES, 10, (_bytes, count) => {
      seen = count;
      return false;
    });
    expect(rejected).toBeNull();
    expect(seen).toBe(3);
  });

  it('finds the last entry of a prefix by binary search, as a linear scan would', () => {
    const file = IndexEntries.empty(ENTRY_BYTES, 1000);
    const sorted = Array.from({ length: 97 }, (_, i) => i * 2 + (i % 3 === 0 ? 1 : 0));
    appendValues(file, sorted);
    for (let target = -2; target <= 200; target++) {
      const linear = sorted.findLastIndex((v) => v <= target);
      expect(file.lastWhere((i) => file.bytes.readInt32BE(i * ENTRY_BYTES) <= target)).toBe(linear);
    }
    expect(IndexEntries.empty(ENTRY_BYTES, 10).lastWhere(() => true)).toBe(-1);
  });
});

describe('offset and time indexes over IndexEntries', () => {
  it('keep their formats: 8-byte offset entries and 12-byte time entries, read back after a flush', async () => {
    const fs = await memFs();
    const offsets = OffsetIndex.empty('/d/0.index', 100, 50);
    offsets.append(100, 0);
    offsets.append(110, 4096);
    offsets.append(130, 9000);
    await offsets.flush(fs);
    expect((await fs.readFile('/d/0.index')).toString('hex')).toBe('00000000' + '00000000' + '0000000a' + '00001000' + '0000001e' + '00002328');
    const reloaded = await OffsetIndex.load(fs, '/d/0.index', 100, 50, 10_000);
    expect(reloaded?.lookup(120)).toEqual({ offset: 110, position: 4096, nextPosition: 9000 });
    expect(reloaded?.lookup(99)).toEqual({ offset: 100, position: 0, nextPosition: 0 });
    // A position at or past the log's end is corruption.
    expect(await OffsetIndex.load(fs, '/d/0.index', 100, 50, 9000)).toBeNull();
    reloaded!.truncateTo(130);
    expect(reloaded!.lastEntry()).toEqual({ offset: 110, position: 4096 });

    const times = TimeIndex.empty('/d/0.timeindex', 100, 50);
    times.maybeAppend(1_000, 105);
    times.maybeAppend(1_000, 107); // not larger: skipped
    times.maybeAppend(2_000, 120);
    await times.flush(fs);
    expect((await fs.readFile('/d/0.timeindex')).length).toBe(2 * 12);
    const timesBack = await TimeIndex.load(fs, '/d/0.timeindex', 100, 50, 1000);
    expect(timesBack?.lookup(1_500)).toBe(105);
    expect(timesBack?.lookup(1_000)).toBe(100);
    timesBack!.truncateTo(120);
    expect(timesBack!.lastEntry()).toEqual({ timestamp: 1_000, offset: 105 });
  });
});
