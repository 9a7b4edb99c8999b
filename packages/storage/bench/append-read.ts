/**
 * Append/read throughput of PartitionLog on the real file system.
 *   node packages/storage/bench/append-read.ts [totalMiB=256] [recordsPerBatch=16]
 * Builds uncompressed batches of 1 KiB records with a tiny local encoder, appends them (one batch per append, as the
 * produce path does), then reads everything back with 1 MiB fetches. Prints MB/s for each phase.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock, silentLogger } from '@tributary/common';
import { writeBatchCrc, writeInt64 } from '../src/batch-format.ts';
import { NodeFileSystem } from '../src/fs/node-file-system.ts';
import { PartitionLog, defaultLogConfig } from '../src/partition-log.ts';

const RECORD_VALUE_BYTES = 1024;

/** One v2 batch of `count` records, each a 1 KiB value with no key/headers (varints fit in 1-2 bytes). */
function buildBatch(count: number, timestamp: number): Buffer {
  const recordBodyBytes = 1 + 1 + 1 + 1 + 2 + RECORD_VALUE_BYTES + 1; // attrs, tsDelta, offsetDelta(<64), key=-1, len(1024), value, headers
  const recordBytes = 2 + recordBodyBytes; // length varint takes 2 bytes
  const buf = Buffer.alloc(61 + count * recordBytes);
  writeInt64(buf, 0, 0);
  buf.writeInt32BE(buf.length - 12, 8);
  buf.writeInt32BE(-1, 12);
  buf.writeInt8(2, 16);
  buf.writeInt32BE(count - 1, 23);
  writeInt64(buf, timestamp, 27);
  writeInt64(buf, timestamp, 35);
  writeInt64(buf, -1, 43);
  buf.writeInt16BE(-1, 51);
  buf.writeInt32BE(-1, 53);
  buf.writeInt32BE(count, 57);
  let p = 61;
  for (let i = 0; i < count; i++) {
    // zigzag varint of recordBodyBytes (< 8192): two bytes
    const z = recordBodyBytes << 1;
    buf[p++] = (z & 0x7f) | 0x80;
    buf[p++] = z >>> 7;
    buf[p++] = 0; // attributes
    buf[p++] = 0; // timestamp delta 0
    buf[p++] = (i << 1) & 0x7f; // offset delta (count < 64)
    buf[p++] = 1; // key length -1
    buf[p++] = ((RECORD_VALUE_BYTES << 1) & 0x7f) | 0x80;
    buf[p++] = (RECORD_VALUE_BYTES << 1) >>> 7;
    buf.fill(i & 0xff, p, p + RECORD_VALUE_BYTES);
    p += RECORD_VALUE_BYTES;
    buf[p++] = 0; // no headers
  }
  writeBatchCrc(buf, 0);
  return buf;
}

async function main(): Promise<void> {
  const totalMiB = Number(process.argv[2] ?? 256);
  const recordsPerBatch = Math.min(63, Number(process.argv[3] ?? 16));
  const root = mkdtempSync(join(tmpdir(), 'trib-bench-'));
  try {
    const log = await PartitionLog.open({
      fs: new NodeFileSystem(),
      dir: join(root, 'bench-0'),
      config: { ...defaultLogConfig, segmentBytes: Number(process.env.SEGMENT_MIB ?? 128) * 1024 * 1024 },
      clock: new ManualClock(),
      logger: silentLogger,
    });
    const template = buildBatch(recordsPerBatch, 1_700_000_000_000);
    const batchCount = Math.ceil((totalMiB * 1024 * 1024) / template.length);
    // Distinct buffers so offset rewriting touches real memory, built outside the timed loop.
    const pool = Array.from({ length: 64 }, () => Buffer.from(template));
    let start = performance.now();
    for (let i = 0; i < batchCount; i++) await log.append(pool[i % pool.length]!, { leaderEpoch: 0, nowMs: 0 });
    let ms = performance.now() - start;
    const bytes = log.sizeInBytes;
    console.log(`append: ${batchCount} batches, ${(bytes / 1e6).toFixed(1)} MB in ${ms.toFixed(0)} ms = ${(bytes / 1e6 / (ms / 1000)).toFixed(1)} MB/s (${((batchCount / ms) * 1000).toFixed(0)} appends/s)`);

    start = performance.now();
    await log.flush();
    console.log(`flush: ${(performance.now() - start).toFixed(0)} ms`);

    start = performance.now();
    let offset = 0;
    let readBytes = 0;
    let reads = 0;
    while (offset < log.logEndOffset && reads < 10_000_000) {
      const r = await log.read(offset, { maxBytes: 1024 * 1024, minOneMessage: true });
      readBytes += r.records.length;
      offset = r.nextOffset;
      reads++;
    }
    ms = performance.now() - start;
    console.log(`read: ${reads} reads, ${(readBytes / 1e6).toFixed(1)} MB in ${ms.toFixed(0)} ms = ${(readBytes / 1e6 / (ms / 1000)).toFixed(1)} MB/s`);
    if (readBytes !== bytes) throw new Error(`read ${readBytes} bytes, wrote ${bytes}`);
    await log.close();
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

await main();
