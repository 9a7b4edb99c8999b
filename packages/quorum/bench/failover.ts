/**
 * `pnpm quorum:failover [runs=20]`: kill -9 the leader of a 3-process quorum, time until a proposal commits at the
 * new leader (from the kill), restart the old leader, let it catch up, repeat. Prints each run and min/p50/p99/max.
 */
import { ProcessCluster } from '../test/process-cluster.ts';

const runs = Number(process.argv[2] ?? 20);
if (!Number.isSafeInteger(runs) || runs <= 0 || runs > 1000) throw new Error('runs must be 1..1000');

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const cluster = await ProcessCluster.start();
const samples: number[] = [];
try {
  let leader = await cluster.waitForLeader();
  for (let i = 0; i < 10; i++) await cluster.client.propose(`warm-${i}`, 'x');
  for (let run = 0; run < runs; run++) {
    const killedAt = performance.now();
    await cluster.kill(leader, 'SIGKILL');
    const r = await cluster.client.propose(`failover-${run}`, String(run), 15_000);
    const ms = performance.now() - killedAt;
    samples.push(ms);
    console.log(`run ${String(run + 1).padStart(2)}: killed node ${leader}, node ${r.nodeId} committed offset ${r.offset} after ${ms.toFixed(0)} ms`);
    await cluster.startNode(leader);
    const check = await cluster.client.propose(`rejoined-${run}`, 'y');
    // Wait until the restarted node has applied it, so the next kill starts from a healthy quorum.
    const deadline = Date.now() + 15_000;
    for (;;) {
      const applied = await Promise.all(cluster.ids.map((id) => cluster.client.read(id).then((x) => x.appliedOffset, () => 0)));
      if (applied.every((a) => a > check.offset)) break;
      if (Date.now() > deadline) throw new Error('restarted node did not catch up within 15 s');
      await new Promise((res) => setTimeout(res, 50));
    }
    leader = await cluster.waitForLeader();
  }
} finally {
  await cluster.close();
}
const sorted = [...samples].sort((a, b) => a - b);
console.log(`\nfailover (kill -9 of the leader -> a proposal committed by the new leader), ${samples.length} runs, ms:`);
console.log(`  min ${sorted[0]!.toFixed(0)}  p50 ${percentile(sorted, 50).toFixed(0)}  p99 ${percentile(sorted, 99).toFixed(0)}  max ${sorted[sorted.length - 1]!.toFixed(0)}`);
console.log(`  under 2 s: ${sorted.filter((ms) => ms < 2000).length}/${sorted.length}`);
