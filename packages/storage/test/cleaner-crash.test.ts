/**
 * Crash safety of log compaction: a power loss (MemoryFileSystem.crash with torn writes) at every step of a cleaning
 * pass — at each named failpoint of the cleaner, and before each single mutating file-system operation of the pass —
 * over many seeds. After reopening: the log validates (CRCs, strictly increasing offsets, no duplicates), every
 * record present is the one written at that offset, every key's latest durable value is there (or its tombstone went
 * and no older value is left), records outside the cleaned range and records without a key are all there, and the
 * next pass completes. `SEED=n` replays one seed.
 */
import { describe, expect, it } from 'vitest';
import { seededRng, type Rng } from '@tributary/common';
import type { CompressionName } from '@tributary/protocol';
import { MemoryFileSystem } from '../src/fs/memory-file-system.ts';
import { CLEANER_STEPS, type CleanerStep, type CompactionConfig } from '../src/log-cleaner.ts';
import type { PartitionLog } from '../src/partition-log.ts';
import { checkCompacted, compactAll, CrashingFileSystem, keyedBatch, Model, type KeyedRecord } from './compaction-helpers.ts';
import { openLog, recordingLogger } from './helpers.ts';

const DIR = '/data/crash-0';

interface Setup {
  mem: MemoryFileSystem;
  crashing: CrashingFileSystem;
  log: PartitionLog;
  model: Model;
  config: { segmentBytes: number; indexIntervalBytes: number };
  rng: Rng;
  nowMs: number;
  compaction: CompactionConfig;
}

// Mostly uncompressed (compression dominates the run time); every codec family still shows up.
const CODECS: CompressionName[] = ['none', 'none', 'none', 'none', 'none', 'none', 'gzip', 'zstd', 'lz4'];

async function writeRandom(log: PartitionLog, model: Model, rng: Rng, batches: number, keys: number, tsBase: number): Promise<void> {
  const sequences = new Map<number, number>();
  for (let i = 0; i < batches; i++) {
    const n = 1 + rng.int(5);
    const records: KeyedRecord[] = [];
    for (let j = 0; j < n; j++) {
      const roll = rng.int(100);
      const key = roll < 3 ? null : `k${rng.int(keys)}`;
      const value = roll >= 3 && roll < 13 ? null : `v${tsBase}-${i}-${j}${'.'.repeat(rng.int(30))}`;
      records.push({ key, value, timestamp: tsBase + i });
    }
    const producerId = [-1, -1, 1, 2][rng.int(4)]!;
    const sequence = sequences.get(producerId) ?? 0;
    const batch = keyedBatch(records, {
      compression: CODECS[rng.int(CODECS.length)]!,
      producerId,
      producerEpoch: producerId < 0 ? -1 : 0,
      baseSequence: producerId < 0 ? -1 : sequence,
    });
    if (producerId >= 0) sequences.set(producerId, sequence + n);
    const r = await log.append(batch, { leaderEpoch: 1, nowMs: 0 });
    model.add(r.firstOffset, records);
  }
}

async function setup(seed: number): Promise<Setup> {
  const rng = seededRng(seed);
  const mem = new MemoryFileSystem({ tornWrites: true, seed });
  const crashing = new CrashingFileSystem(mem);
  const config = { segmentBytes: 500 + rng.int(1500), indexIntervalBytes: 32 + rng.int(300) };
  const log = await openLog(crashing, DIR, config);
  const model = new Model();
  const keys = 4 + rng.int(30);
  const compaction: CompactionConfig = { ...compactAll, deleteRetentionMs: 500 };
  await writeRandom(log, model, rng, 30 + rng.int(50), keys, 10_000);
  // Half the seeds start from an already compacted log whose tombstones' horizons pass during the crashed pass.
  if (rng.int(2) === 0) {
    await log.compact(1000, compaction);
    await writeRandom(log, model, rng, 15 + rng.int(40), keys, 20_000);
  }
  await log.flush();
  return { mem, crashing, log, model, config, rng, nowMs: 2000, compaction };
}

interface CrashOutcome {
  crashed: boolean;
}

/** Runs a pass that crashes as told, crashes the file system, reopens and checks everything. */
async function crashAndCheck(seed: number, how: { step: CleanerStep; occurrence: number } | { opBudget: number }): Promise<CrashOutcome> {
  const s = await setup(seed);
  const activeBase = s.log.segmentBaseOffsets().at(-1)!;
  const durableEnd = s.log.logEndOffset;
  let seen = 0;
  const compaction: CompactionConfig = { ...s.compaction };
  if ('step' in how) {
    compaction.failpoint = (step) => {
      if (step === how.step && ++seen === how.occurrence) throw new Error('power loss');
    };
  } else {
    s.crashing.arm(how.opBudget);
  }
  const pass = s.log.compact(s.nowMs, compaction);
  // Appends racing the pass, never flushed: a crash may keep or lose them (fresh keys, so no key's latest depends on them).
  const racing = [0, 1, 2].map(async (i) => {
    const records = [{ key: `race${i}`, value: 'r', timestamp: 30_000 }];
    const r = await s.log.append(keyedBatch(records), { leaderEpoch: 1, nowMs: 0 });
    s.model.add(r.firstOffset, records);
  });
  let crashed = false;
  try {
    await pass;
  } catch {
    crashed = true;
  }
  await Promise.allSettled(racing);
  crashed ||= s.crashing.tripped;
  s.crashing.disarm();
  s.mem.crash();

  const logger = recordingLogger();
  const log = await openLog(s.mem, DIR, s.config, undefined, logger);
  expect(s.mem.listFiles().some((f) => /\.cleaned|\.swap|\.deleted/.test(f)), 'leftovers after open').toBe(false);
  const mayBeLost = (offset: number): boolean => offset >= durableEnd;
  await checkCompacted(log, s.model, { untouchedFrom: activeBase, mayBeLost });
  expect(log.cleanerCheckpoint).toBeLessThanOrEqual(log.logEndOffset);
  // The next pass completes the work: one record per key below its checkpoint.
  const next = await log.compact(s.nowMs, { ...s.compaction, minCleanableDirtyRatio: 0 });
  expect(next.skipped === null || next.skipped === 'not-dirty-enough' || next.skipped === 'nothing-cleanable').toBe(true);
  await checkCompacted(log, s.model, { untouchedFrom: log.segmentBaseOffsets().at(-1)!, dedupedBelow: log.cleanerCheckpoint, mayBeLost });
  await log.close();
  return { crashed };
}

const only = process.env.SEED;
const seeds = (n: number): number[] => (only !== undefined ? [Number(only)] : Array.from({ length: n }, (_, i) => i + 1));

describe('log cleaner crash safety', () => {
  it('a crash at every cleaner failpoint (first and later groups) leaves a valid log with every latest value', async () => {
    let crashes = 0;
    for (const seed of seeds(Number(process.env.CRASH_SEEDS ?? 8))) {
      for (const step of CLEANER_STEPS) {
        for (const occurrence of [1, 3]) {
          try {
            if ((await crashAndCheck(seed, { step, occurrence })).crashed) crashes++;
          } catch (err) {
            throw new Error(`seed ${seed} step ${step} occurrence ${occurrence}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
          }
        }
      }
    }
    // Most scenarios really crash (steps that happen once per pass only crash at occurrence 1).
    expect(crashes).toBeGreaterThan(only !== undefined ? 0 : 90);
  }, 300_000);

  it('a crash before every single file-system mutation of a pass leaves a valid log with every latest value', async () => {
    for (const seed of seeds(Number(process.env.CRASH_OP_SEEDS ?? 1))) {
      // Dry run: how many mutating operations does the pass (with its racing appends) take?
      const dry = await setup(seed);
      dry.crashing.arm(Number.MAX_SAFE_INTEGER);
      await dry.log.compact(dry.nowMs, dry.compaction);
      const ops = dry.crashing.count;
      await dry.log.close();
      expect(ops).toBeGreaterThan(10);
      for (let budget = 0; budget <= ops + 3; budget++) {
        try {
          await crashAndCheck(seed, { opBudget: budget });
        } catch (err) {
          throw new Error(`seed ${seed} budget ${budget}/${ops}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
        }
      }
    }
  }, 300_000);

  it('a crash while open() completes an interrupted swap is recovered the same way', async () => {
    for (const seed of seeds(Number(process.env.CRASH_OPEN_SEEDS ?? 1))) {
      for (const step of ['swap-committed', 'old-segments-deleted', 'indexes-renamed'] as const) {
        const interrupted = async (): Promise<Setup> => {
          const s = await setup(seed);
          let fired = false;
          const failpoint = (at: string): void => {
            if (at === step && !fired) {
              fired = true;
              throw new Error('power loss');
            }
          };
          await s.log.compact(s.nowMs, { ...s.compaction, failpoint }).catch(() => {});
          s.mem.crash();
          return s;
        };
        const dry = await interrupted();
        dry.crashing.arm(Number.MAX_SAFE_INTEGER);
        await (await openLog(dry.crashing, DIR, dry.config)).close();
        const ops = dry.crashing.count;
        for (let budget = 0; budget < ops; budget++) {
          const s = await interrupted();
          s.crashing.arm(budget);
          await openLog(s.crashing, DIR, s.config)
            .then((log) => log.close())
            .catch(() => {});
          s.crashing.disarm();
          s.mem.crash();
          const log = await openLog(s.mem, DIR, s.config);
          try {
            expect(s.mem.listFiles().some((f) => /\.cleaned|\.swap|\.deleted/.test(f))).toBe(false);
            await checkCompacted(log, s.model);
          } catch (err) {
            throw new Error(`seed ${seed} step ${step} budget ${budget}/${ops}: ${String(err)}`);
          }
          await log.close();
        }
      }
    }
  }, 120_000);

  it('a committed swap is completed at open, an uncommitted one rolled back', async () => {
    for (const [step, completed] of [
      ['index-swap-renamed', 0],
      ['swap-committed', 1],
      ['old-segments-deleted', 1],
      ['indexes-renamed', 1],
    ] as const) {
      const s = await setup(101);
      let fired = false;
      await expect(
        s.log.compact(s.nowMs, {
          ...s.compaction,
          failpoint: (at) => {
            if (at === step && !fired) {
              fired = true;
              throw new Error('power loss');
            }
          },
        }),
      ).rejects.toThrow(/power loss/);
      // Past the commit point the log refuses writes until reopened.
      if (completed === 1) await expect(s.log.append(keyedBatch([{ key: 'x', value: 'y', timestamp: 1 }]), { leaderEpoch: 1, nowMs: 0 })).rejects.toThrow();
      s.mem.crash();
      const logger = recordingLogger();
      const log = await openLog(s.mem, DIR, s.config, undefined, logger);
      const loaded = logger.lines.find((l) => l.msg === 'log loaded')!.obj as { swapsCompleted: number };
      expect(loaded.swapsCompleted, step).toBe(completed);
      await checkCompacted(log, s.model);
      await log.close();
    }
  }, 60_000);
});
