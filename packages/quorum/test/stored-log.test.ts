import { ManualClock, silentLogger } from '@tributary/common';
import { MemoryRaftLog, type Entry, type SnapshotId } from '@tributary/raft';
import { MemoryFileSystem } from '@tributary/storage';
import { describe, expect, it } from 'vitest';
import { REDO_FILE, StoredRaftLog, type StoredLogLimits } from '../src/stored-log.ts';

const DIR = '/data/raft-log';
const clock = new ManualClock();

function entries(from: number, count: number, epoch: number, tag = 'e'): Entry[] {
  return Array.from({ length: count }, (_, i) => ({ offset: from + i, epoch, kind: 'data' as const, data: Buffer.from(`${tag}${from + i}@${epoch}`) }));
}

function open(fs: MemoryFileSystem, snapshotId: SnapshotId | null = null, limits: Partial<StoredLogLimits> = {}): Promise<StoredRaftLog> {
  return StoredRaftLog.open({ fs, dir: DIR, clock, logger: silentLogger, snapshotId, limits });
}

/** Mirror one core mutation batch to disk the way the driver does. */
async function persist(log: StoredRaftLog, w: { append?: Entry[]; truncateTo?: number; install?: SnapshotId; snapshot?: SnapshotId }): Promise<void> {
  if (w.install) log.resetTo(w.install);
  if (w.snapshot) log.compact(w.snapshot);
  if (w.truncateTo !== undefined) log.truncateTo(w.truncateTo);
  if (w.append) log.append(w.append);
  log.readyTaken();
  await log.persist({ installSnapshot: w.install ?? null, persistSnapshot: w.snapshot ?? null, truncateTo: w.truncateTo ?? null, appendEntries: w.append ?? [] });
}

function text(e: Entry): string {
  return `${e.offset}@${e.epoch}:${e.kind}:${Buffer.from(e.data).toString()}`;
}

async function all(log: StoredRaftLog): Promise<string[]> {
  await log.load(log.startOffset, log.endOffset);
  return log.read(log.startOffset, 1_000_000, 1 << 30).map(text);
}

describe('StoredRaftLog', () => {
  it('survives a crash with every persisted entry, its epochs and the leader-change kind', async () => {
    const fs = new MemoryFileSystem();
    const log = await open(fs);
    const written = [{ offset: 0, epoch: 1, kind: 'leader-change' as const, data: Buffer.from('{}') }, ...entries(1, 9, 1), ...entries(10, 5, 3)];
    await persist(log, { append: written.slice(0, 4) });
    await persist(log, { append: written.slice(4) });
    fs.crash();
    const reopened = await open(fs);
    expect(reopened.endOffset).toBe(15);
    expect(await all(reopened)).toEqual(written.map(text));
    const model = new MemoryRaftLog(null, written);
    for (let epoch = 0; epoch <= 4; epoch++) expect(reopened.endOffsetForEpoch(epoch)).toEqual(model.endOffsetForEpoch(epoch));
    expect(reopened.lastEpoch()).toBe(3);
  });

  it('loses nothing that was not persisted and keeps unpersisted entries readable in memory', async () => {
    const fs = new MemoryFileSystem();
    const log = await open(fs, null, { maxTailEntries: 4 });
    await persist(log, { append: entries(0, 10, 1) });
    // Appended in memory only: never evicted from the tail before it is durable.
    log.append(entries(10, 20, 1));
    expect(log.entryAt(29).offset).toBe(29);
    expect(log.entryAt(10).offset).toBe(10);
    fs.crash();
    const reopened = await open(fs);
    expect(reopened.endOffset).toBe(10);
  });

  it('serves old entries only after load(), from a bounded window', async () => {
    const fs = new MemoryFileSystem();
    const log = await open(fs, null, { maxTailEntries: 10, maxWindowEntries: 50 });
    for (let i = 0; i < 10; i++) await persist(log, { append: entries(i * 20, 20, 1) });
    expect(log.covers(190, 200)).toBe(true);
    expect(log.covers(0, 10)).toBe(false);
    expect(() => log.entryAt(5)).toThrow(/not loaded/);
    expect(log.read(5, 10, 1 << 20)).toEqual([]);
    expect(log.stats.readMisses).toBe(1);
    await log.load(5, 25);
    expect(log.covers(5, 25)).toBe(true);
    expect(log.read(5, 100, 1 << 20).map((e) => e.offset)).toEqual(Array.from({ length: 20 }, (_, i) => 5 + i));
    await log.load(100, 160);
    expect(log.covers(100, 150)).toBe(true);
    expect(log.covers(5, 25)).toBe(false); // evicted: the window holds at most 50
  });

  it('truncates inside a batch without losing the entries below the cut', async () => {
    const fs = new MemoryFileSystem();
    const log = await open(fs);
    await persist(log, { append: entries(0, 10, 1) }); // one batch [0, 10)
    await persist(log, { truncateTo: 6, append: entries(6, 3, 2, 'new') });
    expect(log.stats.midBatchTruncations).toBe(1);
    expect(log.diskBounds).toEqual({ startOffset: 0, endOffset: 9 });
    fs.crash();
    const reopened = await open(fs);
    expect(await all(reopened)).toEqual([...entries(0, 6, 1), ...entries(6, 3, 2, 'new')].map(text));
    expect(await fs.exists(`${DIR}/${REDO_FILE}`)).toBe(false);
  });

  it('completes a mid-batch truncation interrupted after the cut (redo file)', async () => {
    const fs = new MemoryFileSystem();
    const log = await open(fs);
    await persist(log, { append: entries(0, 10, 1) });
    // The re-append of the kept entries fails; power is lost before anything else happens.
    fs.failOn('write', 'EIO', { pathIncludes: '.log' });
    await expect(persist(log, { truncateTo: 4 })).rejects.toThrow();
    fs.clearFaults();
    fs.crash();
    expect(await fs.exists(`${DIR}/${REDO_FILE}`)).toBe(true);
    const reopened = await open(fs);
    expect(reopened.stats.recoveredRedo).toBe(1);
    expect(await all(reopened)).toEqual(entries(0, 4, 1).map(text));
    expect(await fs.exists(`${DIR}/${REDO_FILE}`)).toBe(false);
  });

  it('installs a snapshot past its end (the log restarts empty there) and reopens consistently', async () => {
    const fs = new MemoryFileSystem();
    const log = await open(fs);
    await persist(log, { append: entries(0, 20, 1) });
    const id = { endOffset: 50, epoch: 3 };
    await persist(log, { install: id });
    expect(log.diskBounds).toEqual({ startOffset: 50, endOffset: 50 });
    await persist(log, { append: entries(50, 5, 3) });
    fs.crash();
    const reopened = await open(fs, id);
    expect([reopened.startOffset, reopened.endOffset]).toEqual([50, 55]);
    expect(reopened.endOffsetForEpoch(3)).toEqual({ epoch: 3, offset: 55 });
    expect(reopened.endOffsetForEpoch(2)).toBeNull();
  });

  it('reconciles a log with a snapshot whose install did not finish', async () => {
    // The snapshot file became durable, the reset of the log did not happen.
    const fs = new MemoryFileSystem();
    const log = await open(fs);
    await persist(log, { append: entries(0, 20, 1) });
    fs.crash();
    const behind = await open(fs, { endOffset: 50, epoch: 3 });
    expect([behind.startOffset, behind.endOffset]).toEqual([50, 50]);
    expect(behind.diskBounds).toEqual({ startOffset: 50, endOffset: 50 });

    // The old log reaches past the snapshot, but its entries there are older than the snapshot's epoch.
    const fs2 = new MemoryFileSystem();
    const log2 = await open(fs2);
    await persist(log2, { append: entries(0, 80, 1) });
    fs2.crash();
    const stale = await open(fs2, { endOffset: 60, epoch: 2 });
    expect([stale.startOffset, stale.endOffset]).toEqual([60, 60]);
  });

  it('drops the prefix below a local snapshot and keeps the rest across a crash', async () => {
    const fs = new MemoryFileSystem();
    const log = await open(fs, null, { maxTailEntries: 5 });
    await persist(log, { append: [...entries(0, 15, 1), ...entries(15, 15, 2)] });
    const id = { endOffset: 20, epoch: 2 };
    await persist(log, { snapshot: id });
    expect(log.startOffset).toBe(20);
    fs.crash();
    const reopened = await open(fs, id);
    expect([reopened.startOffset, reopened.endOffset]).toEqual([20, 30]);
    expect(reopened.diskBounds.startOffset).toBe(20);
    expect(await all(reopened)).toEqual(entries(20, 10, 2).map(text));
    expect(reopened.endOffsetForEpoch(1)).toBeNull();
    expect(reopened.endOffsetForEpoch(2)).toEqual({ epoch: 2, offset: 30 });
  });
});
