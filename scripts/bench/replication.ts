/**
 * `pnpm bench:replication [records] [failover-runs]`: in one run, on this machine,
 *  (1) produce throughput and per-record latency (librdkafka via confluent-kafka-python, 1 KiB records) with
 *      acks=1 on one node, then acks=all on three nodes (replication factor 3, min.insync.replicas 2, fsync
 *      durability: acknowledged once every in-sync replica has the records on disk);
 *  (2) failover: kill -9 the leader of a partition while a writer produces with acks=all, one record per request;
 *      the time from the kill to the first acknowledged write (p50 / p99 / max over the runs; the node is restarted
 *      and the ISR is full again before the next run).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { KafkaClient, KafkaConnection } from '../../packages/client/src/index.ts';
import { ApiKey } from '../../packages/protocol/src/index.ts';
import { startCombinedNodes, TributaryNode } from '../../e2e/support/node.ts';

const records = Number(process.argv[2] ?? 100_000);
const failoverRuns = Number(process.argv[3] ?? 20);
const python = process.env.TRIB_PYTHON ?? '/usr/bin/python3';
const producerScript = join(import.meta.dirname, 'latency_producer.py');

/** Busy and total CPU jiffies of the whole machine (/proc/stat): the limit every process here shares. */
function machineJiffies(): { busy: number; total: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  return { busy: total - fields[3]! - fields[4]!, total };
}

/**
 * One produce run. Also reports how busy the machine's CPUs were meanwhile (`cpu_busy_pct`, every core counted): on a
 * small machine the producer and every broker share the same cores, so near 100 % the figure is the machine's limit.
 */
function produce(bootstrap: string, topic: string, acks: string, idempotence = acks === 'all'): Record<string, unknown> {
  const before = machineJiffies();
  const out = execFileSync(python, [producerScript, bootstrap, topic, String(records), '1024', acks, idempotence ? '1' : '0'], { encoding: 'utf8', maxBuffer: 1 << 20, timeout: 600_000 });
  const after = machineJiffies();
  const result = JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, unknown>;
  result.cpu_busy_pct = Math.round((100 * (after.busy - before.busy)) / Math.max(1, after.total - before.total));
  return result;
}

async function cluster(): Promise<TributaryNode[]> {
  return startCombinedNodes(3, {
    'broker.session.timeout.ms': '3000',
    'broker.heartbeat.interval.ms': '500',
  });
}

async function partition0(nodes: TributaryNode[], topic: string): Promise<{ leaderId: number; isrNodes: number[] } | null> {
  for (const n of nodes) {
    if (!n.running) continue;
    try {
      const conn = await KafkaConnection.connect({ host: n.host, port: n.port, clientId: 'bench' });
      try {
        const md: any = await conn.request(ApiKey.Metadata, 12, { topics: [{ name: topic, topicId: 'AAAAAAAAAAAAAAAAAAAAAA' }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
        const p = md.topics[0]?.partitions.find((x: any) => x.partitionIndex === 0);
        if (p) return p;
      } finally {
        await conn.close();
      }
    } catch {
      // next node
    }
  }
  return null;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

async function main(): Promise<void> {
  const single = await TributaryNode.start();
  const singleClient = new KafkaClient({ bootstrapServers: single.bootstrap });
  await singleClient.connect();
  await singleClient.createTopics([{ name: 'bench', numPartitions: 3, replicationFactor: 1 }]);
  await singleClient.close();
  const one = produce(single.bootstrap, 'bench', '1');
  await single.dispose();

  const nodes = await cluster();
  const bootstrap = nodes.map((n) => n.bootstrap).join(',');
  const client = new KafkaClient({ bootstrapServers: bootstrap, requestTimeoutMs: 15_000 });
  await client.connect();
  await client.createTopics([{ name: 'bench', numPartitions: 3, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } }]);
  const all = produce(bootstrap, 'bench', 'all');
  await client.createTopics([{ name: 'bench-plain', numPartitions: 3, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } }]);
  const allPlain = produce(bootstrap, 'bench-plain', 'all', false);
  process.stderr.write(`acks=1 one node: ${JSON.stringify(one)}\nacks=all three nodes: ${JSON.stringify(all)}\nacks=all three nodes, no idempotence: ${JSON.stringify(allPlain)}\n`);

  await client.createTopics([{ name: 'failover', numPartitions: 1, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } }]);
  const times: number[] = [];
  for (let run = 0; run < failoverRuns; run++) {
    for (let i = 0; i < 600; i++) {
      const p = await partition0(nodes, 'failover');
      if (p && p.leaderId > 0 && p.isrNodes.length === 3) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    // The client may still hold a connection or metadata from before the last restart: retry, bounded.
    for (let attempt = 0; ; attempt++) {
      try {
        await client.produce('failover', 0, [{ value: `warm-${run}` }], { acks: -1, timeoutMs: 5000 });
        break;
      } catch (err) {
        if (attempt > 100) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const leader = (await partition0(nodes, 'failover'))!.leaderId;
    const t0 = performance.now();
    await nodes[leader - 1]!.kill('SIGKILL');
    // Until the first acknowledged write: a refused connection fails at once, so the bound is time, not attempts
    // (200 quick refusals once ended the run before the new leader was elected), with a short pause per attempt.
    for (const deadline = t0 + 60_000; ; ) {
      try {
        await client.produce('failover', 0, [{ value: `after-${run}` }], { acks: -1, timeoutMs: 5000 });
        break;
      } catch (err) {
        if (performance.now() > deadline) throw new Error(`failover run ${run + 1}: no acknowledged write within 60 s of killing node ${leader}`, { cause: err });
        await new Promise((r) => setTimeout(r, 10));
      }
    }
    times.push(performance.now() - t0);
    process.stderr.write(`failover run ${run + 1}: ${times.at(-1)!.toFixed(0)} ms (killed node ${leader})\n`);
    await nodes[leader - 1]!.restart();
  }
  await client.close();
  await Promise.all(nodes.map((n) => n.dispose()));
  const sorted = [...times].sort((a, b) => a - b);
  const fmt = (r: Record<string, unknown>): string => `${r.records_per_s} records/s (${r.mb_per_s} MB/s), latency p50 ${r.p50_ms} ms, p99 ${r.p99_ms} ms, errors ${r.errors}, machine CPU busy ${r.cpu_busy_pct}% of ${cpus().length} cores`;
  console.log(`produce ${records} x 1 KiB, librdkafka (confluent-kafka-python), same run:`);
  console.log(`  acks=1,   one node:                          ${fmt(one)}`);
  console.log(`  acks=all, three nodes, RF 3, min ISR 2, fsync: ${fmt(all)}`);
  // librdkafka 2.0.2's idempotent producer keeps at most 5 *messages* in flight per partition, so with full batches it
  // waits for each acknowledgement before sending the next request: its throughput is batch size over acks=all latency.
  console.log(`  the same without idempotence (requests pipelined): ${fmt(allPlain)}`);
  console.log(`  ratio acks=all(3 nodes) / acks=1(1 node) throughput: ${((all.records_per_s as number) / (one.records_per_s as number)).toFixed(2)}`);
  console.log(`failover (kill -9 of the leader -> first acknowledged acks=all write), ${times.length} runs: p50 ${percentile(sorted, 0.5).toFixed(0)} ms, p99 ${percentile(sorted, 0.99).toFixed(0)} ms, min ${sorted[0]!.toFixed(0)} ms, max ${sorted.at(-1)!.toFixed(0)} ms (broker.session.timeout.ms 3000)`);
}

await main();
