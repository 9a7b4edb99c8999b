// `pnpm bench:groups`: a group of 3 confluent-kafka-python consumers (librdkafka) draining a 6-partition
// topic on one node: the group's throughput, the time for the first rebalance to give every member its
// partitions, and the time for a rebalance after one member leaves.
// Env: BENCH_RECORDS (default 300000), BENCH_RECORD_BYTES (1024).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TributaryNode } from '../../e2e/support/node.ts';
import { Background, sleep } from '../../e2e/support/process.ts';
import { python, pythonDir } from '../../e2e/support/python.ts';
import { WireConnection, createTopic, produce } from '../../e2e/support/wire.ts';

const recordCount = Number(process.env.BENCH_RECORDS ?? 300_000);
const recordBytes = Number(process.env.BENCH_RECORD_BYTES ?? 1024);
const partitions = 6;
const work = mkdtempSync(join(tmpdir(), 'trib-bench-groups-'));

interface Worker { proc: Background; lines(): any[] }

function startWorker(bootstrap: string, topic: string, group: string): Worker {
  const proc = new Background(python, [join(pythonDir, 'group_worker.py'), 'confluent', bootstrap, topic, group, '6000', 'count'], { ...process.env, PYTHONUNBUFFERED: '1', PYTHONPATH: pythonDir });
  return { proc, lines: () => proc.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)) };
}
const consumed = (w: Worker): number => w.lines().reduce((n, l) => n + (l.n ?? 0), 0);
const assigned = (w: Worker): number[] => w.lines().filter((l) => 'assigned' in l).at(-1)?.assigned ?? [];

async function until(what: string, condition: () => boolean, timeoutMs = 300_000): Promise<number> {
  const start = performance.now();
  while (!condition()) {
    if (performance.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
  return performance.now() - start;
}

const node = await TributaryNode.start({ dataDir: join(work, 'data'), overrides: { 'group.initial.rebalance.delay.ms': '0' } });
const workers: Worker[] = [];
try {
  const topic = 'bench-groups';
  const conn = await WireConnection.openTo(node.bootstrap);
  if ((await createTopic(conn, topic, partitions)).errorCode !== 0) throw new Error('CreateTopics failed');
  const value = Buffer.alloc(recordBytes, 120);
  const perBatch = 500;
  for (let sent = 0, p = 0; sent < recordCount; sent += perBatch, p = (p + 1) % partitions) {
    const n = Math.min(perBatch, recordCount - sent);
    const res = await produce(conn, topic, p, Array.from({ length: n }, (_, i) => ({ key: Buffer.from(`k${sent + i}`), value, headers: [] })), 1);
    if (res.errorCode !== 0) throw new Error(`produce failed: ${res.errorCode}`);
  }
  conn.close();
  console.log(`tributary group bench: ${recordCount} records of ${recordBytes} B in ${partitions} partitions, 3 confluent-kafka-python consumers`);

  const t0 = performance.now();
  for (let i = 0; i < 3; i++) workers.push(startWorker(node.bootstrap, topic, 'bench-group'));
  const firstRebalanceMs = await until('every member assigned', () => workers.every((w) => assigned(w).length === 2));
  const drainMs = await until('all records consumed', () => workers.reduce((n, w) => n + consumed(w), 0) >= recordCount);
  const seconds = (performance.now() - t0) / 1000;
  const total = workers.reduce((n, w) => n + consumed(w), 0);
  console.log(`join + first rebalance (3 members):  ${firstRebalanceMs.toFixed(0)} ms`);
  console.log(`drain:                               ${(recordCount / seconds).toFixed(0)} records/s, ${((recordCount * recordBytes) / seconds / 1e6).toFixed(1)} MB/s (${total} consumed incl. redeliveries, ${(drainMs / 1000).toFixed(2)} s)`);

  workers[2]!.proc.child.kill('SIGTERM');
  const leaveRebalanceMs = await until('survivors own every partition', () => new Set([...assigned(workers[0]!), ...assigned(workers[1]!)]).size === partitions);
  console.log(`rebalance after a member leaves:     ${leaveRebalanceMs.toFixed(0)} ms`);
} finally {
  for (const w of workers) w.proc.kill();
  await node.stop();
  rmSync(work, { recursive: true, force: true });
}
