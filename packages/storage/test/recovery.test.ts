import { describe, expect, it } from 'vitest';
import { seededRng } from '@tributary/common';
import { checkBatch } from '../src/batch-format.ts';
import { MemoryFileSystem } from '../src/fs/memory-file-system.ts';
import { fsKinds, makeBatch, openLog, readAll, recordingLogger, testConfig } from './helpers.ts';
import { LogFailedError, PartitionLog } from '../src/partition-log.ts';
import { ManualClock, silentLogger } from '@tributary/common';

const DIR = '/data/t-0';

/** Every batch checks out and offsets are dense from the log start. */
function expectValid(batches: Buffer[], logStart: number, logEnd: number): void {
  let expected = logStart;
  for (const batch of batches) {
    expect(checkBatch(batch, 0, batch.length).ok).toBe(true);
    expect(Number(batch.readBigInt64BE(0))).toBe(expected);
    expected += batch.readInt32BE(23) + 1;
  }
  expect(expected).toBe(logEnd);
}

describe('crash recovery with MemoryFileSystem', () => {
  it('torn tails: fsynced batches survive byte-for-byte, the log validates, appends continue (many seeds)', async () => {
    let tornTails = 0;
    for (let seed = 1; seed <= 100; seed++) {
      const rng = seededRng(seed);
      const fs = new MemoryFileSystem({ tornWrites: true, seed });
      const config = { segmentBytes: 1024 + rng.int(4096), indexIntervalBytes: 64 + rng.int(512) };
      const log = await openLog(fs, DIR, config);
      const written: Buffer[] = [];
      let durable = 0;
      const appends = 20 + rng.int(80);
      for (let i = 0; i < appends; i++) {
        const batch = makeBatch({ records: 1 + rng.int(4), valueBytes: 10 + rng.int(200), fill: i & 0xff, baseTimestamp: 1000 + i });
        await log.append(batch, { leaderEpoch: 1, nowMs: 0 });
        written.push(Buffer.from(batch));
        if (rng.int(10) === 0) {
          await log.flush();
          durable = written.length;
        }
      }
      // Rolled segments are flushed too: everything below the recovery point is durable.
      const flushedOffset = log.flushedOffset;
      fs.crash();
      const logger = recordingLogger();
      const reopened = await openLog(fs, DIR, config, undefined, logger);
      const batches = await readAll(reopened);
      expectValid(batches, 0, reopened.logEndOffset);
      expect(batches.length).toBeGreaterThanOrEqual(durable);
      expect(reopened.logEndOffset).toBeGreaterThanOrEqual(flushedOffset);
      // What survived is a prefix of what was written, byte for byte.
      for (let i = 0; i < batches.length; i++) expect(batches[i]!.equals(written[i]!), `seed ${seed} batch ${i}`).toBe(true);
      const loaded = logger.lines.find((l) => l.msg === 'log loaded')!.obj as { bytesTruncated: number; segmentsRecovered: number };
      expect(loaded.segmentsRecovered).toBeGreaterThan(0);
      if (loaded.bytesTruncated > 0) tornTails++;
      // Appending continues densely and survives a clean restart.
      const next = await reopened.append(makeBatch({ records: 3 }), { leaderEpoch: 2, nowMs: 0 });
      expect(next.firstOffset).toBe(batches.reduce((n, b) => n + b.readInt32BE(23) + 1, 0));
      await reopened.close();
      const again = await openLog(fs, DIR, config);
      expect(again.logEndOffset).toBe(next.lastOffset + 1);
      expectValid(await readAll(again), 0, again.logEndOffset);
      await again.close();
    }
    // The seeds really exercise torn tails, not just clean cuts at batch boundaries.
    expect(tornTails).toBeGreaterThan(10);
  });

  it('a crash after close loses nothing', async () => {
    const fs = new MemoryFileSystem({ tornWrites: true, seed: 7 });
    const log = await openLog(fs, DIR);
    for (let i = 0; i < 30; i++) await log.append(makeBatch({ records: 2, valueBytes: 100 }), { leaderEpoch: 0, nowMs: 0 });
    await log.close();
    fs.crash();
    const reopened = await openLog(fs, DIR);
    expect(reopened.logEndOffset).toBe(60);
    expectValid(await readAll(reopened), 0, 60);
  });

  it('a corrupted byte in the middle of the tail segment truncates there', async () => {
    const fs = new MemoryFileSystem();
    const log = await openLog(fs, DIR, { segmentBytes: 1 << 20 });
    const positions: number[] = [];
    for (let i = 0; i < 20; i++) positions.push((await log.append(makeBatch({ records: 5, valueBytes: 50 }), { leaderEpoch: 0, nowMs: 0 })).positionInSegment);
    await log.flush();
    fs.crash(); // no clean shutdown: the recovery point is at the end, but the flip below is caught by the CRC
    const segmentPath = `${DIR}/${'0'.padStart(20, '0')}.log`;
    fs.flipBit(segmentPath, positions[10]! + 100, 3);
    // Force validation of the segment: clean shutdown marker absent, recovery point says everything is flushed, so
    // use a checkpoint-less directory to re-validate from 0.
    await fs.unlink(`${DIR}/partition.checkpoint`);
    const logger = recordingLogger();
    const reopened = await openLog(fs, DIR, { segmentBytes: 1 << 20 }, undefined, logger);
    expect(reopened.logEndOffset).toBe(50);
    expect(fs.fileSize(segmentPath)).toBe(positions[10]);
    expect(logger.lines.some((l) => l.level === 'warn' && (l.obj as { stop?: string }).stop === 'crc')).toBe(true);
    expectValid(await readAll(reopened), 0, 50);
    expect((await reopened.append(makeBatch({ records: 1 }), { leaderEpoch: 0, nowMs: 0 })).firstOffset).toBe(50);
  });

  it('corruption in an older unflushed segment drops the segments after it', async () => {
    const fs = new MemoryFileSystem();
    const log = await openLog(fs, DIR, { segmentBytes: 1024 });
    for (let i = 0; i < 40; i++) await log.append(makeBatch({ records: 2, valueBytes: 60 }), { leaderEpoch: 0, nowMs: 0 });
    const bases = log.segmentBaseOffsets();
    expect(bases.length).toBeGreaterThan(3);
    await log.flush();
    await fs.unlink(`${DIR}/partition.checkpoint`); // recovery point 0: re-validate everything
    await fs.syncDir(DIR);
    fs.crash();
    fs.flipBit(`${DIR}/${String(bases[1]).padStart(20, '0')}.log`, 70, 0);
    const reopened = await openLog(fs, DIR, { segmentBytes: 1024 });
    expect(reopened.logEndOffset).toBe(bases[1]);
    // The corrupt segment stays as an empty active segment; everything after it is gone.
    expect(reopened.segmentBaseOffsets()).toEqual([bases[0], bases[1]]);
    expect(fs.listFiles().filter((f) => f.endsWith('.log')).length).toBe(2);
    expectValid(await readAll(reopened), 0, bases[1]!);
  });

  it('removes leftover .deleted/.cleaned/.swap files and orphan indexes', async () => {
    const fs = new MemoryFileSystem();
    await fs.mkdir(DIR);
    // An index .swap without its log .swap is an uncommitted cleaner swap (a log .swap is a committed one: see
    // log-cleaner.test.ts).
    for (const name of ['00000000000000000000.log.deleted', '00000000000000000005.log.cleaned', '00000000000000000007.index.swap', '00000000000000000099.index']) {
      const h = await fs.open(`${DIR}/${name}`, 'create');
      await h.write(Buffer.from('junk'), 0);
      await h.close();
    }
    const logger = recordingLogger();
    const log = await openLog(fs, DIR, {}, undefined, logger);
    expect(log.logEndOffset).toBe(0);
    expect(fs.listFiles().some((f) => /deleted|cleaned|swap|99\.index/.test(f))).toBe(false);
    const loaded = logger.lines.find((l) => l.msg === 'log loaded')!.obj as { leftoversDeleted: number };
    expect(loaded.leftoversDeleted).toBe(4);
  });

  it('random bit flips never crash open()', async () => {
    for (let seed = 1; seed <= 300; seed++) {
      const rng = seededRng(1000 + seed);
      const fs = new MemoryFileSystem({ tornWrites: true, seed });
      const config = { segmentBytes: 2048, indexIntervalBytes: 128 };
      const log = await openLog(fs, DIR, config);
      for (let i = 0; i < 30; i++) await log.append(makeBatch({ records: 1 + rng.int(3), valueBytes: 30 + rng.int(100) }), { leaderEpoch: 0, nowMs: 0 });
      if (rng.int(2) === 0) await log.close();
      else fs.crash();
      const files = fs.listFiles();
      const flips = 1 + rng.int(5);
      for (let f = 0; f < flips; f++) {
        const file = files[rng.int(files.length)]!;
        const size = fs.fileSize(file);
        if (size > 0) fs.flipBit(file, rng.int(size), rng.int(8));
      }
      const reopened = await openLog(fs, DIR, config);
      expect(reopened.logEndOffset).toBeGreaterThanOrEqual(reopened.logStartOffset);
      const r = await reopened.append(makeBatch({ records: 1 }), { leaderEpoch: 0, nowMs: 0 });
      expect(r.firstOffset).toBe(r.lastOffset);
      await reopened.close();
      const again = await openLog(fs, DIR, config);
      expect(again.logEndOffset).toBe(r.lastOffset + 1);
    }
  });
});

describe('I/O faults', () => {
  it('ENOSPC on append rejects that append; the log keeps working', async () => {
    const fs = new MemoryFileSystem();
    const log = await openLog(fs, DIR);
    await log.append(makeBatch({ records: 2 }), { leaderEpoch: 0, nowMs: 0 });
    fs.failOn('write', 'ENOSPC', { pathIncludes: '.log' });
    await expect(log.append(makeBatch({ records: 2 }), { leaderEpoch: 0, nowMs: 0 })).rejects.toMatchObject({ code: 'ENOSPC' });
    expect(log.logEndOffset).toBe(2);
    expect((await log.append(makeBatch({ records: 2 }), { leaderEpoch: 0, nowMs: 0 })).firstOffset).toBe(2);
    expectValid(await readAll(log), 0, 4);
  });

  it('EIO on append fails the log for writes', async () => {
    const fs = new MemoryFileSystem();
    const log = await openLog(fs, DIR);
    fs.failOn('write', 'EIO', { pathIncludes: '.log' });
    await expect(log.append(makeBatch({ records: 2 }), { leaderEpoch: 0, nowMs: 0 })).rejects.toMatchObject({ code: 'EIO' });
    await expect(log.append(makeBatch({ records: 2 }), { leaderEpoch: 0, nowMs: 0 })).rejects.toBeInstanceOf(LogFailedError);
    expect(log.logEndOffset).toBe(0);
  });

  it('EIO on flush rejects the flush and keeps the recovery point', async () => {
    const fs = new MemoryFileSystem();
    const log = await openLog(fs, DIR);
    await log.append(makeBatch({ records: 2 }), { leaderEpoch: 0, nowMs: 0 });
    fs.failOn('sync', 'EIO');
    await expect(log.flush()).rejects.toMatchObject({ code: 'EIO' });
    expect(log.flushedOffset).toBe(0);
    await expect(log.append(makeBatch({ records: 2 }), { leaderEpoch: 0, nowMs: 0 })).rejects.toBeInstanceOf(LogFailedError);
    await log.close(); // no clean-shutdown marker: the next open recovers
    const reopened = await openLog(fs, DIR);
    expect(reopened.logEndOffset).toBe(2);
  });

  it('tells its owner once when it starts refusing writes (failed fsync, EIO on append), never for ENOSPC', async () => {
    const fs = new MemoryFileSystem();
    const failures: string[] = [];
    const log = await PartitionLog.open({ fs, dir: DIR, config: testConfig, clock: new ManualClock(), logger: silentLogger, onFailed: (err) => failures.push(String((err as NodeJS.ErrnoException).code)) });
    await log.append(makeBatch({ records: 2 }), { leaderEpoch: 0, nowMs: 0 });
    // Out of space on append leaves the log usable: nothing to report.
    fs.failOn('write', 'ENOSPC', { pathIncludes: '.log', times: 1 });
    await expect(log.append(makeBatch({ records: 2 }), { leaderEpoch: 0, nowMs: 0 })).rejects.toMatchObject({ code: 'ENOSPC' });
    await Promise.resolve();
    expect(failures).toEqual([]);
    fs.failOn('sync', 'EIO');
    await expect(log.flush()).rejects.toMatchObject({ code: 'EIO' });
    await expect(log.flush()).rejects.toBeInstanceOf(LogFailedError);
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(failures).toEqual(['EIO']);
  });

  it('read-only file system: open of a new log fails cleanly', async () => {
    const fs = new MemoryFileSystem();
    await fs.mkdir(DIR);
    fs.setReadOnly(true);
    await expect(openLog(fs, DIR)).rejects.toMatchObject({ code: 'EROFS' });
  });

  it('flushMessages forces fsync', async () => {
    const fs = new MemoryFileSystem();
    const log = await openLog(fs, DIR, { flushMessages: 4 });
    await log.append(makeBatch({ records: 2 }), { leaderEpoch: 0, nowMs: 0 });
    expect(log.flushedOffset).toBe(0);
    await log.append(makeBatch({ records: 2 }), { leaderEpoch: 0, nowMs: 0 });
    expect(log.flushedOffset).toBe(4);
    fs.crash();
    const reopened = await openLog(fs, DIR, { flushMessages: 1 });
    expect(reopened.logEndOffset).toBe(4);
    // A durable append costs one fsync of the segment (no checkpoint rewrite while the segment is unchanged).
    const before = fs.syncCount;
    for (let i = 0; i < 10; i++) await reopened.append(makeBatch({ records: 1 }), { leaderEpoch: 0, nowMs: 0 });
    expect(fs.syncCount - before).toBe(10);
    expect(reopened.flushedOffset).toBe(14);
    fs.crash();
    expect((await openLog(fs, DIR)).logEndOffset).toBe(14);
  });
});

describe('recovery on the real file system', () => {
  it('a killed process (no close) with a torn, garbage-extended tail recovers to the last whole batch', async () => {
    const { fs, dir, cleanup } = fsKinds.find((k) => k.name === 'node')!.make();
    try {
      const log = await openLog(fs, dir, { segmentBytes: 4096 });
      const positions: number[] = [];
      for (let i = 0; i < 30; i++) positions.push((await log.append(makeBatch({ records: 2, valueBytes: 80 }), { leaderEpoch: 0, nowMs: 0 })).positionInSegment);
      const bases = log.segmentBaseOffsets();
      const activePath = `${dir}/${String(bases.at(-1)).padStart(20, '0')}.log`;
      const size = (await fs.stat(activePath)).size;
      // Simulate a kill: never close; cut the last batch in half and add junk after it.
      const lastPosition = positions.at(-1)!;
      const handle = await fs.open(activePath, 'rw');
      await handle.truncate(lastPosition + Math.floor((size - lastPosition) / 2));
      await handle.write(Buffer.alloc(100, 0xab), lastPosition + Math.floor((size - lastPosition) / 2));
      await handle.close();
      const reopened = await openLog(fs, dir, { segmentBytes: 4096 });
      expect(reopened.logEndOffset).toBe(58);
      expect((await fs.stat(activePath)).size).toBe(lastPosition);
      expectValid(await readAll(reopened), 0, 58);
      expect((await reopened.append(makeBatch({ records: 1 }), { leaderEpoch: 0, nowMs: 0 })).firstOffset).toBe(58);
      await reopened.close();
      await log.close().catch(() => {}); // the first instance's handles
    } finally {
      cleanup();
    }
  });
});
