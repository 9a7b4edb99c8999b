/**
 * Crash safety of the replication state: a seeded workload of leader appends (epoch bumps, idempotent producers),
 * follower appends (several epochs per fetch), truncations, truncateFullyAndStartAt, flushes and clean restarts runs
 * on a file system that loses power (torn writes) before its n-th mutating operation, for every n. After reopening:
 * the log validates, and the leader-epoch cache and the producer state equal what replaying the surviving batches
 * gives; no producer snapshot lies past the log end. `REPLICATION_CRASH_SEEDS=n` runs more seeds, `SEED=n` one.
 */
import { describe, expect, it } from 'vitest';
import { seededRng } from '@tributary/common';
import { checkBatch } from '../src/batch-format.ts';
import { MemoryFileSystem } from '../src/fs/memory-file-system.ts';
import type { FileHandle, FileStat, FileSystem, OpenMode } from '../src/fs/file-system.ts';
import { LEADER_EPOCH_CHECKPOINT_FILE } from '../src/leader-epoch-cache.ts';
import { SNAPSHOT_SUFFIX } from '../src/producer-state.ts';
import { CrashingFileSystem, SimulatedCrash } from './compaction-helpers.ts';
import { openLog, readAll } from './helpers.ts';
import { batch, expectStateMatchesLog, factsOf } from './replication-helpers.ts';

const DIR = '/data/rc-0';
const CONFIG = { segmentBytes: 700, indexIntervalBytes: 128 };

/** Records the path of every mutating operation, counted exactly as CrashingFileSystem counts them. */
class PathRecorder implements FileSystem {
  readonly inner: FileSystem;
  readonly paths: string[] = [];
  constructor(inner: FileSystem) {
    this.inner = inner;
  }
  async open(path: string, mode: OpenMode): Promise<FileHandle> {
    if (mode === 'create') this.paths.push(path);
    const h = await this.inner.open(path, mode);
    return {
      path: h.path,
      read: (buf, offset, length, position) => h.read(buf, offset, length, position),
      write: (data, position) => {
        this.paths.push(path);
        return h.write(data, position);
      },
      size: () => h.size(),
      sync: () => {
        this.paths.push(path);
        return h.sync();
      },
      truncate: (length) => {
        this.paths.push(path);
        return h.truncate(length);
      },
      close: () => h.close(),
    };
  }
  readFile(path: string): Promise<Buffer> {
    return this.inner.readFile(path);
  }
  rename(from: string, to: string): Promise<void> {
    this.paths.push(to);
    return this.inner.rename(from, to);
  }
  unlink(path: string): Promise<void> {
    this.paths.push(path);
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
    this.paths.push(`${path}/ (dir)`);
    return this.inner.syncDir(path);
  }
}

/** The workload; deterministic for a seed, whatever file system it runs on. */
async function workload(fs: FileSystem, seed: number): Promise<void> {
  const rng = seededRng(seed);
  let log = await openLog(fs, DIR, CONFIG);
  let epoch = 0;
  const sequences = new Map<number, { epoch: number; seq: number }>();
  const producerFields = (records: number): { producerId: number; producerEpoch: number; baseSequence: number } => {
    if (rng.int(3) === 0) return { producerId: -1, producerEpoch: -1, baseSequence: -1 };
    const id = 100 + rng.int(3);
    const p = sequences.get(id) ?? { epoch: 0, seq: 0 };
    if (rng.int(8) === 0) {
      p.epoch++;
      p.seq = 0;
    }
    const fields = { producerId: id, producerEpoch: p.epoch, baseSequence: p.seq };
    p.seq += records;
    sequences.set(id, p);
    return fields;
  };
  for (let step = 0; step < 36; step++) {
    const op = rng.int(100);
    if (op < 35) {
      if (rng.int(4) === 0) epoch++;
      const records = 1 + rng.int(3);
      await log.append(batch({ records, valueBytes: 20 + rng.int(60), fill: step, ...producerFields(records) }), { leaderEpoch: epoch, nowMs: 0 });
    } else if (op < 65) {
      // A fetch from a leader: one to three batches, the epoch may move forward inside it.
      const parts: Buffer[] = [];
      let next = log.logEndOffset;
      for (let i = 1 + rng.int(3); i > 0; i--) {
        if (rng.int(3) === 0) epoch += 1 + rng.int(2);
        const records = 1 + rng.int(3);
        parts.push(batch({ baseOffset: next, leaderEpoch: epoch, records, valueBytes: 20 + rng.int(60), fill: step, ...producerFields(records) }));
        next += records;
      }
      await log.appendAsFollower(Buffer.concat(parts));
    } else if (op < 75) {
      await log.truncateTo(Math.max(log.logStartOffset, log.logEndOffset - rng.int(12)));
    } else if (op < 78) {
      await log.truncateFullyAndStartAt(log.logEndOffset + rng.int(3));
    } else if (op < 90) {
      await log.flush();
    } else {
      await log.close();
      log = await openLog(fs, DIR, CONFIG);
    }
  }
  await log.close();
}

async function checkAfterCrash(mem: MemoryFileSystem, context: string): Promise<void> {
  const log = await openLog(mem, DIR, CONFIG);
  try {
    const batches = await readAll(log);
    let expected = log.logStartOffset;
    for (const b of batches) {
      expect(checkBatch(b, 0, b.length).ok, context).toBe(true);
      expect(factsOf(b).base, context).toBe(expected);
      expected = factsOf(b).last + 1;
    }
    expect(expected, context).toBe(log.logEndOffset);
    await expectStateMatchesLog(log, context);
    expect(log.producerSnapshotOffsets().every((o) => o <= log.logEndOffset), context).toBe(true);
    const snapshotFiles = mem.listFiles().filter((f) => f.endsWith(SNAPSHOT_SUFFIX)).length;
    expect(snapshotFiles, context).toBe(log.producerSnapshotOffsets().length);
    // It keeps working: another leader append lands at the end and is reflected after a clean restart.
    await log.append(batch({ producerId: 7, producerEpoch: 0, baseSequence: 0 }), { leaderEpoch: log.latestEpoch + 1, nowMs: 0 });
    await log.close();
    const again = await openLog(mem, DIR, CONFIG);
    await expectStateMatchesLog(again, `${context} (after a further append and restart)`);
    await again.close();
  } catch (err) {
    await log.close().catch(() => {});
    throw err;
  }
}

function seedsToRun(): number[] {
  if (process.env.SEED !== undefined) return [Number(process.env.SEED)];
  return Array.from({ length: Number(process.env.REPLICATION_CRASH_SEEDS ?? 2) }, (_, i) => i + 1);
}

describe('replication state under power loss', () => {
  it('a crash before any mutating operation leaves an epoch cache and producer state equal to a replay of the surviving log', async () => {
    let epochFileCrashes = 0;
    let snapshotCrashes = 0;
    let total = 0;
    for (const seed of seedsToRun()) {
      const recorder = new PathRecorder(new MemoryFileSystem());
      await workload(recorder, seed);
      const ops = recorder.paths.length;
      for (let budget = 0; budget < ops; budget++) {
        const mem = new MemoryFileSystem({ tornWrites: true, seed: seed * 10_000 + budget });
        const crashing = new CrashingFileSystem(mem);
        crashing.arm(budget);
        const outcome = await workload(crashing, seed).then(
          () => 'completed',
          (err: unknown) => err,
        );
        crashing.disarm();
        expect(outcome instanceof SimulatedCrash, `seed ${seed} budget ${budget}: ${String(outcome)}`).toBe(true);
        mem.crash();
        const path = recorder.paths[budget]!;
        if (path.includes(LEADER_EPOCH_CHECKPOINT_FILE)) epochFileCrashes++;
        if (path.includes(SNAPSHOT_SUFFIX)) snapshotCrashes++;
        total++;
        await checkAfterCrash(mem, `seed ${seed} budget ${budget}/${ops} (crash before an operation on ${path})`);
      }
    }
    // The crash points really cover both files' writes (temp file create/truncate/write/fsync, rename, dir fsync).
    expect(epochFileCrashes).toBeGreaterThan(20);
    expect(snapshotCrashes).toBeGreaterThan(20);
    expect(total).toBeGreaterThan(200);
  }, 300_000);
});
