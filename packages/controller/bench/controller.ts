/**
 * `pnpm bench:controller [--topics 1000] [--partitions 10] [--concurrency 32]`: a 3-controller quorum of processes
 * (loopback, fsync on every node) and three simulated brokers (each a MetadataFollower + heartbeats in this process).
 *
 *   1. creates N topics of P partitions (RF 3), one topic per CreateTopics, `concurrency` requests in flight:
 *      total time, topics/s, and the per-request commit latency (request sent -> answer) p50/p99;
 *   2. metadata propagation to the followers: for every topic, the time from its CreateTopics answer (committed on
 *      the active controller) until each follower's image holds it (p50/p99/max; negative = the follower had it
 *      before the answer reached the client), and end to end (request sent -> in every follower's image);
 *   3. the same with one request at a time (unloaded), 100 topics.
 */
import { parseArgs } from 'node:util';
import { SimBroker, waitFor } from '../test/helpers.ts';
import { ControllerCluster } from '../test/process-cluster.ts';

const { values } = parseArgs({ options: { topics: { type: 'string' }, partitions: { type: 'string' }, concurrency: { type: 'string' } } });
const topics = Number(values.topics ?? 1000);
const partitions = Number(values.partitions ?? 10);
const concurrency = Number(values.concurrency ?? 32);
for (const [name, v, max] of [['topics', topics, 100_000], ['partitions', partitions, 10_000], ['concurrency', concurrency, 1024]] as const) {
  if (!Number.isSafeInteger(v) || v <= 0 || v > max) throw new Error(`--${name} must be 1..${max}`);
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
function summary(samples: number[]): string {
  const s = [...samples].sort((a, b) => a - b);
  return `p50 ${pct(s, 50).toFixed(1)}  p99 ${pct(s, 99).toFixed(1)}  max ${s[s.length - 1]!.toFixed(1)} ms`;
}

const cluster = await ControllerCluster.start({ sessionTimeoutMs: 9000, verifyImages: false, snapshotInterval: 20_000 });
const brokers: SimBroker[] = [];
try {
  await cluster.waitForActive();
  /** topic name -> when each follower first had it */
  const seen = new Map<string, number[]>();
  for (const id of [1, 2, 3]) {
    const b = new SimBroker(cluster.newClient({ clientId: `broker-${id}` }), id, {
      heartbeatIntervalMs: 2000,
      listener: (u) => {
        const now = performance.now();
        for (const e of u.entries) for (const r of e.records) if (r.type === 'topic') (seen.get(r.name) ?? seen.set(r.name, []).get(r.name)!).push(now);
      },
    });
    brokers.push(b.start());
  }
  await waitFor('3 unfenced brokers', 20_000, () => brokers.every((b) => b.lifecycle.state === 'unfenced'));

  const run = async (prefix: string, count: number, inFlight: number): Promise<void> => {
    const sent = new Map<string, number>();
    const acked = new Map<string, number>();
    const commitMs: number[] = [];
    let next = 0;
    const startedAt = performance.now();
    const worker = async (): Promise<void> => {
      // Bounded: each round takes one topic index.
      while (next < count) {
        const name = `${prefix}-${String(next++).padStart(5, '0')}`;
        const t0 = performance.now();
        sent.set(name, t0);
        const r = await cluster.client.createTopics({ topics: [{ name, numPartitions: partitions, replicationFactor: 3, assignments: [], configs: [] }], validateOnly: false });
        if (r.topics[0]!.errorCode !== 0) throw new Error(`${name}: ${r.topics[0]!.errorMessage}`);
        const t1 = performance.now();
        acked.set(name, t1);
        commitMs.push(t1 - t0);
      }
    };
    await Promise.all(Array.from({ length: inFlight }, worker));
    const totalMs = performance.now() - startedAt;
    await waitFor('followers to see every topic', 60_000, () => [...acked.keys()].every((n) => (seen.get(n)?.length ?? 0) >= brokers.length), 20);
    const afterAck: number[] = [];
    const endToEnd: number[] = [];
    for (const [name, at] of acked) {
      const times = seen.get(name)!;
      for (const t of times) afterAck.push(t - at);
      endToEnd.push(Math.max(...times) - sent.get(name)!);
    }
    console.log(`\n${count} topics x ${partitions} partitions (RF 3), ${inFlight} CreateTopics in flight:`);
    console.log(`  total ${(totalMs / 1000).toFixed(2)} s, ${((count * 1000) / totalMs).toFixed(0)} topics/s, ${((count * partitions * 1000) / totalMs).toFixed(0)} partitions/s`);
    console.log(`  CreateTopics request -> committed answer:      ${summary(commitMs)}`);
    console.log(`  answer -> topic in a follower's image:         ${summary(afterAck)}  (${afterAck.filter((x) => x < 0).length}/${afterAck.length} before the answer)`);
    console.log(`  request -> topic in all 3 followers' images:   ${summary(endToEnd)}`);
  };

  await run('bench', topics, concurrency);
  await run('serial', 100, 1);
  const status = await cluster.describe(await cluster.waitForActive());
  console.log(`\nactive controller: ${status?.topics} topics, ${status?.partitions} partitions, metadata offset ${status?.appliedOffset}`);
} finally {
  for (const b of brokers) await b.stop();
  await cluster.close();
}
