/**
 * PartitionLog's replication layer: follower appends that keep the leader's offsets, the leader-epoch cache and its
 * checkpoint, producer state and its snapshots, truncation, recovery when those files are missing or damaged.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '@tributary/common';
import { LEADER_EPOCH_CHECKPOINT_FILE } from '../src/leader-epoch-cache.ts';
import { MemoryFileSystem } from '../src/fs/memory-file-system.ts';
import { CorruptRecordError, UnexpectedAppendOffsetError, type PartitionLog } from '../src/partition-log.ts';
import { SNAPSHOT_SUFFIX, TooManyProducersError } from '../src/producer-state.ts';
import { fsKinds, openLog, readAll, recordingLogger } from './helpers.ts';
import { batch, expectStateMatchesLog, factsOf } from './replication-helpers.ts';

const DIR = '/data/r-0';
const small = { segmentBytes: 600, indexIntervalBytes: 100 };

/** Follower batches for [from, from + count) with one record each, all in `leaderEpoch`. */
function followerBatches(from: number, count: number, leaderEpoch: number, producer?: { id: number; epoch: number; seq: number }): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    parts.push(
      batch({
        baseOffset: from + i,
        leaderEpoch,
        producerId: producer?.id ?? -1,
        producerEpoch: producer?.epoch ?? -1,
        baseSequence: producer === undefined ? -1 : producer.seq + i,
        fill: (from + i) & 0xff,
        valueBytes: 40,
      }),
    );
  }
  return Buffer.concat(parts);
}

describe('appendAsFollower', () => {
  for (const kind of fsKinds) {
    it(`keeps the leader's offsets, epochs, producer fields and bytes (${kind.name})`, async () => {
      const { fs, dir, cleanup } = kind.make();
      try {
        const log = await openLog(fs, dir, small);
        const sent = followerBatches(0, 30, 3, { id: 11, epoch: 2, seq: 0 });
        const copy = Buffer.from(sent);
        // Six fetches of five batches each (a segment rolls between appends, never inside one).
        const perFetch = sent.length / 6;
        for (let i = 0; i < 6; i++) {
          const r = await log.appendAsFollower(sent.subarray(i * perFetch, (i + 1) * perFetch));
          expect(r).toMatchObject({ firstOffset: i * 5, lastOffset: i * 5 + 4 });
        }
        expect(sent.equals(copy)).toBe(true); // not modified in place
        expect(Buffer.concat(await readAll(log)).equals(copy)).toBe(true);
        expect(log.numberOfSegments).toBeGreaterThan(1);
        expect(log.leaderEpochEntries()).toEqual([{ epoch: 3, startOffset: 0 }]);
        await log.appendAsFollower(Buffer.concat([followerBatches(30, 2, 3), followerBatches(32, 3, 5, { id: 11, epoch: 2, seq: 30 })]));
        expect(log.leaderEpochEntries()).toEqual([
          { epoch: 3, startOffset: 0 },
          { epoch: 5, startOffset: 32 },
        ]);
        expect(log.producerEntry(11)).toMatchObject({ producerEpoch: 2, batches: [{ firstSeq: 28 }, { firstSeq: 29 }, { firstSeq: 30 }, { firstSeq: 31 }, { firstSeq: 32, lastOffset: 34 }] });
        await expectStateMatchesLog(log);
        await log.close();
        const again = await openLog(fs, dir, small);
        expect(Buffer.concat(await readAll(again)).subarray(0, copy.length).equals(copy)).toBe(true);
        await expectStateMatchesLog(again, 'after reopen');
        await again.close();
      } finally {
        cleanup();
      }
    });
  }

  it('refuses an overlap, a bad CRC and overlapping batches, appending nothing', async () => {
    const fs = new MemoryFileSystem();
    const log = await openLog(fs, DIR, small);
    await log.appendAsFollower(followerBatches(0, 5, 1));
    const overlap = await log.appendAsFollower(followerBatches(4, 2, 1)).catch((e: unknown) => e);
    expect(overlap).toBeInstanceOf(UnexpectedAppendOffsetError);
    expect((overlap as UnexpectedAppendOffsetError).firstOffset).toBe(4);
    expect((overlap as UnexpectedAppendOffsetError).logEndOffset).toBe(5);
    expect((overlap as Error).message).toMatch(/an overlap/);
    const bad = followerBatches(5, 3, 2);
    bad[bad.length - 3]! ^= 1; // the last batch's record bytes: its CRC fails
    await expect(log.appendAsFollower(bad)).rejects.toBeInstanceOf(CorruptRecordError);
    const backwards = Buffer.concat([followerBatches(5, 2, 2), followerBatches(6, 1, 2)]);
    await expect(log.appendAsFollower(backwards)).rejects.toThrow(/overlap/);
    const torn = followerBatches(5, 2, 2).subarray(0, 100);
    await expect(log.appendAsFollower(torn)).rejects.toBeInstanceOf(CorruptRecordError);
    await expect(log.appendAsFollower(Buffer.alloc(0))).rejects.toBeInstanceOf(CorruptRecordError);
    expect(log.logEndOffset).toBe(5);
    expect(log.leaderEpochEntries()).toEqual([{ epoch: 1, startOffset: 0 }]);
    // Still appendable at the end, and the leader path continues after it.
    await log.appendAsFollower(followerBatches(5, 1, 2));
    const led = await log.append(batch(), { leaderEpoch: 4, nowMs: 0 });
    expect(led.firstOffset).toBe(6);
    expect(log.leaderEpochEntries()).toEqual([
      { epoch: 1, startOffset: 0 },
      { epoch: 2, startOffset: 5 },
      { epoch: 4, startOffset: 6 },
    ]);
    await log.close();
  });

  it('accepts gaps (a compacted leader log keeps its offsets) and reads across them after a restart', async () => {
    const fs = new MemoryFileSystem();
    const log = await openLog(fs, DIR, small);
    await log.appendAsFollower(followerBatches(0, 3, 1));
    // Offsets 3-6 were cleaned away on the leader: the next batches start at 7, then 12.
    await log.appendAsFollower(Buffer.concat([followerBatches(7, 2, 1), followerBatches(12, 1, 1)]));
    expect(log.logEndOffset).toBe(13);
    const read = await log.read(3, { maxBytes: 1 << 20, minOneMessage: true });
    expect(read.records.readBigInt64BE(0)).toBe(7n);
    await log.close();
    const again = await openLog(fs, DIR, small);
    expect(again.logEndOffset).toBe(13);
    expect((await again.read(9, { maxBytes: 1 << 20, minOneMessage: true })).records.readBigInt64BE(0)).toBe(12n);
    await again.close();
  });
});

describe('leader-epoch cache in the log', () => {
  it('follows leader appends, answers OffsetsForLeaderEpoch, survives restarts and truncation', async () => {
    const fs = new MemoryFileSystem();
    let log = await openLog(fs, DIR, small);
    for (const [epoch, n] of [
      [0, 4],
      [2, 3],
      [5, 6],
    ] as const) {
      for (let i = 0; i < n; i++) await log.append(batch({ records: 2 }), { leaderEpoch: epoch, nowMs: 0 });
    }
    expect(log.leaderEpochEntries()).toEqual([
      { epoch: 0, startOffset: 0 },
      { epoch: 2, startOffset: 8 },
      { epoch: 5, startOffset: 14 },
    ]);
    expect(log.latestEpoch).toBe(5);
    expect(log.endOffsetForEpoch(0)).toEqual({ epoch: 0, endOffset: 8 });
    expect(log.endOffsetForEpoch(1)).toEqual({ epoch: 0, endOffset: 8 });
    expect(log.endOffsetForEpoch(4)).toEqual({ epoch: 2, endOffset: 14 });
    expect(log.endOffsetForEpoch(5)).toEqual({ epoch: 5, endOffset: 26 });
    expect(log.endOffsetForEpoch(6)).toEqual({ epoch: -1, endOffset: -1 });
    // The file is already on disk (written before the batches that needed it): a crash keeps it.
    fs.crash();
    log = await openLog(fs, DIR, small);
    await expectStateMatchesLog(log, 'after crash');
    // Truncation into epoch 2 removes epoch 5 and everything above.
    await log.truncateTo(12);
    expect(log.leaderEpochEntries()).toEqual([
      { epoch: 0, startOffset: 0 },
      { epoch: 2, startOffset: 8 },
    ]);
    expect(log.endOffsetForEpoch(2)).toEqual({ epoch: 2, endOffset: 12 });
    await log.appendAsFollower(followerBatches(12, 2, 6));
    expect(log.endOffsetForEpoch(5)).toEqual({ epoch: 2, endOffset: 12 });
    await log.close();
    log = await openLog(fs, DIR, small);
    await expectStateMatchesLog(log, 'after clean restart');
    // Log start moves: entries below are clipped.
    await log.deleteRecordsBefore(10);
    expect(log.leaderEpochEntries()).toEqual([
      { epoch: 2, startOffset: 10 },
      { epoch: 6, startOffset: 12 },
    ]);
    expect(log.endOffsetForEpoch(1)).toEqual({ epoch: 1, endOffset: 10 });
    await log.close();
    log = await openLog(fs, DIR, small);
    expect(log.leaderEpochEntries()).toEqual([
      { epoch: 2, startOffset: 10 },
      { epoch: 6, startOffset: 12 },
    ]);
    await log.close();
  });

  it('retention clips the cache to the new log start', async () => {
    const fs = new MemoryFileSystem();
    const log = await openLog(fs, DIR, { ...small, retentionBytes: 700 });
    for (let i = 0; i < 20; i++) await log.append(batch({ records: 1, valueBytes: 60 }), { leaderEpoch: Math.floor(i / 5), nowMs: 0 });
    await log.enforceRetention(0);
    expect(log.logStartOffset).toBeGreaterThan(0);
    const entries = log.leaderEpochEntries();
    expect(entries[0]!.startOffset).toBe(log.logStartOffset);
    await expectStateMatchesLog(log);
    await log.close();
  });

  it('a missing or corrupt checkpoint is rebuilt from the batches', async () => {
    const fs = new MemoryFileSystem();
    let log = await openLog(fs, DIR, small);
    for (let i = 0; i < 12; i++) await log.append(batch(), { leaderEpoch: i < 6 ? 1 : 3, nowMs: 0 });
    await log.close();
    const path = `${DIR}/${LEADER_EPOCH_CHECKPOINT_FILE}`;
    await fs.unlink(path);
    log = await openLog(fs, DIR, small);
    expect(log.leaderEpochEntries()).toEqual([
      { epoch: 1, startOffset: 0 },
      { epoch: 3, startOffset: 6 },
    ]);
    await log.close();
    fs.flipBit(path, 4, 2);
    const logger = recordingLogger();
    log = await openLog(fs, DIR, small, undefined, logger);
    expect(log.leaderEpochEntries()).toEqual([
      { epoch: 1, startOffset: 0 },
      { epoch: 3, startOffset: 6 },
    ]);
    expect(logger.lines.find((l) => l.msg === 'replication state loaded')!.obj).toMatchObject({ epochCacheRebuilt: true });
    await log.close();
  });
});

describe('producer state in the log', () => {
  async function produce(log: PartitionLog, id: number, epoch: number, seq: number, records: number): Promise<number> {
    const check = log.checkProducerBatch(id, epoch, seq, seq + records - 1);
    if (check.kind === 'duplicate') return check.firstOffset;
    expect(check).toEqual({ kind: 'ok' });
    const r = await log.append(batch({ records, producerId: id, producerEpoch: epoch, baseSequence: seq }), { leaderEpoch: 1, nowMs: 0 });
    return r.firstOffset;
  }

  it('detects duplicates and gaps on the leader path and keeps the state across roll, crash and clean restart', async () => {
    const fs = new MemoryFileSystem({ tornWrites: true, seed: 3 });
    let log = await openLog(fs, DIR, small);
    let seq = 0;
    for (let i = 0; i < 20; i++) {
      await produce(log, 42, 0, seq, 2);
      seq += 2;
    }
    // A retried batch is acked with its original offset and not appended again.
    const end = log.logEndOffset;
    expect(await produce(log, 42, 0, 36, 2)).toBe(36);
    expect(log.logEndOffset).toBe(end);
    const gap = log.checkProducerBatch(42, 0, seq + 1, seq + 1);
    expect(gap.kind === 'error' && gap.error).toBe('SEQUENCE_GAP');
    expect(log.producerSnapshotOffsets().length).toBeGreaterThan(0);
    const before = log.producerEntries();
    await log.close();
    expect(fs.listFiles().filter((f) => f.endsWith(SNAPSHOT_SUFFIX)).length).toBeGreaterThan(0);
    log = await openLog(fs, DIR, small);
    expect(log.producerEntries()).toEqual(before);
    // Unflushed appends then a crash: whatever survives, the state equals a replay of it.
    for (let i = 0; i < 5; i++) {
      await produce(log, 42, 0, seq, 1);
      seq += 1;
    }
    fs.crash();
    log = await openLog(fs, DIR, small);
    const facts = await expectStateMatchesLog(log, 'after crash');
    const last = facts.at(-1)!;
    expect(log.checkProducerBatch(42, 0, last.baseSequence + (last.last - last.base) + 1, 1000)).toEqual({ kind: 'ok' });
    await log.close();
  });

  it('truncation reloads from an older snapshot plus replay; a corrupt snapshot falls back to an older one', async () => {
    const fs = new MemoryFileSystem();
    let log = await openLog(fs, DIR, small);
    for (let i = 0; i < 30; i++) await log.append(batch({ records: 1, producerId: i % 3, producerEpoch: 0, baseSequence: Math.floor(i / 3), valueBytes: 40 }), { leaderEpoch: 0, nowMs: 0 });
    const snaps = log.producerSnapshotOffsets();
    expect(snaps.length).toBeGreaterThan(2);
    await log.truncateTo(snaps[1]! + 1);
    expect(log.producerSnapshotOffsets().every((o) => o <= snaps[1]! + 1)).toBe(true);
    await expectStateMatchesLog(log, 'after truncation');
    // The follower that is now leader continues each producer's sequence.
    for (const id of [0, 1, 2]) {
      const e = log.producerEntry(id)!;
      expect(log.checkProducerBatch(id, 0, e.batches.at(-1)!.lastSeq + 1, e.batches.at(-1)!.lastSeq + 1)).toEqual({ kind: 'ok' });
    }
    await log.close();
    // Damage the newest snapshot: the next one down is used (and the state still matches the log).
    const newest = log.producerSnapshotOffsets().at(-1)!;
    fs.flipBit(`${DIR}/${String(newest).padStart(20, '0')}${SNAPSHOT_SUFFIX}`, 10, 1);
    log = await openLog(fs, DIR, small);
    expect(log.producerSnapshotOffsets()).not.toContain(newest);
    await expectStateMatchesLog(log, 'after a corrupt snapshot');
    await log.close();
  });

  it('truncateFullyAndStartAt empties the log, the cache and the producer state', async () => {
    const fs = new MemoryFileSystem();
    let log = await openLog(fs, DIR, small);
    for (let i = 0; i < 15; i++) await log.append(batch({ producerId: 1, producerEpoch: 0, baseSequence: i, valueBytes: 50 }), { leaderEpoch: 2, nowMs: 0 });
    await log.truncateFullyAndStartAt(100);
    expect(log.logStartOffset).toBe(100);
    expect(log.logEndOffset).toBe(100);
    expect(log.leaderEpochEntries()).toEqual([]);
    expect(log.producerEntries()).toEqual([]);
    expect(fs.listFiles().filter((f) => f.endsWith(SNAPSHOT_SUFFIX) || f.endsWith(LEADER_EPOCH_CHECKPOINT_FILE))).toEqual([]);
    await log.appendAsFollower(followerBatches(100, 3, 7, { id: 1, epoch: 1, seq: 0 }));
    fs.crash();
    log = await openLog(fs, DIR, small);
    expect(log.logStartOffset).toBe(100);
    await expectStateMatchesLog(log);
    // Below the current start too (the leader's log start moved back after an unclean election).
    await log.truncateFullyAndStartAt(50);
    expect(log.logEndOffset).toBe(50);
    await log.close();
    log = await openLog(fs, DIR, small);
    expect([log.logStartOffset, log.logEndOffset]).toEqual([50, 50]);
    expect(log.leaderEpochEntries()).toEqual([]);
    await log.close();
  });

  it('bounds the producers per partition: the leader refuses a new id, a follower evicts the idlest', async () => {
    const fs = new MemoryFileSystem();
    const clock = new ManualClock();
    const config = { ...small, maxProducersPerPartition: 2, producerIdExpirationMs: 10_000 };
    const log = await openLog(fs, DIR, config, clock);
    const now = clock.nowMs();
    await log.append(batch({ producerId: 1, producerEpoch: 0, baseSequence: 0, baseTimestamp: now }), { leaderEpoch: 0, nowMs: now });
    await log.append(batch({ producerId: 2, producerEpoch: 0, baseSequence: 0, baseTimestamp: now + 1 }), { leaderEpoch: 0, nowMs: now });
    const refused = await log.append(batch({ producerId: 3, producerEpoch: 0, baseSequence: 0 }), { leaderEpoch: 0, nowMs: now }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(TooManyProducersError);
    expect((refused as Error).message).toMatch(/maxProducersPerPartition 2/);
    expect(log.logEndOffset).toBe(2);
    expect(log.checkProducerBatch(3, 0, 0, 0)).toMatchObject({ kind: 'error', error: 'TOO_MANY_PRODUCERS' });
    // Once producer 1 has been idle long enough, the new id gets in.
    await log.append(batch({ producerId: 3, producerEpoch: 0, baseSequence: 0, baseTimestamp: now + 10_000 }), { leaderEpoch: 0, nowMs: now + 10_000 });
    expect(log.producerEntries().map((e) => e.producerId)).toEqual([2, 3]);
    // The follower path never refuses the leader's data.
    await log.appendAsFollower(batch({ baseOffset: 3, leaderEpoch: 0, producerId: 4, producerEpoch: 0, baseSequence: 0, baseTimestamp: now + 20_000 }));
    expect(log.producerEntries().map((e) => e.producerId)).toEqual([3, 4]);
    expect(await log.removeExpiredProducers(now + 20_000 + 10_000)).toBe(2);
    await log.close();
  });

  it('expires idle producers at open', async () => {
    const fs = new MemoryFileSystem();
    const clock = new ManualClock();
    const config = { ...small, producerIdExpirationMs: 1000 };
    let log = await openLog(fs, DIR, config, clock);
    await log.append(batch({ producerId: 5, producerEpoch: 0, baseSequence: 0, baseTimestamp: clock.nowMs() }), { leaderEpoch: 0, nowMs: 0 });
    await log.close();
    clock.advance(1000);
    log = await openLog(fs, DIR, config, clock);
    expect(log.producerEntries()).toEqual([]);
    expect(factsOf((await readAll(log))[0]!).producerId).toBe(5);
    await log.close();
  });
});
