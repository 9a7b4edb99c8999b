/**
 * Seeded simulation of a compacted log: random keyed appends (tombstones, keyless records, codecs, producers),
 * flushes, compaction passes with random settings (map size, lags, ratio, delete retention, uncleanable offset),
 * passes racing appends and reads, truncations, deleteRecordsBefore, retention, clean restarts, torn crashes and
 * crashes in the middle of a pass. After every step the compaction invariants hold (compaction-helpers.ts
 * checkCompacted) and each key appears at most once below the cleaner checkpoint. `SEED=n` replays one seed,
 * `COMPACTION_SIM_SEEDS=n` runs more.
 */
import { describe, expect, it } from 'vitest';
import { seededRng, type Rng } from '@tributary/common';
import type { CompressionName } from '@tributary/protocol';
import { MemoryFileSystem } from '../src/fs/memory-file-system.ts';
import { CLEANER_STEPS, type CompactionConfig } from '../src/log-cleaner.ts';
import type { PartitionLog } from '../src/partition-log.ts';
import { checkCompacted, keyedBatch, Model, type KeyedRecord } from './compaction-helpers.ts';
import { openLog, splitBatches } from './helpers.ts';

const DIR = '/data/sim-compacted-0';
const CODECS: CompressionName[] = ['none', 'none', 'none', 'none', 'gzip', 'zstd'];

function randomBatch(rng: Rng, keys: number, step: number): { records: KeyedRecord[]; bytes: Buffer } {
  const records: KeyedRecord[] = [];
  const n = 1 + rng.int(4);
  for (let j = 0; j < n; j++) {
    const roll = rng.int(100);
    records.push({ key: roll < 3 ? null : `k${rng.int(keys)}`, value: roll >= 3 && roll < 13 ? null : `s${step}-${j}`, timestamp: 10_000 + step * 10 + j });
  }
  const producerId = rng.int(3) === 0 ? 1 + rng.int(2) : -1;
  const bytes = keyedBatch(records, { compression: CODECS[rng.int(CODECS.length)]!, producerId, producerEpoch: producerId < 0 ? -1 : 0, baseSequence: producerId < 0 ? -1 : step * 8 });
  return { records, bytes };
}

/**
 * As in a broker, cleaning stays below the high watermark and truncation above it (a truncation below the cleaned
 * range could remove the record that made an older, already removed, value obsolete). `hw` moves to the log end at
 * every flush (committed = durable here) and only back when a crash or retention takes the log below it.
 */
function randomCompaction(rng: Rng, log: PartitionLog, hw: number): CompactionConfig {
  const config: CompactionConfig = {
    deleteRetentionMs: [0, 300, 3000][rng.int(3)]!,
    minCleanableDirtyRatio: [0, 0, 0.3, 0.7][rng.int(4)]!,
    minCompactionLagMs: [0, 0, 0, 500][rng.int(4)]!,
    maxCompactionLagMs: [Number.MAX_SAFE_INTEGER, 1000][rng.int(2)]!,
  };
  if (rng.int(4) === 0) config.offsetMapBytes = 600 + rng.int(2000);
  config.uncleanableOffset = rng.int(5) === 0 ? Math.max(0, Math.min(hw, log.logEndOffset - rng.int(15))) : hw;
  return config;
}

async function runSeed(seed: number): Promise<void> {
  const rng = seededRng(seed);
  const fs = new MemoryFileSystem({ tornWrites: true, seed });
  const config = { segmentBytes: 200 + rng.int(700), indexIntervalBytes: 16 + rng.int(200), segmentMs: 500 + rng.int(2000), retentionMs: rng.int(3) === 0 ? 4000 : -1 };
  const keys = 3 + rng.int(25);
  let log = await openLog(fs, DIR, config);
  const model = new Model();
  let lossFrom = Number.MAX_SAFE_INTEGER; // offsets at or above may be lost by the crash just done
  let hw = 0;
  const steps = 80 + rng.int(60);
  const reopenAfterCrash = async (): Promise<void> => {
    lossFrom = log.flushedOffset;
    fs.crash();
    log = await openLog(fs, DIR, config);
  };
  for (let step = 0; step < steps; step++) {
    const nowMs = step * 100;
    const op = rng.int(100);
    if (process.env.TRACE) console.log(`step ${step} op ${op} logStart ${log.logStartOffset} logEnd ${log.logEndOffset} flushed ${log.flushedOffset} cp ${log.cleanerCheckpoint} segs ${log.segmentBaseOffsets().join(',')}`);
    if (op < 42) {
      const { records, bytes } = randomBatch(rng, keys, step);
      const r = await log.append(bytes, { leaderEpoch: 1, nowMs });
      model.add(r.firstOffset, records);
    } else if (op < 48) {
      await log.flush();
      hw = log.logEndOffset;
    } else if (op < 62) {
      const cc = randomCompaction(rng, log, hw);
      const r = await log.compact(nowMs, cc);
      if (process.env.TRACE) console.log('compact', JSON.stringify(cc), JSON.stringify(r));
      expect(r.skipped === null || r.skipped === 'not-dirty-enough' || r.skipped === 'nothing-cleanable').toBe(true);
    } else if (op < 67) {
      // A pass racing appends and reads.
      const a = randomBatch(rng, keys, step);
      const b = randomBatch(rng, keys, step + 0.5);
      const readAt = log.logStartOffset + rng.int(log.logEndOffset - log.logStartOffset + 1);
      const [, ra, read, rb] = await Promise.all([
        log.compact(nowMs, randomCompaction(rng, log, hw)),
        log.append(a.bytes, { leaderEpoch: 1, nowMs }),
        log.read(readAt, { maxBytes: 2000, minOneMessage: true }),
        log.append(b.bytes, { leaderEpoch: 1, nowMs }),
      ]);
      model.add(ra.firstOffset, a.records);
      model.add(rb.firstOffset, b.records);
      for (const part of splitBatches(read.records)) expect(part.readInt32BE(8) + 12).toBe(part.length);
    } else if (op < 72 && log.logEndOffset > Math.max(log.logStartOffset, hw)) {
      const to = Math.max(log.logStartOffset, hw, log.logEndOffset - 1 - rng.int(25));
      await log.truncateTo(to);
      if (process.env.TRACE) console.log('truncate', to, log.logEndOffset, JSON.stringify([...model.byOffset].filter(([, r]) => r.key === 'k5')));
      expect(log.logEndOffset).toBeLessThanOrEqual(Math.max(to, log.logStartOffset));
      model.dropFrom(log.logEndOffset);
      expect(log.cleanerCheckpoint).toBeLessThanOrEqual(log.logEndOffset);
    } else if (op < 76) {
      await log.deleteRecordsBefore(log.logStartOffset + rng.int(log.logEndOffset - log.logStartOffset + 1));
    } else if (op < 80) {
      await log.enforceRetention(nowMs + 10_000);
    } else if (op < 85) {
      await log.close();
      log = await openLog(fs, DIR, config);
    } else if (op < 91) {
      await reopenAfterCrash();
    } else {
      // Power loss in the middle of a pass.
      const target = CLEANER_STEPS[rng.int(CLEANER_STEPS.length)]!;
      const occurrence = 1 + rng.int(2);
      let seen = 0;
      const pass = randomCompaction(rng, log, hw);
      pass.failpoint = (at) => {
        if (at === target && ++seen === occurrence) throw new Error('power loss');
      };
      const res = await log.compact(nowMs, pass).catch((e) => String(e));
      if (process.env.TRACE) console.log('crash-compact', target, occurrence, JSON.stringify(pass), JSON.stringify(res));
      await reopenAfterCrash();
    }
    await checkCompacted(log, model, { dedupedBelow: log.cleanerCheckpoint, mayBeLost: (o) => o >= lossFrom });
    hw = Math.min(hw, log.logEndOffset);
    if (lossFrom !== Number.MAX_SAFE_INTEGER) {
      model.dropFrom(log.logEndOffset);
      lossFrom = Number.MAX_SAFE_INTEGER;
    }
    expect(fs.listFiles().some((f) => /\.cleaned|\.swap/.test(f))).toBe(false);
  }
  await log.close();
}

describe('seeded compaction simulation', () => {
  const only = process.env.SEED;
  const seeds = only !== undefined ? [Number(only)] : Array.from({ length: Number(process.env.COMPACTION_SIM_SEEDS ?? 30) }, (_, i) => i + 1);
  it(`keeps the compaction invariants over ${seeds.length} seeds`, async () => {
    for (const seed of seeds) {
      try {
        await runSeed(seed);
      } catch (err) {
        throw new Error(`seed ${seed}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      }
    }
  }, 300_000);
});
