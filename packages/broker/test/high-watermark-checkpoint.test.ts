// The high-watermark checkpoint file (replication-offset-checkpoint) on the in-memory file system: round trip, atomic
// replacement under failures and power loss, every truncation and bit flip refused, a missing or corrupt file logged
// and treated as empty, one write in flight at a time, and a checkpointed value capped at the recovered log end.
import { ManualClock, silentLogger, type Logger } from '@tributary/common';
import { crc32c, encodeRecordBatch } from '@tributary/protocol';
import { MemoryFileSystem, PartitionLog, defaultLogConfig, type FsOp } from '@tributary/storage';
import { describe, expect, it } from 'vitest';
import { resolveTopicConfig } from '../src/config/topic-config.ts';
import { BrokerConfig } from '../src/config/broker-config.ts';
import {
  HIGH_WATERMARK_CHECKPOINT_FILE,
  HighWatermarkCheckpoint,
  decodeHighWatermarkCheckpoint,
  encodeHighWatermarkCheckpoint,
  readHighWatermarkCheckpoint,
  writeHighWatermarkCheckpoint,
  type HighWatermarkEntry,
} from '../src/high-watermark-checkpoint.ts';
import { Partition } from '../src/partition.ts';

const DIR = '/data';
const PATH = `${DIR}/${HIGH_WATERMARK_CHECKPOINT_FILE}`;
const ID_A = 'AAAAAAAAAAAAAAAAAAAAAQ';
const ID_B = 'AAAAAAAAAAAAAAAAAAAAAg';

const entriesA: HighWatermarkEntry[] = [
  { topic: 'orders', partition: 1, topicId: ID_A, highWatermark: 420 },
  { topic: 'orders', partition: 0, topicId: ID_A, highWatermark: 17 },
  { topic: '__consumer_offsets', partition: 3, topicId: ID_B, highWatermark: 0 },
  { topic: 'big.topic_name-x', partition: 9999, topicId: ID_B, highWatermark: 2 ** 52 },
];
const entriesB: HighWatermarkEntry[] = [{ topic: 'orders', partition: 0, topicId: ID_A, highWatermark: 18 }];

const sortByKey = (es: readonly HighWatermarkEntry[]): HighWatermarkEntry[] =>
  [...es].sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));

interface Logged {
  level: 'info' | 'warn' | 'error';
  fields: Record<string, unknown>;
  msg: string;
}

function recordingLogger(into: Logged[]): Logger {
  const logger: Logger = {
    debug() {},
    info: (fields, msg) => void into.push({ level: 'info', fields: fields as Record<string, unknown>, msg: msg ?? '' }),
    warn: (fields, msg) => void into.push({ level: 'warn', fields: fields as Record<string, unknown>, msg: msg ?? '' }),
    error: (fields, msg) => void into.push({ level: 'error', fields: fields as Record<string, unknown>, msg: msg ?? '' }),
    child: () => logger,
  };
  return logger;
}

async function freshFs(): Promise<MemoryFileSystem> {
  const fs = new MemoryFileSystem();
  await fs.mkdir(DIR);
  await fs.syncDir('/');
  return fs;
}

describe('high-watermark checkpoint file', () => {
  it('round trips through the file, sorted by topic and partition, with the topic ids', async () => {
    const fs = await freshFs();
    await writeHighWatermarkCheckpoint(fs, DIR, entriesA);
    const read = await readHighWatermarkCheckpoint(fs, DIR);
    expect(read).toEqual({ kind: 'ok', entries: sortByKey(entriesA) });
    const text = (await fs.readFile(PATH)).toString('utf8');
    expect(text.split('\n').slice(0, 3)).toEqual(['1', '4', `__consumer_offsets 3 0 ${ID_B}`]);
    expect(text).toMatch(/\ncrc \d+\n$/);
    // An empty checkpoint is a valid one (a broker hosting nothing).
    await writeHighWatermarkCheckpoint(fs, DIR, []);
    expect(await readHighWatermarkCheckpoint(fs, DIR)).toEqual({ kind: 'ok', entries: [] });
  });

  it('refuses to write entries that would not read back', () => {
    expect(() => encodeHighWatermarkCheckpoint([{ topic: 'has space', partition: 0, topicId: ID_A, highWatermark: 1 }])).toThrow(/not a valid entry/);
    expect(() => encodeHighWatermarkCheckpoint([{ topic: 't', partition: 0, topicId: ID_A, highWatermark: -1 }])).toThrow(/not a valid entry/);
    expect(() => encodeHighWatermarkCheckpoint([{ topic: 't', partition: 0, topicId: 'short', highWatermark: 1 }])).toThrow(/not a valid entry/);
  });

  it('refuses every truncation and every single bit flip of a valid file', () => {
    const bytes = encodeHighWatermarkCheckpoint(entriesA);
    expect(decodeHighWatermarkCheckpoint(bytes)).toEqual({ entries: sortByKey(entriesA) });
    for (let length = 0; length < bytes.length; length++) {
      expect(decodeHighWatermarkCheckpoint(bytes.subarray(0, length)), `truncated to ${length} bytes`).toHaveProperty('problem');
    }
    for (let i = 0; i < bytes.length; i++) {
      for (let bit = 0; bit < 8; bit++) {
        const flipped = Buffer.from(bytes);
        flipped[i]! ^= 1 << bit;
        expect(decodeHighWatermarkCheckpoint(flipped), `bit ${bit} of byte ${i} flipped`).toHaveProperty('problem');
      }
    }
  });

  it('refuses well-checksummed files that break the format: duplicates, bad counts, unknown versions', () => {
    // Hand-made bodies with a correct checksum: only the format rules can refuse them.
    const withCrc = (body: string): Buffer => Buffer.from(`${body}crc ${crc32c(Buffer.from(body, 'latin1'))}\n`, 'latin1');
    expect(decodeHighWatermarkCheckpoint(withCrc(`1\n2\nt 0 5 ${ID_A}\nt 0 6 ${ID_A}\n`))).toEqual({ problem: 't-0 is listed twice' });
    expect(decodeHighWatermarkCheckpoint(withCrc(`1\n2\nt 0 5 ${ID_A}\n`))).toHaveProperty('problem');
    expect(decodeHighWatermarkCheckpoint(withCrc(`2\n0\n`))).toHaveProperty('problem');
    expect(decodeHighWatermarkCheckpoint(withCrc(`1\n1\nt 0 -5 ${ID_A}\n`))).toHaveProperty('problem');
    expect(decodeHighWatermarkCheckpoint(withCrc(`1\n1\nt 0 5\n`))).toHaveProperty('problem');
    expect(decodeHighWatermarkCheckpoint(withCrc(`1\n1\nt 0 5 ${ID_A}\n`))).toEqual({ entries: [{ topic: 't', partition: 0, topicId: ID_A, highWatermark: 5 }] });
  });

  it('replaces the file atomically: a write failing at any step, then power loss, leaves the old or the new file whole', async () => {
    const ops: FsOp[] = ['write', 'sync', 'rename', 'syncDir'];
    for (const op of ops) {
      for (const seed of [1, 2, 3, 4, 5]) {
        const fs = await freshFs();
        await writeHighWatermarkCheckpoint(fs, DIR, entriesA);
        fs.setTornWrites(true, seed);
        fs.failOn(op, 'EIO', { pathIncludes: DIR });
        await expect(writeHighWatermarkCheckpoint(fs, DIR, entriesB)).rejects.toThrow(/EIO/);
        fs.crash();
        const read = await readHighWatermarkCheckpoint(fs, DIR);
        expect(read.kind, `${op} failed, seed ${seed}`).toBe('ok');
        const entries = read.kind === 'ok' ? read.entries : [];
        expect([sortByKey(entriesA), sortByKey(entriesB)], `${op} failed, seed ${seed}`).toContainEqual(entries);
      }
    }
    // A completed write survives power loss, torn writes or not.
    for (const seed of [1, 2, 3]) {
      const fs = await freshFs();
      await writeHighWatermarkCheckpoint(fs, DIR, entriesA);
      fs.setTornWrites(true, seed);
      await writeHighWatermarkCheckpoint(fs, DIR, entriesB);
      fs.crash();
      expect(await readHighWatermarkCheckpoint(fs, DIR)).toEqual({ kind: 'ok', entries: entriesB });
    }
  });

  it('a missing, truncated or corrupt file is logged with what to do and counts as empty', async () => {
    // Missing: an info line (a first start is normal), nothing claimed.
    {
      const fs = await freshFs();
      const logs: Logged[] = [];
      const cp = new HighWatermarkCheckpoint({ fs, dataDir: DIR, logger: recordingLogger(logs), current: () => [] });
      await cp.load();
      expect(logs).toEqual([expect.objectContaining({ level: 'info', fields: { path: PATH }, msg: expect.stringMatching(/no high-watermark checkpoint.*nothing to do/) })]);
      expect(cp.claim('orders', 0, ID_A)).toBeNull();
    }
    // Truncated and corrupt: a warning naming the file and the problem.
    for (const damage of ['truncate', 'flip'] as const) {
      const fs = await freshFs();
      await writeHighWatermarkCheckpoint(fs, DIR, entriesA);
      const size = (await fs.stat(PATH)).size;
      if (damage === 'truncate') {
        const h = await fs.open(PATH, 'rw');
        await h.truncate(size - 9);
        await h.close();
      } else {
        fs.flipBit(PATH, 12, 3);
      }
      const logs: Logged[] = [];
      const cp = new HighWatermarkCheckpoint({ fs, dataDir: DIR, logger: recordingLogger(logs), current: () => [] });
      await cp.load();
      expect(logs).toHaveLength(1);
      expect(logs[0]).toMatchObject({ level: 'warn', fields: { path: PATH, problem: expect.any(String) } });
      expect(logs[0]!.msg).toMatch(/ignoring the unusable high-watermark checkpoint.*OFFSET_NOT_AVAILABLE.*check the disk/);
      for (const e of entriesA) expect(cp.claim(e.topic, e.partition, e.topicId), `${damage}: ${e.topic}-${e.partition}`).toBeNull();
    }
    // A file that cannot be read at all (an I/O error) is treated the same way, and the broker goes on.
    {
      const fs = await freshFs();
      await writeHighWatermarkCheckpoint(fs, DIR, entriesA);
      fs.failOn('readFile', 'EIO', { pathIncludes: HIGH_WATERMARK_CHECKPOINT_FILE });
      const logs: Logged[] = [];
      const cp = new HighWatermarkCheckpoint({ fs, dataDir: DIR, logger: recordingLogger(logs), current: () => [] });
      await cp.load();
      expect(logs.map((l) => [l.level, String(l.fields.problem)])).toEqual([['warn', expect.stringMatching(/reading it failed: EIO/)]]);
      expect(cp.claim('orders', 0, ID_A)).toBeNull();
    }
  });

  it('claims each entry once, only for the same topic id; unclaimed entries are rewritten until dropped', async () => {
    const fs = await freshFs();
    await writeHighWatermarkCheckpoint(fs, DIR, entriesA);
    let hosted: HighWatermarkEntry[] = [];
    const cp = new HighWatermarkCheckpoint({ fs, dataDir: DIR, logger: silentLogger, current: () => hosted.map((e) => ({ ...e })) });
    await cp.load();
    expect(cp.claim('orders', 0, ID_A)).toBe(17);
    expect(cp.claim('orders', 0, ID_A)).toBeNull(); // once
    expect(cp.claim('orders', 1, ID_B)).toBeNull(); // a re-created topic of the same name: not its high watermark
    expect(cp.claim('nope', 0, ID_A)).toBeNull();
    // orders-0 is open now (high watermark 30); the unclaimed entries stay in the file, orders-1 went with its claim.
    hosted = [{ topic: 'orders', partition: 0, topicId: ID_A, highWatermark: 30 }];
    await cp.write();
    expect(await readHighWatermarkCheckpoint(fs, DIR)).toEqual({
      kind: 'ok',
      entries: sortByKey([hosted[0]!, entriesA[2]!, entriesA[3]!]),
    });
    // Caught up with the metadata: what nobody claimed is not hosted here and leaves the file.
    expect(cp.dropUnclaimed()).toBe(2);
    await cp.write();
    expect(await readHighWatermarkCheckpoint(fs, DIR)).toEqual({ kind: 'ok', entries: hosted });
    // A deleted partition leaves the file at the next write.
    hosted = [];
    await cp.write();
    expect(await readHighWatermarkCheckpoint(fs, DIR)).toEqual({ kind: 'ok', entries: [] });
  });

  it('a write before the file was loaded keeps the entries not yet claimed', async () => {
    const fs = await freshFs();
    await writeHighWatermarkCheckpoint(fs, DIR, entriesA);
    const cp = new HighWatermarkCheckpoint({ fs, dataDir: DIR, logger: silentLogger, current: () => [] });
    await cp.write();
    expect(await readHighWatermarkCheckpoint(fs, DIR)).toEqual({ kind: 'ok', entries: sortByKey(entriesA) });
  });

  it('one write in flight: calls during a write share one more write with the values of its start; failures are logged', async () => {
    const fs = await freshFs();
    let hw = 1;
    let reads = 0;
    const logs: Logged[] = [];
    const cp = new HighWatermarkCheckpoint({
      fs,
      dataDir: DIR,
      logger: recordingLogger(logs),
      current: () => {
        reads++;
        return [{ topic: 't', partition: 0, topicId: ID_A, highWatermark: hw }];
      },
    });
    await cp.load();
    // One fsync of the temp file per write.
    const syncsBefore = fs.syncCount;
    const first = cp.write();
    hw = 2;
    const second = cp.write();
    const third = cp.write();
    expect(third).toBe(second);
    await Promise.all([first, second, third]);
    expect(reads).toBe(2);
    expect(fs.syncCount - syncsBefore).toBe(2);
    expect(await readHighWatermarkCheckpoint(fs, DIR)).toEqual({ kind: 'ok', entries: [{ topic: 't', partition: 0, topicId: ID_A, highWatermark: 2 }] });
    // A failing write resolves (the timer goes on), logs what happened and what to do, and leaves the old file.
    fs.failOn('sync', 'ENOSPC', { pathIncludes: DIR });
    hw = 3;
    await expect(cp.write()).resolves.toBeUndefined();
    expect(logs.filter((l) => l.level === 'error').map((l) => l.msg)).toEqual([expect.stringMatching(/writing the high-watermark checkpoint failed.*check free space/)]);
    expect(await readHighWatermarkCheckpoint(fs, DIR)).toEqual({ kind: 'ok', entries: [{ topic: 't', partition: 0, topicId: ID_A, highWatermark: 2 }] });
  });
});

describe('replica.high.watermark.checkpoint.interval.ms', () => {
  it("defaults to Kafka's 5000 and refuses values that are not a positive int32 of milliseconds", () => {
    expect(new BrokerConfig({}).int('replica.high.watermark.checkpoint.interval.ms')).toBe(5000);
    expect(new BrokerConfig({ 'replica.high.watermark.checkpoint.interval.ms': '250' }).int('replica.high.watermark.checkpoint.interval.ms')).toBe(250);
    for (const bad of ['0', '-1', 'soon', '2147483648']) {
      expect(() => new BrokerConfig({ 'replica.high.watermark.checkpoint.interval.ms': bad }), bad).toThrow(/replica\.high\.watermark\.checkpoint\.interval\.ms/);
    }
  });
});

describe('a partition restored from the checkpoint', () => {
  const clock = new ManualClock();
  async function partitionWith(records: number): Promise<Partition> {
    const fs = await freshFs();
    const log = await PartitionLog.open({ fs, dir: `${DIR}/t-0`, config: defaultLogConfig, clock, logger: silentLogger });
    for (let i = 0; i < records; i++) {
      await log.append(encodeRecordBatch({ records: [{ value: Buffer.from(`v${i}`) }], baseTimestamp: clock.nowMs() }), { leaderEpoch: 0, nowMs: clock.nowMs() });
    }
    return new Partition('t', ID_A, 0, log, resolveTopicConfig({}, new BrokerConfig({})), 1);
  }

  it('starts from the checkpointed high watermark, capped at the recovered log end', async () => {
    const p = await partitionWith(10);
    expect(p.highWatermark).toBe(0);
    p.restoreHighWatermark(7);
    expect(p.highWatermark).toBe(7);
    p.restoreHighWatermark(1000); // a stale file, or a log that lost its tail
    expect(p.highWatermark).toBe(10);
    // ...and it stays capped there when the log grows later (the follower appends what the leader sends).
    await p.log.appendAsFollower(encodeRecordBatch({ baseOffset: 10, partitionLeaderEpoch: 0, records: [{ value: Buffer.from('more') }], baseTimestamp: clock.nowMs() }));
    expect(p.log.logEndOffset).toBe(11);
    expect(p.highWatermark).toBe(10);
  });

  it('is carried into the leader role', async () => {
    const p = await partitionWith(10);
    p.restoreHighWatermark(10);
    p.assign({ leaderId: 1, leaderEpoch: 1, partitionEpoch: 1, replicas: [1, 2, 3], isr: [1, 2, 3] });
    await p.becomeLeader(1, clock.nowMs());
    expect(p.highWatermark).toBe(10);
    expect(p.highWatermarkEstablished).toBe(true);
  });

  it('refuses a restore once the partition has a role, and a value that is not an offset', async () => {
    const p = await partitionWith(3);
    expect(() => p.restoreHighWatermark(-1)).toThrow(/not an offset/);
    p.assign({ leaderId: 1, leaderEpoch: 1, partitionEpoch: 1, replicas: [1], isr: [1] });
    await p.becomeLeader(1, clock.nowMs());
    expect(() => p.restoreHighWatermark(2)).toThrow(/before the partition takes a role/);
  });
});

