/**
 * Cost of the replication layer on the real file system.
 *   node packages/storage/bench/replication.ts [batches=20000] [recordsPerBatch=4]
 * 1. leader appends without producer ids, 2. leader appends of one idempotent producer (state updated per batch),
 * 3. follower appends of the same batches (each CRC-checked, offsets kept), 4. open after a clean close (snapshot at
 * the log end, no replay) vs. open without the snapshots and epoch file (full replay and rebuild). 100-byte records,
 * 64 MiB segments. Prints appends/s and open times.
 */
import { mkdtempSync, readdirSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock, silentLogger } from '@tributary/common';
import { writeBatchCrc, writeInt64 } from '../src/batch-format.ts';
import { NodeFileSystem } from '../src/fs/node-file-system.ts';
import { PartitionLog, defaultLogConfig } from '../src/partition-log.ts';

const VALUE_BYTES = 100;

function buildBatch(count: number, producerId: number, sequence: number, baseOffset = 0, leaderEpoch = -1): Buffer {
  const recordBytes = 1 + 1 + 1 + 1 + 1 + 2 + VALUE_BYTES + 1; // length, attrs, tsDelta, offsetDelta, key=-1, len, value, headers
  const buf = Buffer.alloc(61 + count * recordBytes);
  writeInt64(buf, baseOffset, 0);
  buf.writeInt32BE(buf.length - 12, 8);
  buf.writeInt32BE(leaderEpoch, 12);
  buf.writeInt8(2, 16);
  buf.writeInt32BE(count - 1, 23);
  writeInt64(buf, 1_700_000_000_000, 27);
  writeInt64(buf, 1_700_000_000_000, 35);
  writeInt64(buf, producerId, 43);
  buf.writeInt16BE(producerId < 0 ? -1 : 0, 51);
  buf.writeInt32BE(producerId < 0 ? -1 : sequence, 53);
  buf.writeInt32BE(count, 57);
  let p = 61;
  for (let i = 0; i < count; i++) {
    buf[p++] = (recordBytes - 1) << 1; // zigzag length (fits one byte for < 64)
    buf[p++] = 0;
    buf[p++] = 0;
    buf[p++] = i << 1;
    buf[p++] = 1; // key -1
    buf.writeUInt16BE(0xc801, p); // zigzag varint 100
    p += 2;
    p += VALUE_BYTES;
    buf[p++] = 0;
  }
  writeBatchCrc(buf, 0);
  return buf;
}

const batches = Number(process.argv[2] ?? 20_000);
const perBatch = Number(process.argv[3] ?? 4);
const root = mkdtempSync(join(tmpdir(), 'trib-replication-bench-'));
const fs = new NodeFileSystem();
const config = { ...defaultLogConfig, segmentBytes: 64 * 1024 * 1024, retentionMs: -1 };
const open = (dir: string): Promise<PartitionLog> => PartitionLog.open({ fs, dir, config, clock: new ManualClock(), logger: silentLogger });

async function timed(label: string, fn: () => Promise<void>): Promise<number> {
  const start = performance.now();
  await fn();
  const ms = performance.now() - start;
  console.log(`${label}: ${ms.toFixed(0)} ms (${((batches / ms) * 1000).toFixed(0)} appends/s)`);
  return ms;
}

try {
  const plain = await open(join(root, 'plain'));
  await timed('leader, no producer id', async () => {
    for (let i = 0; i < batches; i++) await plain.append(buildBatch(perBatch, -1, 0), { leaderEpoch: 1, nowMs: 0 });
  });
  await plain.close();
  const idem = await open(join(root, 'idempotent'));
  await timed('leader, idempotent producer', async () => {
    for (let i = 0; i < batches; i++) {
      const seq = i * perBatch;
      if (idem.checkProducerBatch(7, 0, seq, seq + perBatch - 1).kind !== 'ok') throw new Error('unexpected check result');
      await idem.append(buildBatch(perBatch, 7, seq), { leaderEpoch: 1, nowMs: 0 });
    }
  });
  await idem.close();
  const follower = await open(join(root, 'follower'));
  await timed('follower, idempotent batches', async () => {
    for (let i = 0; i < batches; i++) await follower.appendAsFollower(buildBatch(perBatch, 7, i * perBatch, i * perBatch, 1));
  });
  await follower.close();
  let start = performance.now();
  const clean = await open(join(root, 'follower'));
  console.log(`open after clean close (snapshot at the end): ${(performance.now() - start).toFixed(1)} ms, ${clean.producerEntries().length} producer(s)`);
  await clean.close();
  for (const name of readdirSync(join(root, 'follower'))) {
    if (name.endsWith('.snapshot') || name === 'leader-epoch-checkpoint') unlinkSync(join(root, 'follower', name));
  }
  start = performance.now();
  const rebuilt = await open(join(root, 'follower'));
  console.log(
    `open without snapshots or epoch file (replay of ${batches} batches, ${(rebuilt.sizeInBytes / 1048576).toFixed(1)} MiB): ${(performance.now() - start).toFixed(1)} ms, epochs ${JSON.stringify(rebuilt.leaderEpochEntries())}`,
  );
  await rebuilt.close();
} finally {
  rmSync(root, { recursive: true, force: true });
}
