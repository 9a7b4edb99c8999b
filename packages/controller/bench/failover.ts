/**
 * `node packages/controller/bench/failover.ts [runs=20]`: kill -9 the active controller of a 3-process quorum (three
 * simulated brokers heartbeating, one writer creating topics), time until another node reports active and until a
 * CreateTopics commits, restart the killed node, let it converge, repeat. Prints each run and min/p50/p99/max.
 */
import { SimBroker, waitFor } from '../test/helpers.ts';
import { ControllerCluster } from '../test/process-cluster.ts';

const runs = Number(process.argv[2] ?? 20);
if (!Number.isSafeInteger(runs) || runs <= 0 || runs > 1000) throw new Error('runs must be 1..1000');

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
function line(name: string, samples: number[]): string {
  const s = [...samples].sort((a, b) => a - b);
  return `${name}: min ${s[0]!.toFixed(0)}  p50 ${pct(s, 50).toFixed(0)}  p99 ${pct(s, 99).toFixed(0)}  max ${s[s.length - 1]!.toFixed(0)} ms; under 2 s: ${s.filter((x) => x < 2000).length}/${s.length}`;
}

const cluster = await ControllerCluster.start({ sessionTimeoutMs: 9000, verifyImages: false, logLevel: process.env['TRIB_LOG_LEVEL'] ?? 'warn' });
const brokers: SimBroker[] = [];
const active: number[] = [];
const write: number[] = [];
try {
  let leader = await cluster.waitForActive();
  for (const id of [1, 2, 3]) brokers.push(new SimBroker(cluster.newClient({ clientId: `broker-${id}` }), id, { heartbeatIntervalMs: 2000 }).start());
  await waitFor('3 unfenced brokers', 20_000, () => brokers.every((b) => b.lifecycle.state === 'unfenced'));
  let n = 0;
  const topic = (name: string): { name: string; numPartitions: number; replicationFactor: number; assignments: []; configs: [] } => ({ name, numPartitions: 3, replicationFactor: 3, assignments: [], configs: [] });
  for (let run = 0; run < runs; run++) {
    let writing = true;
    const writer = (async () => {
      const client = cluster.newClient({ clientId: 'writer' });
      while (writing) await client.createTopics({ topics: [topic(`w-${n++}`)], validateOnly: false }).catch(() => null);
    })();
    await new Promise((r) => setTimeout(r, 200));
    const killedAt = performance.now();
    await cluster.kill(leader, 'SIGKILL');
    const next = await cluster.waitForActive(15_000, [leader], 10);
    active.push(performance.now() - killedAt);
    await cluster.client.createTopics({ topics: [topic(`after-${run}`)], validateOnly: false });
    write.push(performance.now() - killedAt);
    writing = false;
    await writer;
    console.log(`run ${String(run + 1).padStart(2)}: killed ${leader}, ${next} active after ${active.at(-1)!.toFixed(0)} ms, first write committed after ${write.at(-1)!.toFixed(0)} ms`);
    await cluster.startNode(leader);
    const end = (await cluster.describe(next))!.appliedOffset;
    await waitFor('the restarted node to catch up', 15_000, async () => ((await cluster.describe(leader))?.appliedOffset ?? 0) >= end, 50);
    leader = await cluster.waitForActive();
  }
} finally {
  for (const b of brokers) await b.stop();
  await cluster.close();
}
console.log(`\n${runs} runs (kill -9 of the active controller ->)`);
console.log(line('  another controller active', active));
console.log(line('  first CreateTopics committed', write));
