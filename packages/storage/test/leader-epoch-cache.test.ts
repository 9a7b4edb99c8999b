import { describe, expect, it } from 'vitest';
import { LeaderEpochCache, readLeaderEpochCheckpoint, writeLeaderEpochCheckpoint, LEADER_EPOCH_CHECKPOINT_FILE } from '../src/leader-epoch-cache.ts';
import { MemoryFileSystem } from '../src/fs/memory-file-system.ts';

describe('LeaderEpochCache', () => {
  it('assign adds an entry per newer epoch and ignores repeats of the latest one', () => {
    const cache = new LeaderEpochCache();
    expect(cache.latestEpoch).toBe(-1);
    expect(cache.assign(2, 0)).toBe(true);
    expect(cache.assign(2, 5)).toBe(false);
    expect(cache.assign(4, 10)).toBe(true);
    expect(cache.assign(4, 12)).toBe(false);
    expect(cache.entries).toEqual([
      { epoch: 2, startOffset: 0 },
      { epoch: 4, startOffset: 10 },
    ]);
    expect(cache.latestEpoch).toBe(4);
    expect(cache.earliestEpoch).toBe(2);
  });

  it('assign removes entries that would break monotonicity (as Kafka)', () => {
    const cache = new LeaderEpochCache([
      { epoch: 1, startOffset: 0 },
      { epoch: 3, startOffset: 10 },
      { epoch: 5, startOffset: 20 },
    ]);
    // The same latest epoch at a lower offset moves its start down, dropping everything from there.
    expect(cache.assign(5, 15)).toBe(true);
    expect(cache.entries).toEqual([
      { epoch: 1, startOffset: 0 },
      { epoch: 3, startOffset: 10 },
      { epoch: 5, startOffset: 15 },
    ]);
    // A lower epoch removes every entry with an epoch >= it.
    expect(cache.assign(2, 30)).toBe(true);
    expect(cache.entries).toEqual([
      { epoch: 1, startOffset: 0 },
      { epoch: 2, startOffset: 30 },
    ]);
    // A higher epoch at an offset below existing starts removes those entries.
    expect(cache.assign(7, 0)).toBe(true);
    expect(cache.entries).toEqual([{ epoch: 7, startOffset: 0 }]);
  });

  it('endOffsetFor answers OffsetsForLeaderEpoch like Kafka', () => {
    const cache = new LeaderEpochCache([
      { epoch: 2, startOffset: 5 },
      { epoch: 4, startOffset: 10 },
      { epoch: 7, startOffset: 30 },
    ]);
    const logEnd = 42;
    expect(cache.endOffsetFor(-1, logEnd)).toEqual({ epoch: -1, endOffset: -1 });
    // Below the first entry: the requested epoch and the first start offset.
    expect(cache.endOffsetFor(1, logEnd)).toEqual({ epoch: 1, endOffset: 5 });
    expect(cache.endOffsetFor(2, logEnd)).toEqual({ epoch: 2, endOffset: 10 });
    // Between epochs: the largest epoch <= requested, and where the next one starts.
    expect(cache.endOffsetFor(3, logEnd)).toEqual({ epoch: 2, endOffset: 10 });
    expect(cache.endOffsetFor(4, logEnd)).toEqual({ epoch: 4, endOffset: 30 });
    expect(cache.endOffsetFor(6, logEnd)).toEqual({ epoch: 4, endOffset: 30 });
    // The latest epoch ends at the log end.
    expect(cache.endOffsetFor(7, logEnd)).toEqual({ epoch: 7, endOffset: 42 });
    // Above every epoch: undefined.
    expect(cache.endOffsetFor(8, logEnd)).toEqual({ epoch: -1, endOffset: -1 });
    expect(new LeaderEpochCache().endOffsetFor(0, 10)).toEqual({ epoch: -1, endOffset: -1 });
  });

  it('truncateFromEnd drops entries at or after the end', () => {
    const cache = new LeaderEpochCache([
      { epoch: 1, startOffset: 0 },
      { epoch: 3, startOffset: 10 },
      { epoch: 5, startOffset: 20 },
    ]);
    expect(cache.truncateFromEnd(25)).toBe(false);
    expect(cache.truncateFromEnd(20)).toBe(true);
    expect(cache.entries.map((e) => e.epoch)).toEqual([1, 3]);
    expect(cache.truncateFromEnd(0)).toBe(true);
    expect(cache.entries).toEqual([]);
  });

  it('truncateFromStart clips the last entry below the start and drops the others', () => {
    const cache = new LeaderEpochCache([
      { epoch: 1, startOffset: 0 },
      { epoch: 3, startOffset: 10 },
      { epoch: 5, startOffset: 20 },
    ]);
    expect(cache.truncateFromStart(0)).toBe(false);
    expect(cache.truncateFromStart(15)).toBe(true);
    expect(cache.entries).toEqual([
      { epoch: 3, startOffset: 15 },
      { epoch: 5, startOffset: 20 },
    ]);
    expect(cache.truncateFromStart(20)).toBe(true);
    expect(cache.entries).toEqual([{ epoch: 5, startOffset: 20 }]);
    expect(cache.truncateFromStart(20)).toBe(false);
    expect(cache.truncateFromStart(100)).toBe(true);
    expect(cache.entries).toEqual([{ epoch: 5, startOffset: 100 }]);
  });

  it('encodes and decodes; a damaged file decodes to null', () => {
    const cache = new LeaderEpochCache([
      { epoch: 0, startOffset: 0 },
      { epoch: 9, startOffset: 2 ** 40 },
    ]);
    const bytes = cache.encode();
    expect(LeaderEpochCache.decode(bytes)).toEqual(cache.entries);
    expect(LeaderEpochCache.decode(new LeaderEpochCache().encode())).toEqual([]);
    for (let cut = 0; cut < bytes.length; cut++) expect(LeaderEpochCache.decode(bytes.subarray(0, cut))).toBeNull();
    for (let i = 0; i < bytes.length; i++) {
      const flipped = Buffer.from(bytes);
      flipped[i]! ^= 0x04;
      expect(LeaderEpochCache.decode(flipped), `flip at ${i}`).toBeNull();
    }
  });

  it('round-trips through the file system; missing or garbage reads as null', async () => {
    const fs = new MemoryFileSystem();
    await fs.mkdir('/d');
    expect(await readLeaderEpochCheckpoint(fs, '/d')).toBeNull();
    const cache = new LeaderEpochCache([{ epoch: 3, startOffset: 7 }]);
    await writeLeaderEpochCheckpoint(fs, '/d', cache);
    expect(await readLeaderEpochCheckpoint(fs, '/d')).toEqual([{ epoch: 3, startOffset: 7 }]);
    fs.crash();
    expect(await readLeaderEpochCheckpoint(fs, '/d')).toEqual([{ epoch: 3, startOffset: 7 }]);
    const h = await fs.open(`/d/${LEADER_EPOCH_CHECKPOINT_FILE}`, 'rw');
    await h.write(Buffer.from('0\n1\n3 7\n'), 0);
    await h.close();
    expect(await readLeaderEpochCheckpoint(fs, '/d')).toBeNull();
  });
});
