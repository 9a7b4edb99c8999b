/**
 * Log compaction throughput on the real file system.
 *   node packages/storage/bench/compaction.ts [totalMiB=64] [keys=20000] [codec=none]
 * Appends 16-record batches of 1 KiB values (half random bytes) over `keys` random keys, then runs one compaction pass and reports the
 * pass's duration, MB/s over the bytes it read (the whole log once for the map, the cleaned range once more), how much
 * it removed, and the longest stall an append saw while the pass ran (appends keep going during a pass) next to the
 * longest one over as many appends without a pass.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock, seededRng, silentLogger } from '@tributary/common';
import { encodeRecordBatch, type CompressionName } from '@tributary/protocol';
import { NodeFileSystem } from '../src/fs/node-file-system.ts';
import { PartitionLog, defaultLogConfig } from '../src/partition-log.ts';

async function main(): Promise<void> {
  const totalMiB = Number(process.argv[2] ?? 64);
  const keys = Number(process.argv[3] ?? 20_000);
  const codec = (process.argv[4] ?? 'none') as CompressionName;
  const root = mkdtempSync(join(tmpdir(), 'trib-bench-compaction-'));
  const rng = seededRng(1);
  // Values compress about 2:1 (half random bytes), drawn from a pool so batches do not repeat one value 16 times.
  const pool = Array.from({ length: 256 }, () => {
    const v = Buffer.alloc(1024);
    for (let j = 0; j < 512; j++) v[j] = rng.int(256);
    return v;
  });
  const batch = (i: number): Buffer =>
    encodeRecordBatch({
      records: Array.from({ length: 16 }, () => ({ key: `key-${rng.int(keys)}`, value: pool[rng.int(pool.length)]!, timestamp: 1_700_000_000_000 + i })),
      compression: codec,
    });
  try {
    const log = await PartitionLog.open({
      fs: new NodeFileSystem(),
      dir: join(root, 'bench-0'),
      config: { ...defaultLogConfig, segmentBytes: Math.max(1, Math.floor(totalMiB / 8)) * 1024 * 1024, retentionMs: -1 },
      clock: new ManualClock(),
      logger: silentLogger,
    });
    let i = 0;
    while (log.sizeInBytes < totalMiB * 1024 * 1024) await log.append(batch(i++), { leaderEpoch: 0, nowMs: 0 });
    await log.flush();
    const before = log.sizeInBytes;
    const started = performance.now();
    const pass = log.compact(0, { deleteRetentionMs: 0, minCleanableDirtyRatio: 0, minCompactionLagMs: 0, maxCompactionLagMs: Number.MAX_SAFE_INTEGER });
    let done = false;
    void pass.finally(() => (done = true));
    let worstAppendMs = 0;
    let appends = 0;
    // Bounded by the pass: appends run until it ends.
    while (!done) {
      const t = performance.now();
      await log.append(batch(i++), { leaderEpoch: 0, nowMs: 0 });
      worstAppendMs = Math.max(worstAppendMs, performance.now() - t);
      appends++;
    }
    const result = await pass;
    // Baseline: the same number of appends without a pass (segment rolls fsync inside the writer queue too).
    let baselineWorstMs = 0;
    for (let k = 0; k < appends; k++) {
      const t = performance.now();
      await log.append(batch(i++), { leaderEpoch: 0, nowMs: 0 });
      baselineWorstMs = Math.max(baselineWorstMs, performance.now() - t);
    }
    const seconds = (performance.now() - started) / 1000;
    const readMiB = (before + result.bytesBefore) / (1024 * 1024);
    console.log(
      `compacted ${(result.bytesBefore / 1048576).toFixed(1)} MiB -> ${(result.bytesAfter / 1048576).toFixed(1)} MiB in ${seconds.toFixed(2)} s ` +
        `(${(readMiB / seconds).toFixed(0)} MiB/s read), ${result.recordsRemoved} records removed, ` +
        `${appends} appends during the pass, worst append ${worstAppendMs.toFixed(1)} ms (${baselineWorstMs.toFixed(1)} ms without a pass)`,
    );
    await log.close();
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

await main();
