import { describe, expect, it } from 'vitest';
import { seededRng, type Rng } from '@tributary/common';
import { decodeRecords, readBatchHeader, type CompressionName } from '@tributary/protocol';
import { MemoryFileSystem } from '../src/fs/memory-file-system.ts';
import type { FileHandle, FileStat, FileSystem, OpenMode } from '../src/fs/file-system.ts';
import { readCleanerCheckpoint } from '../src/cleaner-checkpoint.ts';
import type { PartitionLog } from '../src/partition-log.ts';
import { checkCompacted, compactAll, keyedBatch, Model, readRecords, type KeyedRecord } from './compaction-helpers.ts';
import { fsKinds, openLog, readAll, recordingLogger, splitBatches } from './helpers.ts';

const DIR = '/data/compacted-0';
const T0 = 1_700_000_000_000;

/** Appends `records` as one batch and records them in the model. */
async function put(log: PartitionLog, model: Model, records: KeyedRecord[], nowMs = 0, opts: Parameters<typeof keyedBatch>[1] = {}): Promise<number> {
  const r = await log.append(keyedBatch(records, opts), { leaderEpoch: 1, nowMs });
  model.add(r.firstOffset, records);
  return r.firstOffset;
}

function rec(key: string | null, value: string | null, timestamp = T0): KeyedRecord {
  return { key, value, timestamp };
}

/** Random keyed updates, 1-4 records per batch, about `count` records. */
async function writeUpdates(log: PartitionLog, model: Model, rng: Rng, count: number, keys: number, opts: { tombstonePct?: number; ts?: () => number } = {}): Promise<void> {
  let written = 0;
  for (let i = 0; written < count; i++) {
    const n = 1 + rng.int(4);
    const records: KeyedRecord[] = [];
    for (let j = 0; j < n; j++) {
      const key = `k${rng.int(keys)}`;
      const tomb = rng.int(100) < (opts.tombstonePct ?? 0);
      records.push(rec(key, tomb ? null : `v${i}-${j}-${'x'.repeat(rng.int(40))}`, opts.ts?.() ?? T0 + i));
    }
    await put(log, model, records);
    written += n;
  }
}

async function activeBytes(fs: FileSystem, log: PartitionLog): Promise<Buffer> {
  const base = log.segmentBaseOffsets().at(-1)!;
  return fs.readFile(`${log.dir}/${String(base).padStart(20, '0')}.log`);
}

for (const kind of fsKinds) {
  describe(`log compaction on ${kind.name} fs`, () => {
    it('many updates compact to one record per key with the latest value; the active segment is untouched', async () => {
      const { fs, dir, cleanup } = kind.make();
      try {
        const log = await openLog(fs, dir, { segmentBytes: 1024, indexIntervalBytes: 64 });
        const model = new Model();
        await writeUpdates(log, model, seededRng(1), 600, 25);
        const segmentsBefore = log.numberOfSegments;
        const activeBase = log.segmentBaseOffsets().at(-1)!;
        const active = await activeBytes(fs, log);
        const sizeBefore = log.sizeInBytes;
        expect(log.cleanableDirtyRatio(0)).toBe(1);

        const result = await log.compact(T0, compactAll);
        expect(result.cleaned).toBe(true);
        expect(result.firstDirtyOffset).toBe(0);
        expect(result.cleanedUpToOffset).toBe(activeBase);
        expect(result.recordsRemoved).toBeGreaterThan(400);
        expect(result.bytesAfter).toBeLessThan(result.bytesBefore);
        // Full segments cannot merge yet (groups are formed by input size); the cleaned ones merge on the next pass.
        expect(log.numberOfSegments).toBe(segmentsBefore);
        expect(log.sizeInBytes).toBeLessThan(sizeBefore);
        expect(log.cleanerCheckpoint).toBe(activeBase);
        expect(log.cleanableDirtyRatio(0)).toBe(0);
        expect((await activeBytes(fs, log)).equals(active)).toBe(true);
        expect(log.segmentBaseOffsets().at(-1)).toBe(activeBase);

        const records = await checkCompacted(log, model, { untouchedFrom: activeBase, dedupedBelow: activeBase });
        // Reading from the start, the last value seen for each key is its latest value.
        const seen = new Map<string, string | null>();
        for (const r of records) seen.set(r.key!, r.value);
        for (const [key, offset] of model.latest()) expect(seen.get(key)).toBe(model.byOffset.get(offset)!.value);

        // A second pass with nothing dirty does nothing; the same content survives a clean restart.
        expect((await log.compact(T0, compactAll)).skipped).toBe('not-dirty-enough');
        const before = (await readRecords(log)).records;
        await log.close();
        const reopened = await openLog(fs, dir, { segmentBytes: 1024, indexIntervalBytes: 64 });
        expect(reopened.cleanerCheckpoint).toBe(activeBase);
        expect((await readRecords(reopened)).records).toEqual(before);
        await checkCompacted(reopened, model, { untouchedFrom: activeBase, dedupedBelow: activeBase });
        // More updates, another pass: still one record per key below the new checkpoint.
        await writeUpdates(reopened, model, seededRng(2), 300, 25);
        const second = await reopened.compact(T0, compactAll);
        expect(second.cleaned).toBe(true);
        expect(second.firstDirtyOffset).toBe(activeBase);
        // The small segments of the first pass merged (groups stay under segmentBytes).
        expect(reopened.segmentBaseOffsets().filter((b) => b < activeBase).length).toBeLessThanOrEqual(3);
        const newBase = reopened.segmentBaseOffsets().at(-1)!;
        await checkCompacted(reopened, model, { untouchedFrom: newBase, dedupedBelow: newBase });
        await reopened.close();
      } finally {
        cleanup();
      }
    });
  });
}

describe('log compaction', () => {
  it('tombstones stay until delete.retention.ms after their first cleaning, then go', async () => {
    const fs = new MemoryFileSystem();
    const log = await openLog(fs, DIR, { segmentMs: 1000 });
    const model = new Model();
    await put(log, model, [rec('a', 'a1'), rec('b', 'b1'), rec('c', 'c1')]);
    await put(log, model, [rec('b', null, T0 + 1), rec('a', 'a2', T0 + 2)]);
    await put(log, model, [rec('d', 'd1')], 5000); // rolls: the first segment is cleanable
    const config = { ...compactAll, deleteRetentionMs: 5000 };

    const first = await log.compact(10_000, config);
    expect(first.cleaned).toBe(true);
    const afterFirst = await readRecords(log);
    const batches = afterFirst.batches;
    let records = afterFirst.records;
    expect(records.map((r) => [r.key, r.value])).toEqual([['c', 'c1'], ['b', null], ['a', 'a2'], ['d', 'd1']]);
    // The tombstone's batch carries the delete horizon (KIP-534): flag set, base timestamp = now + retention;
    // record timestamps are unchanged.
    const tombBatch = batches.find((b) => b.baseOffset === 3)!;
    expect(tombBatch.attributes & 0x40).toBe(0x40);
    expect(tombBatch.baseTimestamp).toBe(15_000);
    expect(records.find((r) => r.key === 'b')!.timestamp).toBe(T0 + 1);
    expect((await readCleanerCheckpoint(fs, DIR))!.deleteHorizonMs).toBe(15_000);

    // Not before the horizon: nothing dirty, horizon not due.
    expect((await log.compact(14_999, config)).skipped).toBe('not-dirty-enough');
    // A pass for other reasons before the horizon keeps it too.
    await put(log, model, [rec('e', 'e1')], 7000);
    const early = await log.compact(14_000, config);
    expect(early.cleaned).toBe(true);
    ({ records } = await readRecords(log));
    expect(records.some((r) => r.key === 'b' && r.value === null)).toBe(true);
    // The horizon stays what the first cleaning stamped.
    expect((await readRecords(log)).batches.find((b) => b.baseOffset === 3)!.baseTimestamp).toBe(15_000);

    // At the horizon the pass runs by itself (checkpointed horizon due) and drops the tombstone.
    const due = await log.compact(15_000, config);
    expect(due.cleaned).toBe(true);
    expect(due.tombstonesRemoved).toBe(1);
    ({ records } = await readRecords(log));
    expect(records.some((r) => r.key === 'b')).toBe(false);
    await checkCompacted(log, model);
    expect((await readCleanerCheckpoint(fs, DIR))!.deleteHorizonMs).toBe(-1);
    await log.close();
  });

  it('min.compaction.lag.ms protects recent segments; max.compaction.lag.ms forces a pass below the dirty ratio', async () => {
    const fs = new MemoryFileSystem();
    const log = await openLog(fs, DIR, { segmentMs: 1000 });
    const model = new Model();
    for (let i = 0; i < 10; i++) await put(log, model, [rec(`k${i % 3}`, `old${i}`, 10_000 + i)], 0);
    const recentBase = log.logEndOffset;
    for (let i = 0; i < 10; i++) await put(log, model, [rec(`k${i % 3}`, `new${i}`, 50_000 + i)], 2000);
    await put(log, model, [rec('z', 'active', 60_000)], 4000);
    const recentSegment = await fs.readFile(`${DIR}/${String(recentBase).padStart(20, '0')}.log`);

    const lagged = await log.compact(60_000, { ...compactAll, minCompactionLagMs: 20_000 });
    expect(lagged.cleaned).toBe(true);
    expect(lagged.firstUncleanableOffset).toBe(recentBase);
    expect(lagged.cleanedUpToOffset).toBe(recentBase);
    // The recent segment is byte-for-byte as written; the old one kept one record per key.
    expect((await fs.readFile(`${DIR}/${String(recentBase).padStart(20, '0')}.log`)).equals(recentSegment)).toBe(true);
    const { records } = await readRecords(log);
    expect(records.filter((r) => r.offset < recentBase).map((r) => r.value)).toEqual(['old7', 'old8', 'old9']);
    expect(records.filter((r) => r.offset >= recentBase).length).toBe(11);
    // Everything is too recent: nothing cleanable at all.
    expect((await log.compact(60_000, { ...compactAll, minCompactionLagMs: 1_000_000 })).cleaned).toBe(false);

    // Dirty ratio now: the recent segment is dirty, the old one clean.
    const ratio = log.cleanableDirtyRatio(60_000);
    expect(ratio).toBeGreaterThan(0);
    expect(ratio).toBeLessThan(1);
    expect((await log.compact(60_000, { ...compactAll, minCleanableDirtyRatio: 1 })).skipped).toBe('not-dirty-enough');
    const stats = log.cleaningStats(60_000, { minCompactionLagMs: 0, maxCompactionLagMs: 5000 });
    // The oldest dirty segment's first batch has maxTimestamp 50_000.
    expect(stats.maxCompactionDelayMs).toBe(60_000 - 5000 - 50_000);
    const forced = await log.compact(60_000, { ...compactAll, minCleanableDirtyRatio: 1, maxCompactionLagMs: 5000 });
    expect(forced.cleaned).toBe(true);
    expect(forced.cleanedUpToOffset).toBe(log.segmentBaseOffsets().at(-1));
    await checkCompacted(log, model, { dedupedBelow: forced.cleanedUpToOffset });
    await log.close();
  });

  it('uncleanableOffset (last stable offset / high watermark) bounds the dirty section', async () => {
    const fs = new MemoryFileSystem();
    const log = await openLog(fs, DIR, { segmentMs: 1000 });
    const model = new Model();
    for (let i = 0; i < 6; i++) await put(log, model, [rec('k', `a${i}`)], 0);
    for (let i = 0; i < 6; i++) await put(log, model, [rec('k', `b${i}`)], 2000);
    await put(log, model, [rec('k', 'active')], 4000);
    const r = await log.compact(T0, { ...compactAll, uncleanableOffset: 8 });
    expect(r.cleaned).toBe(true);
    // The map covers whole batches below offset 8 (mid-segment, like Kafka's last stable offset); the segment holding
    // it is rewritten, its records from 8 on copied as they are.
    expect(r.cleanedUpToOffset).toBe(8);
    const { records } = await readRecords(log);
    expect(records.map((x) => x.value)).toEqual(['b1', 'b2', 'b3', 'b4', 'b5', 'active']);
    await log.close();
  });

  it('offsets are preserved with gaps: reads, fetches, offsetForTimestamp and recovery work across gaps and emptied segments', async () => {
    const fs = new MemoryFileSystem({ tornWrites: true, seed: 3 });
    const config = { segmentBytes: 600, indexIntervalBytes: 50 };
    const log = await openLog(fs, DIR, config);
    const model = new Model();
    const rng = seededRng(5);
    let ts = T0;
    // Keys of the first segments are all overwritten later: those segments clean to nothing.
    for (let i = 0; i < 12; i++) await put(log, model, [rec(`gone${i % 4}`, `x${i}`, (ts += 1 + rng.int(5)))]);
    await writeUpdates(log, model, rng, 200, 12, { ts: () => (ts += rng.int(3)) });
    for (let i = 0; i < 4; i++) await put(log, model, [rec(`gone${i}`, `final${i}`, (ts += 1))]);
    await put(log, model, [rec('tail', 'active', (ts += 1))]);
    const result = await log.compact(T0, compactAll);
    expect(result.cleaned).toBe(true);
    // An emptied segment stays (at its base offset, like Kafka's cleaned segments).
    const bases = log.segmentBaseOffsets();
    expect(bases[0]).toBe(0);
    await checkAcrossGaps(log, model);
    await log.flush();

    // Crash (torn), clean restart: both recover the same compacted log.
    fs.crash();
    const crashed = await openLog(fs, DIR, config);
    expect(crashed.segmentBaseOffsets()).toEqual(bases);
    await checkAcrossGaps(crashed, model);
    await crashed.close();
    const clean = await openLog(fs, DIR, config);
    await checkAcrossGaps(clean, model);
    // Appending and truncating into a gap work.
    const { records } = await readRecords(clean);
    const gapAfter = records.findIndex((r, i) => i + 1 < records.length && records[i + 1]!.offset > r.offset + 1 && records[i + 1]!.offset < bases.at(-1)!);
    expect(gapAfter).toBeGreaterThanOrEqual(0);
    const cutAt = records[gapAfter]!.offset + 1; // inside a gap
    await clean.truncateTo(cutAt);
    // The end is the truncation offset (as in Kafka), and stays there across a restart: emptied offsets are not
    // handed out again.
    expect(clean.logEndOffset).toBe(cutAt);
    expect(clean.cleanerCheckpoint).toBeLessThanOrEqual(cutAt);
    await clean.close();
    const truncated = await openLog(fs, DIR, config);
    expect(truncated.logEndOffset).toBe(cutAt);
    const appended = await truncated.append(keyedBatch([rec('after', 'cut')]), { leaderEpoch: 2, nowMs: 0 });
    expect(appended.firstOffset).toBe(cutAt);
    const after = (await readRecords(truncated)).records;
    expect(after.at(-1)!.key).toBe('after');
    await truncated.close();
  });

  it('a full offset map cleans up to where it reached; repeated passes converge', async () => {
    const fs = new MemoryFileSystem();
    const log = await openLog(fs, DIR, { segmentBytes: 700, indexIntervalBytes: 64 });
    const model = new Model();
    await writeUpdates(log, model, seededRng(9), 500, 40, { tombstonePct: 5 });
    await put(log, model, [rec('tail', 'x')]);
    const activeBase = log.segmentBaseOffsets().at(-1)!;
    let passes = 0;
    let previous = 0;
    // Room for about 12 keys: each pass covers part of the dirty section.
    const config = { ...compactAll, offsetMapBytes: 12 * 120 };
    for (; passes < 200 && log.cleanerCheckpoint < activeBase; passes++) {
      const r = await log.compact(T0, config);
      expect(r.cleaned).toBe(true);
      if (log.cleanerCheckpoint < activeBase) expect(r.mapFull).toBe(true);
      expect(r.cleanedUpToOffset).toBeGreaterThan(previous);
      previous = r.cleanedUpToOffset;
      await checkCompacted(log, model, { untouchedFrom: r.cleanedUpToOffset, dedupedBelow: r.cleanedUpToOffset });
    }
    expect(passes).toBeGreaterThan(3);
    expect(log.cleanerCheckpoint).toBe(activeBase);
    await log.close();
  });

  it('compressed batches (gzip, zstd, snappy, lz4) and idempotent producers keep their metadata; a producer keeps its last batch', async () => {
    const fs = new MemoryFileSystem();
    const log = await openLog(fs, DIR, { segmentMs: 1000 });
    const model = new Model();
    const codecs: CompressionName[] = ['gzip', 'zstd', 'snappy', 'lz4', 'none'];
    const original = new Map<number, { producerId: number; producerEpoch: number; baseSequence: number; lastOffsetDelta: number; compression: number }>();
    let sequence = 0;
    for (let i = 0; i < 30; i++) {
      const records = Array.from({ length: 5 }, (_, j) => rec(`k${(i * 5 + j) % 17}`, `v${i}-${j}`, T0 + i * 10 + j));
      const opts = { compression: codecs[i % codecs.length]!, producerId: 7, producerEpoch: 3, baseSequence: sequence };
      const base = await put(log, model, records, 0, opts);
      original.set(base, { producerId: 7, producerEpoch: 3, baseSequence: sequence, lastOffsetDelta: 4, compression: i % codecs.length === 4 ? 0 : [1, 4, 2, 3][i % codecs.length]! });
      sequence += 5;
    }
    // Producer 9's last batch is entirely superseded by producer 7's later writes: it stays as an empty batch.
    const p9first = await put(log, model, [rec('p9a', 'x'), rec('p9b', 'y')], 0, { producerId: 9, producerEpoch: 0, baseSequence: 0 });
    const p9last = await put(log, model, [rec('p9c', 'x'), rec('p9d', 'y')], 0, { producerId: 9, producerEpoch: 0, baseSequence: 2 });
    await put(log, model, [rec('p9a', 'z'), rec('p9b', 'z'), rec('p9c', 'z'), rec('p9d', 'z')], 0, { producerId: 7, producerEpoch: 3, baseSequence: sequence, compression: 'zstd' });
    await put(log, model, [rec('tail', 'x')], 5000);

    const result = await log.compact(T0, compactAll);
    expect(result.cleaned).toBe(true);
    expect(result.emptyBatchesKept).toBe(1);
    const { batches } = await readRecords(log);
    for (const b of batches) {
      const was = original.get(b.baseOffset);
      if (was === undefined) continue;
      expect({ producerId: b.producerId, producerEpoch: b.producerEpoch, baseSequence: b.baseSequence, lastOffsetDelta: b.lastOffsetDelta, compression: b.compression }).toEqual(was);
    }
    expect(batches.some((b) => b.recordsCount < 5 && original.has(b.baseOffset) && b.compression !== 0)).toBe(true);
    expect(batches.some((b) => b.baseOffset === p9first)).toBe(false);
    const kept = batches.find((b) => b.baseOffset === p9last)!;
    expect({ recordsCount: kept.recordsCount, lastOffsetDelta: kept.lastOffsetDelta, producerId: kept.producerId, baseSequence: kept.baseSequence }).toEqual({
      recordsCount: 0,
      lastOffsetDelta: 1,
      producerId: 9,
      baseSequence: 2,
    });
    await checkCompacted(log, model, { dedupedBelow: result.cleanedUpToOffset });
    // offsetForTimestamp skips the empty batch.
    const afterEmpty = await log.offsetForTimestamp(T0);
    expect(afterEmpty).not.toBeNull();
    // Clean and crash restarts read the same batches.
    await log.close();
    fs.crash();
    const reopened = await openLog(fs, DIR, { segmentMs: 1000 });
    expect((await readRecords(reopened)).batches).toEqual(batches);
    await reopened.close();
  });

  it('appends and reads go on while a pass runs; reads never fail across swaps', async () => {
    const fs = new MemoryFileSystem();
    const log = await openLog(fs, DIR, { segmentBytes: 800, indexIntervalBytes: 64 });
    const model = new Model();
    await writeUpdates(log, model, seededRng(11), 800, 30);
    const compaction = log.compact(T0, compactAll);
    const appends: Promise<void>[] = [];
    const reads: Promise<unknown>[] = [];
    for (let i = 0; i < 40; i++) {
      const records = [rec(`c${i % 7}`, `during${i}`)];
      appends.push(log.append(keyedBatch(records), { leaderEpoch: 1, nowMs: 0 }).then((r) => model.add(r.firstOffset, records)));
      const at = (i * 37) % log.logEndOffset;
      reads.push(log.read(at, { maxBytes: 3000, minOneMessage: true }).then((r) => splitBatches(r.records)));
      reads.push(log.offsetForTimestamp(T0 + i * 5));
    }
    const [result] = await Promise.all([compaction, ...appends, ...reads]);
    expect(result.cleaned).toBe(true);
    const offsets = [...model.byOffset.keys()].sort((a, b) => a - b);
    expect(offsets.every((o, i) => o === i)).toBe(true); // appends stayed dense
    await checkCompacted(log, model, { untouchedFrom: result.cleanedUpToOffset, dedupedBelow: result.cleanedUpToOffset });
    await log.close();
  });

  it('a read whose segments are swapped out under it starts over on the new segments', async () => {
    const mem = new MemoryFileSystem();
    const gated = new GatedFileSystem(mem);
    const log = await openLog(gated, DIR, { segmentBytes: 800, indexIntervalBytes: 64 });
    const model = new Model();
    await writeUpdates(log, model, seededRng(21), 400, 15);
    const first = `${DIR}/${'0'.padStart(20, '0')}.log`;
    // The read's first positional read of segment 0 waits until the pass swapped every group (segment 0's included).
    gated.gateNextRead(first);
    const read = log.read(0, { maxBytes: 1 << 20, minOneMessage: true });
    const late = log.offsetForTimestamp(T0 + 150);
    await new Promise((resolve) => setImmediate(resolve));
    expect(gated.waiting).toBe(1);
    const result = await log.compact(T0, compactAll);
    expect(result.cleaned).toBe(true);
    gated.release();
    const [r, found] = await Promise.all([read, late]);
    // The answers are the compacted log's (the snapshot's old segment 0 was still readable, the next one gone: the
    // read restarted on the new array instead of failing with OffsetOutOfRange).
    const batches = await readAll(log);
    expect(splitBatches(r.records).map((b) => b.toString('hex'))).toEqual(batches.map((b) => b.toString('hex')));
    const { records } = await readRecords(log);
    const hit = records.find((x) => x.timestamp >= T0 + 150)!;
    expect(found).toEqual({ offset: hit.offset, timestamp: hit.timestamp });
    await log.close();
  });

  it('a truncation lowers the cleaner checkpoint and aborts a pass that raced it', async () => {
    const fs = new MemoryFileSystem();
    const log = await openLog(fs, DIR, { segmentBytes: 800 });
    const model = new Model();
    await writeUpdates(log, model, seededRng(4), 300, 10);
    const r = await log.compact(T0, compactAll);
    const checkpoint = r.cleanedUpToOffset;
    expect(checkpoint).toBeGreaterThan(20);
    await log.truncateTo(10);
    expect(log.cleanerCheckpoint).toBeLessThanOrEqual(10);
    expect((await readCleanerCheckpoint(fs, DIR))!.cleanedOffset).toBeLessThanOrEqual(10);
    // A pass racing a truncation gives up without touching anything.
    await writeUpdates(log, model, seededRng(6), 300, 10);
    const racing = log.compact(T0, compactAll);
    const truncation = log.truncateTo(log.logEndOffset - 3);
    const [raced] = await Promise.all([racing, truncation]);
    expect(raced.skipped === 'aborted' || raced.cleaned).toBe(true);
    expect(fs.listFiles().some((f) => f.includes('.cleaned') || f.includes('.swap'))).toBe(false);
    await log.close();
  });

  it('compact,delete: retention still applies to a compacted log; a checkpoint below the log start resets', async () => {
    const fs = new MemoryFileSystem();
    const log = await openLog(fs, DIR, { segmentBytes: 600, retentionMs: 10_000 });
    const model = new Model();
    await writeUpdates(log, model, seededRng(8), 200, 20, { ts: () => 1000 });
    await put(log, model, [rec('new', 'x', 50_000)]);
    await log.compact(T0, compactAll);
    const retention = await log.enforceRetention(20_000);
    expect(retention.deletedSegments).toBeGreaterThan(0);
    expect(log.logStartOffset).toBe(log.segmentBaseOffsets()[0]);
    expect(log.cleaningStats(0, { minCompactionLagMs: 0, maxCompactionLagMs: Number.MAX_SAFE_INTEGER }).firstDirtyOffset).toBeGreaterThanOrEqual(log.logStartOffset);
    await log.close();
  });

  it('close() stops a running pass and leaves no cleaner files behind', async () => {
    const fs = new MemoryFileSystem();
    const log = await openLog(fs, DIR, { segmentBytes: 800 });
    await writeUpdates(log, new Model(), seededRng(12), 600, 30);
    const pass = log.compact(T0, compactAll);
    await log.close();
    const r = await pass;
    expect(r.cleaned === true || r.skipped === 'aborted').toBe(true);
    expect(fs.listFiles().some((f) => /\.cleaned|\.swap/.test(f))).toBe(false);
    const reopened = await openLog(fs, DIR, { segmentBytes: 800 });
    await readRecords(reopened);
    await reopened.close();
  });

  it('a corrupt batch stops the pass instead of being re-sealed with a fresh CRC', async () => {
    const fs = new MemoryFileSystem();
    const log = await openLog(fs, DIR, { segmentBytes: 800 });
    await writeUpdates(log, new Model(), seededRng(13), 200, 10);
    const first = `${DIR}/${'0'.padStart(20, '0')}.log`;
    fs.flipBit(first, 100, 2);
    await expect(log.compact(T0, compactAll)).rejects.toThrow(/corrupt|crc|CORRUPT/i);
    expect(fs.listFiles().some((f) => /\.cleaned|\.swap/.test(f))).toBe(false);
    await log.close();
  });

  it("accepts Kafka's Long.MAX_VALUE durations", async () => {
    const fs = new MemoryFileSystem();
    const log = await openLog(fs, DIR, { segmentMs: 1000 });
    const model = new Model();
    await put(log, model, [rec('a', '1'), rec('a', null)]);
    await put(log, model, [rec('b', '1')], 5000);
    const longMax = 9223372036854775807;
    const r = await log.compact(T0, { deleteRetentionMs: longMax, minCleanableDirtyRatio: 0.5, minCompactionLagMs: 0, maxCompactionLagMs: longMax });
    expect(r.cleaned).toBe(true);
    const { batches, records } = await readRecords(log);
    expect(records.map((x) => x.value)).toEqual([null, '1']);
    expect(batches[0]!.baseTimestamp).toBe(2 ** 51);
    await log.close();
  });

  it('logs the pass', async () => {
    const fs = new MemoryFileSystem();
    const logger = recordingLogger();
    const log = await openLog(fs, DIR, { segmentBytes: 800 }, undefined, logger);
    await writeUpdates(log, new Model(), seededRng(14), 200, 10);
    await log.compact(T0, compactAll);
    expect(logger.lines.some((l) => l.msg === 'log cleaned')).toBe(true);
    await log.close();
  });
});

/** Holds chosen positional reads until released (to interleave a read with a cleaner swap deterministically). */
class GatedFileSystem implements FileSystem {
  readonly inner: FileSystem;
  #gates: string[] = [];
  #waiters: (() => void)[] = [];
  #released = false;

  constructor(inner: FileSystem) {
    this.inner = inner;
  }

  get waiting(): number {
    return this.#waiters.length;
  }

  gateNextRead(path: string): void {
    this.#gates.push(path);
  }

  release(): void {
    this.#released = true;
    for (const w of this.#waiters.splice(0)) w();
  }

  async open(path: string, mode: OpenMode): Promise<FileHandle> {
    const inner = await this.inner.open(path, mode);
    return {
      path: inner.path,
      read: async (buf, offset, length, position) => {
        const gate = this.#gates.indexOf(path);
        if (gate >= 0 && !this.#released) {
          this.#gates.splice(gate, 1);
          await new Promise<void>((resolve) => this.#waiters.push(resolve));
        }
        return inner.read(buf, offset, length, position);
      },
      write: (data, position) => inner.write(data, position),
      size: () => inner.size(),
      sync: () => inner.sync(),
      truncate: (length) => inner.truncate(length),
      close: () => inner.close(),
    };
  }
  readFile(path: string): Promise<Buffer> {
    return this.inner.readFile(path);
  }
  rename(from: string, to: string): Promise<void> {
    return this.inner.rename(from, to);
  }
  unlink(path: string): Promise<void> {
    return this.inner.unlink(path);
  }
  readdir(path: string): Promise<string[]> {
    return this.inner.readdir(path);
  }
  mkdir(path: string): Promise<void> {
    return this.inner.mkdir(path);
  }
  rmdir(path: string): Promise<void> {
    return this.inner.rmdir(path);
  }
  stat(path: string): Promise<FileStat> {
    return this.inner.stat(path);
  }
  exists(path: string): Promise<boolean> {
    return this.inner.exists(path);
  }
  syncDir(path: string): Promise<void> {
    return this.inner.syncDir(path);
  }
}

/** Every offset reads (fetch-style) from the first batch ending at or after it; offsetForTimestamp is exact. */
async function checkAcrossGaps(log: PartitionLog, model: Model): Promise<void> {
  const records = await checkCompacted(log, model);
  const batches = (await readAll(log)).map((b) => ({ bytes: b, header: readBatchHeader(b, 0) }));
  for (let offset = log.logStartOffset; offset < log.logEndOffset; offset++) {
    const expectedIndex = batches.findIndex((b) => b.header.lastOffset >= offset);
    for (const maxBytes of [1, 200, 5000]) {
      const r = await log.read(offset, { maxBytes, minOneMessage: true });
      const parts = splitBatches(r.records);
      if (expectedIndex < 0) {
        expect(parts.length).toBe(0);
        continue;
      }
      expect(parts.length, `read at ${offset}`).toBeGreaterThan(0);
      parts.forEach((p, j) => expect(p.equals(batches[expectedIndex + j]!.bytes), `read at ${offset} batch ${j}`).toBe(true));
      expect(r.firstOffset).toBe(batches[expectedIndex]!.header.baseOffset);
      expect(r.nextOffset).toBe(batches[expectedIndex + parts.length - 1]!.header.lastOffset + 1);
    }
  }
  // offsetForTimestamp against brute force over the records that are left.
  const timestamps = [...new Set(records.map((r) => r.timestamp))].sort((a, b) => a - b);
  for (const target of [timestamps[0]! - 1, ...timestamps.filter((_, i) => i % 7 === 0), timestamps.at(-1)! + 1]) {
    const hit = records.find((r) => r.timestamp >= target);
    expect(await log.offsetForTimestamp(target), `timestamp ${target}`).toEqual(hit === undefined ? null : { offset: hit.offset, timestamp: hit.timestamp });
  }
  // Decoding every batch works (no malformed rebuilt batch).
  for (const b of batches) decodeRecords(b.bytes);
}
