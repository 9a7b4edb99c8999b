import { describe, expect, it } from 'vitest';
import { ManualClock } from '@tributary/common';
import { checkBatch } from '../src/batch-format.ts';
import { OffsetOutOfRangeError, defaultLogConfig } from '../src/partition-log.ts';
import { baseOffsetOf, fsKinds, makeBatch, openLog, readAll, splitBatches } from './helpers.ts';

for (const kind of fsKinds) {
  describe(`PartitionLog on ${kind.name} fs`, () => {
    it('appends and reads back across many segments', async () => {
      const { fs, dir, cleanup } = kind.make();
      try {
        const log = await openLog(fs, dir, { segmentBytes: 2048 });
        const written: Buffer[] = [];
        for (let i = 0; i < 200; i++) {
          const batch = makeBatch({ records: 1 + (i % 5), valueBytes: 20 + (i % 7) * 10, fill: i & 0xff });
          const result = await log.append(batch, { leaderEpoch: 3, nowMs: 1 });
          expect(result.firstOffset).toBe(written.reduce((n, b) => n + b.readInt32BE(23) + 1, 0));
          written.push(Buffer.from(batch));
        }
        expect(log.numberOfSegments).toBeGreaterThan(10);
        const all = await readAll(log);
        expect(all.length).toBe(written.length);
        for (let i = 0; i < written.length; i++) {
          expect(all[i]!.equals(written[i]!)).toBe(true);
          expect(all[i]!.readInt32BE(12)).toBe(3);
          expect(checkBatch(all[i]!, 0, all[i]!.length).ok).toBe(true);
        }
        // Reading with a big budget crosses segments in one call.
        const big = await log.read(0, { maxBytes: 1 << 20, minOneMessage: false });
        expect(splitBatches(big.records).length).toBe(written.length);
        expect(big.nextOffset).toBe(log.logEndOffset);
        await log.close();
        const reopened = await openLog(fs, dir, { segmentBytes: 2048 });
        expect(reopened.logEndOffset).toBe(log.logEndOffset);
        const again = await readAll(reopened);
        expect(again.map((b) => b.toString('hex'))).toEqual(written.map((b) => b.toString('hex')));
        await reopened.close();
      } finally {
        cleanup();
      }
    });

    it('concurrent appends complete in call order', async () => {
      const { fs, dir, cleanup } = kind.make();
      try {
        const log = await openLog(fs, dir);
        const results = await Promise.all(Array.from({ length: 50 }, () => log.append(makeBatch({ records: 2 }), { leaderEpoch: 0, nowMs: 0 })));
        results.forEach((r, i) => expect(r.firstOffset).toBe(i * 2));
        expect(log.logEndOffset).toBe(100);
        await log.close();
      } finally {
        cleanup();
      }
    });

    it('read from mid-batch returns the containing batch; bounds apply', async () => {
      const { fs, dir, cleanup } = kind.make();
      try {
        const log = await openLog(fs, dir, { segmentBytes: 1 << 20 });
        for (let i = 0; i < 20; i++) await log.append(makeBatch({ records: 10, valueBytes: 30 }), { leaderEpoch: 0, nowMs: 0 });
        const size = splitBatches((await log.read(0, { maxBytes: 1 << 20, minOneMessage: true })).records)[0]!.length;
        // mid-batch
        const mid = await log.read(55, { maxBytes: size, minOneMessage: false });
        expect(mid.firstOffset).toBe(50);
        expect(mid.nextOffset).toBe(60);
        expect(baseOffsetOf(mid.records)).toBe(50);
        // maxBytes fits two and a half batches: two whole batches
        const two = await log.read(50, { maxBytes: size * 2.5, minOneMessage: false });
        expect(splitBatches(two.records).length).toBe(2);
        // maxBytes smaller than a batch: empty unless minOneMessage
        expect((await log.read(50, { maxBytes: 10, minOneMessage: false })).records.length).toBe(0);
        const one = await log.read(50, { maxBytes: 10, minOneMessage: true });
        expect(one.records.length).toBe(size);
        expect(one.nextOffset).toBe(60);
        // maxOffset: exclusive bound, batches straddling it are left out
        const hw = await log.read(0, { maxBytes: 1 << 20, maxOffset: 95, minOneMessage: true });
        expect(hw.nextOffset).toBe(90);
        expect((await log.read(92, { maxBytes: 1 << 20, maxOffset: 95, minOneMessage: true })).records.length).toBe(0);
        // at the end: empty; beyond: out of range
        const end = await log.read(200, { maxBytes: 100, minOneMessage: true });
        expect(end.records.length).toBe(0);
        expect(end.nextOffset).toBe(200);
        await expect(log.read(201, { maxBytes: 100, minOneMessage: true })).rejects.toBeInstanceOf(OffsetOutOfRangeError);
        await expect(log.read(-1, { maxBytes: 100, minOneMessage: true })).rejects.toBeInstanceOf(OffsetOutOfRangeError);
        // every offset maps to its batch
        for (let o = 0; o < 200; o += 7) {
          const r = await log.read(o, { maxBytes: 1, minOneMessage: true });
          expect(r.firstOffset).toBe(o - (o % 10));
        }
        await log.close();
      } finally {
        cleanup();
      }
    });

    it('offsetForTimestamp and maxTimestampAndOffset', async () => {
      const { fs, dir, cleanup } = kind.make();
      try {
        const log = await openLog(fs, dir, { segmentBytes: 1024 });
        const t0 = 1_000_000;
        // batch i has records with timestamps t0 + i*100 + j*10
        for (let i = 0; i < 50; i++) {
          const timestamps = Array.from({ length: 5 }, (_, j) => t0 + i * 100 + j * 10);
          await log.append(makeBatch({ records: 5, timestamps }), { leaderEpoch: 0, nowMs: 0 });
        }
        expect(log.numberOfSegments).toBeGreaterThan(3);
        expect(await log.offsetForTimestamp(0)).toEqual({ offset: 0, timestamp: t0 });
        expect(await log.offsetForTimestamp(t0 + 1234)).toEqual({ offset: 12 * 5 + 4, timestamp: t0 + 1240 });
        expect(await log.offsetForTimestamp(t0 + 1240)).toEqual({ offset: 12 * 5 + 4, timestamp: t0 + 1240 });
        expect(await log.offsetForTimestamp(t0 + 4941)).toBeNull();
        for (let i = 0; i < 50; i += 3) {
          const r = await log.offsetForTimestamp(t0 + i * 100 + 15);
          expect(r).toEqual({ offset: i * 5 + 2, timestamp: t0 + i * 100 + 20 });
        }
        expect(log.maxTimestampAndOffset()).toEqual({ timestamp: t0 + 4940, offset: 249 });
        await log.close();
        const reopened = await openLog(fs, dir, { segmentBytes: 1024 });
        expect(reopened.maxTimestampAndOffset()).toEqual({ timestamp: t0 + 4940, offset: 249 });
        expect(await reopened.offsetForTimestamp(t0 + 1234)).toEqual({ offset: 64, timestamp: t0 + 1240 });
        await reopened.close();
      } finally {
        cleanup();
      }
    });

    it('retention by time and by bytes never removes the active segment', async () => {
      const { fs, dir, cleanup } = kind.make();
      try {
        const clock = new ManualClock(0);
        const log = await openLog(fs, dir, { segmentBytes: 1024, retentionMs: 1000 }, clock);
        for (let i = 0; i < 40; i++) await log.append(makeBatch({ records: 2, valueBytes: 50, baseTimestamp: i * 100 }), { leaderEpoch: 0, nowMs: i * 100 });
        const before = log.numberOfSegments;
        expect(before).toBeGreaterThan(4);
        const r1 = await log.enforceRetention(3000);
        expect(r1.deletedSegments).toBeGreaterThan(0);
        expect(log.numberOfSegments).toBe(before - r1.deletedSegments);
        // everything left holds a timestamp >= 2000
        const start = log.logStartOffset;
        expect((await readAll(log))[0]!.readBigInt64BE(35) >= 2000n).toBe(true);
        expect(start).toBeGreaterThan(0);
        // everything expired: the active segment is rolled first, the log stays usable
        const end = log.logEndOffset;
        const r2 = await log.enforceRetention(1_000_000);
        expect(r2.deletedSegments).toBeGreaterThan(0);
        expect(log.numberOfSegments).toBe(1);
        expect(log.logStartOffset).toBe(end);
        expect(log.logEndOffset).toBe(end);
        expect((await log.append(makeBatch({ records: 1 }), { leaderEpoch: 0, nowMs: 0 })).firstOffset).toBe(end);
        await log.close();

        const { fs: fs2, dir: dir2, cleanup: cleanup2 } = kind.make();
        try {
          const bytesLog = await openLog(fs2, dir2, { segmentBytes: 1024, retentionBytes: 3000 });
          for (let i = 0; i < 40; i++) await bytesLog.append(makeBatch({ records: 2, valueBytes: 50 }), { leaderEpoch: 0, nowMs: 0 });
          const r = await bytesLog.enforceRetention(0);
          expect(r.deletedSegments).toBeGreaterThan(0);
          // Like Kafka: delete oldest segments only while at least retention.bytes remain.
          expect(bytesLog.sizeInBytes).toBeGreaterThanOrEqual(3000);
          expect(bytesLog.sizeInBytes).toBeLessThan(3000 + 1024);
          const zero = await openLog(fs2, dir2 + '-zero', { segmentBytes: 1024, retentionBytes: 0 });
          for (let i = 0; i < 10; i++) await zero.append(makeBatch({ records: 2, valueBytes: 50 }), { leaderEpoch: 0, nowMs: 0 });
          await zero.enforceRetention(0);
          expect(zero.numberOfSegments).toBe(1);
          expect(zero.sizeInBytes).toBeGreaterThan(0);
          await bytesLog.close();
          await zero.close();
        } finally {
          cleanup2();
        }
      } finally {
        cleanup();
      }
    });

    it('deleteRecordsBefore survives reopen', async () => {
      const { fs, dir, cleanup } = kind.make();
      try {
        const log = await openLog(fs, dir, { segmentBytes: 1024 });
        for (let i = 0; i < 40; i++) await log.append(makeBatch({ records: 3, valueBytes: 40 }), { leaderEpoch: 0, nowMs: 0 });
        const segments = log.numberOfSegments;
        expect(await log.deleteRecordsBefore(61)).toBe(61);
        expect(log.logStartOffset).toBe(61);
        expect(log.numberOfSegments).toBeLessThan(segments);
        await expect(log.read(60, { maxBytes: 100, minOneMessage: true })).rejects.toBeInstanceOf(OffsetOutOfRangeError);
        expect((await log.read(61, { maxBytes: 100, minOneMessage: true })).firstOffset).toBe(60);
        expect(await log.deleteRecordsBefore(10)).toBe(61);
        await expect(log.deleteRecordsBefore(1000)).rejects.toBeInstanceOf(OffsetOutOfRangeError);
        await log.close();
        const reopened = await openLog(fs, dir, { segmentBytes: 1024 });
        expect(reopened.logStartOffset).toBe(61);
        expect(reopened.logEndOffset).toBe(120);
        await reopened.close();
      } finally {
        cleanup();
      }
    });

    it('truncateTo drops the tail and appending continues', async () => {
      const { fs, dir, cleanup } = kind.make();
      try {
        const log = await openLog(fs, dir, { segmentBytes: 1024 });
        for (let i = 0; i < 40; i++) await log.append(makeBatch({ records: 3, valueBytes: 40, baseTimestamp: i }), { leaderEpoch: 0, nowMs: 0 });
        await log.truncateTo(60);
        expect(log.logEndOffset).toBe(60);
        expect((await readAll(log)).length).toBe(20);
        await log.truncateTo(31); // mid-batch: the whole batch goes
        expect(log.logEndOffset).toBe(30);
        expect((await log.append(makeBatch({ records: 1 }), { leaderEpoch: 1, nowMs: 0 })).firstOffset).toBe(30);
        await log.truncateTo(0);
        expect(log.logEndOffset).toBe(0);
        expect(log.sizeInBytes).toBe(0);
        await log.append(makeBatch({ records: 2 }), { leaderEpoch: 2, nowMs: 0 });
        await log.close();
        const reopened = await openLog(fs, dir, { segmentBytes: 1024 });
        expect(reopened.logEndOffset).toBe(2);
        await reopened.close();
      } finally {
        cleanup();
      }
    });

    it('rebuilds a deleted or corrupted index', async () => {
      const { fs, dir, cleanup } = kind.make();
      try {
        const log = await openLog(fs, dir, { segmentBytes: 1 << 20, indexIntervalBytes: 100 });
        for (let i = 0; i < 100; i++) await log.append(makeBatch({ records: 2, valueBytes: 40, baseTimestamp: 1000 + i * 10 }), { leaderEpoch: 0, nowMs: 0 });
        await log.close();
        const indexPath = `${dir}/${'0'.padStart(20, '0')}.index`;
        const indexBytes = await fs.readFile(indexPath);
        expect(indexBytes.length).toBeGreaterThan(80);
        const expected = await readAll(await openLog(fs, dir, { segmentBytes: 1 << 20, indexIntervalBytes: 100 }));

        // deleted
        await fs.unlink(indexPath);
        let reopened = await openLog(fs, dir, { segmentBytes: 1 << 20, indexIntervalBytes: 100 });
        expect((await fs.readFile(indexPath)).equals(indexBytes)).toBe(true);
        expect((await readAll(reopened)).length).toBe(expected.length);
        await reopened.close();
        // out of order entries
        const bad = Buffer.from(indexBytes);
        bad.writeInt32BE(0x7fffff, 0);
        let handle = await fs.open(indexPath, 'rw');
        await handle.write(bad, 0);
        await handle.close();
        reopened = await openLog(fs, dir, { segmentBytes: 1 << 20, indexIntervalBytes: 100 });
        expect((await fs.readFile(indexPath)).equals(indexBytes)).toBe(true);
        for (let o = 0; o < 200; o += 13) expect((await reopened.read(o, { maxBytes: 1, minOneMessage: true })).firstOffset).toBe(o - (o % 2));
        await reopened.close();
        // wrong size, position past the file
        handle = await fs.open(indexPath, 'rw');
        await handle.write(Buffer.from([0, 0, 0, 1, 0x7f, 0, 0, 0, 9]), indexBytes.length);
        await handle.close();
        reopened = await openLog(fs, dir, { segmentBytes: 1 << 20, indexIntervalBytes: 100 });
        expect((await fs.readFile(indexPath)).equals(indexBytes)).toBe(true);
        // corrupted time index
        const timeIndexPath = `${dir}/${'0'.padStart(20, '0')}.timeindex`;
        await reopened.close();
        const timeBytes = await fs.readFile(timeIndexPath);
        handle = await fs.open(timeIndexPath, 'rw');
        await handle.write(Buffer.alloc(12, 0xff), 0);
        await handle.close();
        reopened = await openLog(fs, dir, { segmentBytes: 1 << 20, indexIntervalBytes: 100 });
        expect((await fs.readFile(timeIndexPath)).equals(timeBytes)).toBe(true);
        expect(await reopened.offsetForTimestamp(1500)).toEqual({ offset: 100, timestamp: 1500 });
        await reopened.close();
      } finally {
        cleanup();
      }
    });
  });
}

describe('segment rolling', () => {
  it('rolls by segmentMs, by a full index, and on close/reopen keeps offsets', async () => {
    const { fs, dir, cleanup } = fsKinds[0]!.make();
    try {
      const log = await openLog(fs, dir, { segmentBytes: 1 << 20, segmentMs: 1000 });
      await log.append(makeBatch({ records: 1 }), { leaderEpoch: 0, nowMs: 10_000 });
      await log.append(makeBatch({ records: 1 }), { leaderEpoch: 0, nowMs: 10_900 });
      expect(log.numberOfSegments).toBe(1);
      const r = await log.append(makeBatch({ records: 1 }), { leaderEpoch: 0, nowMs: 11_001 });
      expect(log.numberOfSegments).toBe(2);
      expect(r.positionInSegment).toBe(0);
      expect(log.segmentBaseOffsets()).toEqual([0, 2]);
      // The rolled segment was flushed: the recovery point moved to the new segment.
      expect(log.flushedOffset).toBe(2);
      await log.close();

      // index full: 3 offset-index entries of 8 bytes (segmentIndexBytes 24), an entry for every batch
      const small = await openLog(fs, `${dir}-idx`, { segmentBytes: 1 << 20, segmentIndexBytes: 24, indexIntervalBytes: 0 });
      for (let i = 0; i < 10; i++) await small.append(makeBatch({ records: 1 }), { leaderEpoch: 0, nowMs: 0 });
      expect(small.numberOfSegments).toBeGreaterThan(2);
      expectAllReadable(await readAll(small), 10);
      await small.close();
    } finally {
      cleanup();
    }
  });

  it('reads keep working while retention deletes the segment being read', async () => {
    const { fs, dir, cleanup } = fsKinds[0]!.make();
    try {
      const log = await openLog(fs, dir, { segmentBytes: 1024, retentionBytes: 0 });
      for (let i = 0; i < 30; i++) await log.append(makeBatch({ records: 2, valueBytes: 60 }), { leaderEpoch: 0, nowMs: 0 });
      const reading = log.read(0, { maxBytes: 1 << 20, minOneMessage: true });
      const retention = log.enforceRetention(0);
      const [r] = await Promise.all([reading, retention]);
      expect(r.firstOffset).toBe(0);
      expect(splitBatches(r.records).length).toBeGreaterThan(0);
      await expect(log.read(0, { maxBytes: 100, minOneMessage: true })).rejects.toBeInstanceOf(OffsetOutOfRangeError);
      await log.close();
    } finally {
      cleanup();
    }
  });
});

function expectAllReadable(batches: Buffer[], count: number, recordsPerBatch = 1): void {
  expect(batches.length).toBe(count);
  batches.forEach((b, i) => expect(baseOffsetOf(b)).toBe(i * recordsPerBatch));
}

describe('edge cases', () => {
  it('accepts batches without timestamps (-1)', async () => {
    const { fs, dir, cleanup } = fsKinds[0]!.make();
    try {
      const log = await openLog(fs, dir, { indexIntervalBytes: 0, segmentBytes: 1024 });
      for (let i = 0; i < 30; i++) await log.append(makeBatch({ records: 2, timestamps: [-1, -1] }), { leaderEpoch: 0, nowMs: 0 });
      expect(log.maxTimestampAndOffset()).toBeNull();
      expect(await log.offsetForTimestamp(0)).toBeNull();
      await log.close();
      const reopened = await openLog(fs, dir, { indexIntervalBytes: 0, segmentBytes: 1024 });
      expect(reopened.logEndOffset).toBe(60);
      expectAllReadable(await readAll(reopened), 30, 2);
    } finally {
      cleanup();
    }
  });

  it('updateConfig changes rolling and retention', async () => {
    const { fs, dir, cleanup } = fsKinds[0]!.make();
    try {
      const log = await openLog(fs, dir, { segmentBytes: 1 << 20 });
      for (let i = 0; i < 10; i++) await log.append(makeBatch({ records: 1, valueBytes: 100 }), { leaderEpoch: 0, nowMs: 0 });
      expect(log.numberOfSegments).toBe(1);
      log.updateConfig({ ...defaultLogConfig, segmentBytes: 300, retentionMs: -1, retentionBytes: 500 });
      for (let i = 0; i < 10; i++) await log.append(makeBatch({ records: 1, valueBytes: 100 }), { leaderEpoch: 0, nowMs: 0 });
      expect(log.numberOfSegments).toBeGreaterThan(5);
      await log.enforceRetention(0);
      expect(log.sizeInBytes).toBeLessThan(1000);
      await log.delete();
      expect(await fs.exists(dir)).toBe(false);
    } finally {
      cleanup();
    }
  });
});
