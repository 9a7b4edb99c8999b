/**
 * `pnpm bench:quorum [seconds=5]`: committed proposals per second and commit latency of a 3-process quorum on
 * loopback (fsync per Ready on every node). Unbatched: one proposal at a time (each waits for the previous commit).
 * Batched: N proposals kept in flight at once (the leader's driver folds whatever arrives while a Ready is being
 * persisted into one entry batch). Latency is measured at the client, from the Propose call to its answer
 * (committed and applied on the leader).
 */
import { ProcessCluster } from '../test/process-cluster.ts';

const seconds = Number(process.argv[2] ?? 5);
if (!(seconds > 0 && seconds <= 600)) throw new Error('seconds must be in (0, 600]');
const VALUE = 'v'.repeat(100);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

interface Row {
  mode: string;
  inFlight: number;
  committed: number;
  perSecond: number;
  p50: number;
  p99: number;
}

async function run(cluster: ProcessCluster, leader: number, mode: string, inFlight: number): Promise<Row> {
  const latencies: number[] = [];
  const endAt = performance.now() + seconds * 1000;
  let seq = 0;
  const worker = async (w: number): Promise<void> => {
    // Bounded by the time budget.
    while (performance.now() < endAt) {
      const start = performance.now();
      await cluster.client.proposeTo(leader, `${mode}-${w}-${seq++ % 1000}`, VALUE, 10_000);
      latencies.push(performance.now() - start);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: inFlight }, (_, w) => worker(w)));
  const elapsedS = (performance.now() - started) / 1000;
  const sorted = latencies.sort((a, b) => a - b);
  return { mode, inFlight, committed: sorted.length, perSecond: sorted.length / elapsedS, p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
}

const cluster = await ProcessCluster.start();
const rows: Row[] = [];
try {
  const leader = await cluster.waitForLeader();
  await run(cluster, leader, 'warmup', 16);
  rows.push(await run(cluster, leader, 'unbatched', 1));
  for (const n of [16, 64, 256]) rows.push(await run(cluster, leader, 'batched', n));
} finally {
  await cluster.close();
}
console.log(`\n3-voter quorum on loopback, ${seconds} s per row, 100-byte values, fsync on every node per Ready\n`);
console.log('| mode      | in flight | committed | proposals/s | p50 ms | p99 ms |');
console.log('|-----------|----------:|----------:|------------:|-------:|-------:|');
for (const r of rows) {
  console.log(`| ${r.mode.padEnd(9)} | ${String(r.inFlight).padStart(9)} | ${String(r.committed).padStart(9)} | ${r.perSecond.toFixed(0).padStart(11)} | ${r.p50.toFixed(1).padStart(6)} | ${r.p99.toFixed(1).padStart(6)} |`);
}
