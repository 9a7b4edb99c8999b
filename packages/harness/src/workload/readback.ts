/**
 * The final read: every partition from offset 0 to its high watermark with kcat (librdkafka, by assignment),
 * recorded as one `assign` session, its `poll`s and a `drained` op per partition up to the high watermark
 * measured before reading (the producers have stopped, so it no longer moves).
 */
import { spawn } from 'node:child_process';
import { KafkaClient, OffsetSpec } from '@tributary/client';
import type { HistoryOp } from '../checker/history.ts';

const kcatTimeoutMs = 300_000;
const stderrMax = 20_000;

export async function highWatermarks(bootstrap: string, topic: string, partitions: number): Promise<number[]> {
  const client = new KafkaClient({ bootstrapServers: bootstrap, clientId: 'trib-chaos', requestTimeoutMs: 15_000, connectTimeoutMs: 5_000 });
  try {
    await client.connect();
    return await Promise.all(Array.from({ length: partitions }, async (_, p) => (await client.listOffsets(topic, p, OffsetSpec.Latest)).offset));
  } finally {
    await client.close();
  }
}

export interface ReadBack {
  readonly ops: HistoryOp[];
  readonly records: number;
  readonly endOffsets: readonly number[];
  /** Partitions whose read stopped below the high watermark measured before it. */
  readonly short: readonly { partition: number; readTo: number; highWatermark: number }[];
}

export async function readBack(o: { bootstrap: string; topic: string; partitions: number; process?: string; kcat?: string }): Promise<ReadBack> {
  const proc = o.process ?? 'reader';
  const endOffsets = await highWatermarks(o.bootstrap, o.topic, o.partitions);
  const ops: HistoryOp[] = [{ type: 'assign', process: proc, partitions: endOffsets.map((_, p) => ({ topic: o.topic, partition: p, offset: 0 })), timeMs: Date.now() }];
  const maxRead = endOffsets.map(() => -1);
  let records = 0;
  const kcat = o.kcat ?? 'kcat';
  const args = ['-C', '-b', o.bootstrap, '-t', o.topic, '-o', 'beginning', '-e', '-q', '-f', '%p %o %s\n'];
  await new Promise<void>((resolveRead, reject) => {
    const child = spawn(kcat, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let pending = '';
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`read-back with ${kcat} did not finish within ${kcatTimeoutMs} ms (read ${records} records; stderr: ${stderr.slice(-2000)})`));
    }, kcatTimeoutMs);
    child.stdout.on('data', (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      const nowMs = Date.now();
      for (const line of lines) {
        if (line === '') continue;
        const [p, off, value] = line.split(' ');
        const partition = Number(p);
        const offset = Number(off);
        if (value === undefined || !Number.isSafeInteger(partition) || !Number.isSafeInteger(offset)) continue;
        ops.push({ type: 'poll', process: proc, topic: o.topic, partition, offset, value, timeMs: nowMs });
        records++;
        if (partition < maxRead.length) maxRead[partition] = Math.max(maxRead[partition]!, offset);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < stderrMax) stderr += chunk.toString('utf8');
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${kcat} for the read-back: ${err.message}; install kcat (Debian: apt-get install kcat)`));
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolveRead();
      else reject(new Error(`read-back with ${kcat} ${args.join(' ')} exited with ${code}: ${stderr.slice(-2000)}`));
    });
  });
  const nowMs = Date.now();
  endOffsets.forEach((endOffset, partition) => ops.push({ type: 'drained', topic: o.topic, partition, endOffset, timeMs: nowMs }));
  const short = endOffsets.flatMap((hw, partition) => (maxRead[partition]! + 1 < hw ? [{ partition, readTo: maxRead[partition]! + 1, highWatermark: hw }] : []));
  return { ops, records, endOffsets, short };
}
