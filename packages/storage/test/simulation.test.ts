/**
 * Seeded simulation: random appends, flushes, truncations, deleteRecordsBefore, clean restarts and crashes (with torn
 * writes) against a model of the log. After every step the log must match the model; after a crash it must hold at
 * least everything that was durable and nothing that was never written. A failing seed reproduces with `SEED`.
 */
import { describe, expect, it } from 'vitest';
import { seededRng, type Rng } from '@tributary/common';
import { checkBatch } from '../src/batch-format.ts';
import { MemoryFileSystem } from '../src/fs/memory-file-system.ts';
import type { PartitionLog } from '../src/partition-log.ts';
import { makeBatch, openLog, readAll, splitBatches } from './helpers.ts';

const DIR = '/sim/p-0';

interface ModelBatch {
  bytes: Buffer;
  base: number;
  last: number;
  timestamps: number[];
}

function lastOf(batches: ModelBatch[], logStart: number): number {
  return batches.at(-1) ? batches.at(-1)!.last + 1 : logStart;
}

async function checkMatches(log: PartitionLog, model: ModelBatch[], logStart: number, rng: Rng): Promise<void> {
  expect(log.logStartOffset).toBe(logStart);
  expect(log.logEndOffset).toBe(lastOf(model, logStart));
  const visible = model.filter((b) => b.last >= logStart);
  const all = await readAll(log);
  expect(all.length).toBe(visible.length);
  all.forEach((b, i) => expect(b.equals(visible[i]!.bytes)).toBe(true));
  // A few random reads with random budgets.
  for (let k = 0; k < 3 && visible.length > 0; k++) {
    const offset = logStart + rng.int(log.logEndOffset - logStart + 1);
    const maxBytes = rng.int(2000);
    const r = await log.read(offset, { maxBytes, minOneMessage: rng.int(2) === 0 });
    const parts = splitBatches(r.records);
    if (parts.length > 0) {
      expect(Number(parts[0]!.readBigInt64BE(0))).toBeLessThanOrEqual(offset);
      const idx = visible.findIndex((b) => b.last >= offset);
      parts.forEach((p, j) => expect(p.equals(visible[idx + j]!.bytes)).toBe(true));
    }
  }
  // offsetForTimestamp against brute force.
  const target = 1000 + rng.int(4000);
  let expected: { offset: number; timestamp: number } | null = null;
  // Like Kafka's searchForTimestamp: the first record at or after the log start with timestamp >= target.
  for (const b of visible) {
    const j = b.timestamps.findIndex((t, i) => t >= target && b.base + i >= logStart);
    if (j < 0) continue;
    expected = { offset: b.base + j, timestamp: b.timestamps[j]! };
    break;
  }
  expect(await log.offsetForTimestamp(target)).toEqual(expected);
}

async function runSeed(seed: number): Promise<void> {
  const rng = seededRng(seed);
  const fs = new MemoryFileSystem({ tornWrites: true, seed });
  const config = {
    segmentBytes: 600 + rng.int(3000),
    indexIntervalBytes: rng.int(400),
    segmentIndexBytes: 48 + rng.int(200),
    retentionMs: rng.int(2) === 0 ? -1 : 500 + rng.int(3000),
    retentionBytes: rng.int(2) === 0 ? -1 : 500 + rng.int(4000),
  };
  let log = await openLog(fs, DIR, config);
  let model: ModelBatch[] = [];
  let logStart = 0;
  let durable = 0; // model batches known to be on disk
  for (let step = 0; step < 120; step++) {
    const op = rng.int(100);
    if (process.env.SIM_TRACE) console.log(step, op, log.logStartOffset, log.logEndOffset, model.length, lastOf(model, logStart));
    if (op < 55) {
      const count = 1 + rng.int(3);
      const parts: Buffer[] = [];
      const stamps: number[][] = [];
      for (let c = 0; c < count; c++) {
        const records = 1 + rng.int(4);
        const timestamps = Array.from({ length: records }, () => 1000 + rng.int(4000));
        stamps.push(timestamps);
        parts.push(makeBatch({ records, timestamps, valueBytes: rng.int(120), fill: step & 0xff }));
      }
      const buf = Buffer.concat(parts);
      const r = await log.append(buf, { leaderEpoch: 1, nowMs: step });
      expect(r.firstOffset).toBe(lastOf(model, logStart));
      for (const [c, batch] of splitBatches(buf).entries()) {
        const base = Number(batch.readBigInt64BE(0));
        model.push({ bytes: Buffer.from(batch), base, last: base + batch.readInt32BE(23), timestamps: stamps[c]! });
      }
      // Rolls flush: everything below the recovery point is durable.
      durable = Math.max(durable, model.filter((b) => b.last < log.flushedOffset).length);
    } else if (op < 65) {
      await log.flush();
      durable = model.length;
    } else if (op < 72 && model.length > 0) {
      const end = lastOf(model, logStart);
      const to = Math.max(logStart, end - rng.int(20));
      await log.truncateTo(to);
      if (to < end) {
        model = model.filter((b) => b.last < to);
        if (lastOf(model, logStart) < logStart) {
          // the cut fell inside the batch holding the log start: the log restarts empty at `to`
          model = [];
          logStart = to;
        }
        durable = Math.min(durable, model.length);
      }
    } else if (op < 78) {
      const end = lastOf(model, logStart);
      const to = logStart + rng.int(end - logStart + 1);
      logStart = await log.deleteRecordsBefore(to);
      expect(logStart).toBe(Math.max(to, logStart));
    } else if (op < 81) {
      const before = log.logStartOffset;
      await log.enforceRetention(5000);
      expect(log.logStartOffset).toBeGreaterThanOrEqual(before);
      logStart = log.logStartOffset;
      if (config.retentionBytes >= 0 && log.numberOfSegments > 1) {
        // Deleting the oldest remaining segment would go below the limit (else retention should have deleted it).
        const oldest = fs.fileSize(`${DIR}/${String(log.segmentBaseOffsets()[0]).padStart(20, '0')}.log`);
        expect(log.sizeInBytes - oldest).toBeLessThan(config.retentionBytes);
      }
    } else if (op < 83) {
      // Concurrent appends and a read: appends land in call order, the read sees whole batches of the model.
      const a = makeBatch({ records: 2, timestamps: [2000, 2001], fill: 1 });
      const b = makeBatch({ records: 1, timestamps: [2002], fill: 2 });
      const offset = logStart + rng.int(log.logEndOffset - logStart + 1);
      const [ra, read, rb] = await Promise.all([
        log.append(a, { leaderEpoch: 1, nowMs: step }),
        log.read(offset, { maxBytes: 5000, minOneMessage: true }),
        log.append(b, { leaderEpoch: 1, nowMs: step }),
      ]);
      expect(rb.firstOffset).toBe(ra.lastOffset + 1);
      model.push({ bytes: Buffer.from(a), base: ra.firstOffset, last: ra.lastOffset, timestamps: [2000, 2001] });
      model.push({ bytes: Buffer.from(b), base: rb.firstOffset, last: rb.lastOffset, timestamps: [2002] });
      const parts = splitBatches(read.records);
      const idx = model.findIndex((m) => m.last >= offset);
      parts.forEach((p, j) => expect(p.equals(model[idx + j]!.bytes)).toBe(true));
      durable = Math.max(durable, model.filter((m) => m.last < log.flushedOffset).length);
    } else if (op < 86) {
      await log.close();
      log = await openLog(fs, DIR, config);
      durable = model.length;
    } else if (op < 94) {
      fs.crash();
      log = await openLog(fs, DIR, config);
      const survived = await readAll(log);
      // At least the durable prefix, at most what was written, byte for byte.
      const visible = model.filter((b) => b.last >= log.logStartOffset);
      const durableVisible = model.slice(0, durable).filter((b) => b.last >= log.logStartOffset).length;
      expect(survived.length).toBeGreaterThanOrEqual(durableVisible);
      expect(survived.length).toBeLessThanOrEqual(visible.length);
      survived.forEach((b, i) => {
        expect(checkBatch(b, 0, b.length).ok).toBe(true);
        expect(b.equals(visible[i]!.bytes)).toBe(true);
      });
      logStart = log.logStartOffset;
      const cut = model.length - visible.length + survived.length;
      model = model.slice(0, cut);
      // Tail lost below the log start: the log restarts empty at the log start.
      if (lastOf(model, logStart) < logStart) model = [];
      durable = model.length;
    }
    await checkMatches(log, model, logStart, rng);
  }
  await log.close();
}

describe('seeded log simulation', () => {
  const only = process.env.SEED;
  // Seeds that once failed stay in the default run: 206 (recovered closed segment lost its final time-index entry).
  const regressions = [206];
  const seeds = only !== undefined ? [Number(only)] : [...Array.from({ length: Number(process.env.SIM_SEEDS ?? 40) }, (_, i) => i + 1), ...regressions];
  it(`matches the model over ${seeds.length} seeds`, async () => {
    for (const seed of seeds) {
      try {
        await runSeed(seed);
      } catch (err) {
        throw new Error(`seed ${seed}: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
      }
    }
  }, 120_000);
});
