// Rack-aware placement, then a rolling restart under acks=all load, on 3 controllers (ids 1-3) and 4 brokers (ids 4-7)
// as processes. The brokers sit in three racks (rack-a: 4 and 5, rack-b: 6, rack-c: 7): a topic with 12 partitions,
// replication factor 3 and min.insync.replicas 2 has every partition's replicas in all three racks and its leaders
// spread evenly, as Metadata and `trib` both show. Then, while three idempotent acks=all producers (librdkafka) write,
// every broker is restarted in turn (SIGTERM = controlled shutdown, wait for a clean exit, start, wait until every ISR
// is full again), then every controller (the active one last). Per partition, the longest gap between consecutive
// acknowledgements stays far below the session timeout: no partition is unavailable beyond a leader failover.
// Afterwards everything is read back: nothing acknowledged is lost, stored twice or at another offset than
// acknowledged, and no producer bumped its epoch.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KafkaClient, KafkaConnection, type QuorumInfo } from '@tributary/client';
import { checkHistory, collectHistory, ProducerProcess, readBack, type SendOp } from '@tributary/harness';
import { ApiKey } from '@tributary/protocol';
import { runOk } from '../support/kcat.ts';
import { startSplitCluster, TributaryNode, tribBin } from '../support/node.ts';
import { sleep } from '../support/process.ts';
import { waitFor as waitUntil } from '../support/wait.ts';

const TOPIC = 'rolling';
const PARTITIONS = 12;
/**
 * Kafka's default session timeout (9 s) rather than the 3 s of the other suites: a broker stopped without a working
 * controlled shutdown keeps its leaderships until its session expires, so its partitions would go at least 9 s
 * without an acknowledgement, well apart from the gaps a controlled shutdown leaves (GAP_BOUND_MS).
 */
const SESSION_TIMEOUT_MS = 9000;
const RATE_PER_S = 100;
/** Broker id to rack: one rack with two brokers, two with one, so a rack-unaware placement would often miss a rack. */
const RACKS: ReadonlyMap<number, string> = new Map([[4, 'rack-a'], [5, 'rack-a'], [6, 'rack-b'], [7, 'rack-c']]);
const RACK_COUNT = new Set(RACKS.values()).size;
/** How long a node has to stop on SIGTERM: the broker's controlled shutdown gives up after 10 s, then it stops anyway. */
const STOP_GRACE_MS = 30_000;
/**
 * The bound on any partition's longest gap between consecutive acknowledgements during the restarts. A broker stopped
 * with SIGTERM hands its leaderships to other in-sync replicas before it goes, so a partition is leaderless only while
 * the controller commits that change and librdkafka refreshes its metadata; restarting a controller does not touch
 * the data path. Measured on 2 cores shared with other suites (load average 9-13): a broker step's longest gap was
 * 0.9-2.2 s, beginning just before the SIGTERM; a controller step's 0.3-0.8 s, once 2.8 s while the restarted
 * controller took 9 s to start; at most 0.8 s with nothing restarting. The same run with SIGKILL instead of SIGTERM for
 * the brokers had gaps of 10.2-10.4 s (the session timeout, then the failover). 6 s is twice the worst measured and
 * still a third below the session timeout that a partition would wait out without controlled shutdown.
 */
const GAP_BOUND_MS = 6000;

const controllers: TributaryNode[] = [];
const brokers: TributaryNode[] = [];
let bootstrap = '';
let workDir = '';
/** The acks=all writes that showed every follower fetching before the producers started. */
const warmups: SendOp[] = [];

const brokerById = (id: number): TributaryNode => brokers[id - 4]!;

/** Longer than the shared default: a failover or restart here can take most of a minute. */
const waitFor = <T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 60_000): Promise<T> => waitUntil(what, probe, timeoutMs);

interface PartitionView {
  partitionIndex: number;
  leaderId: number;
  replicaNodes: number[];
  isrNodes: number[];
}

/** Metadata of `topics` from the first running broker that answers (a fresh connection: no client-side cache). */
async function metadata(topics: string[]): Promise<{ brokers: { nodeId: number; rack: string | null }[]; topics: { name: string; errorCode: number; partitions: PartitionView[] }[] }> {
  for (const b of brokers) {
    if (!b.running) continue;
    try {
      const conn = await KafkaConnection.connect({ host: b.host, port: b.port, clientId: 'rolling-restart-e2e' });
      try {
        return (await conn.request(ApiKey.Metadata, 12, { topics: topics.map((name) => ({ name, topicId: 'AAAAAAAAAAAAAAAAAAAAAA' })), allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false })) as never;
      } finally {
        await conn.close();
      }
    } catch {
      // the next broker
    }
  }
  throw new Error(`no running broker answered Metadata (brokers ${brokers.map((b) => `${b.bootstrap} running=${b.running}`).join(', ')})`);
}

async function partitionsOf(topic: string): Promise<PartitionView[]> {
  const t = (await metadata([topic])).topics[0];
  if (t === undefined || t.errorCode !== 0) throw new Error(`topic ${topic}: error ${t?.errorCode ?? 'missing'} in Metadata`);
  return [...t.partitions].sort((a, b) => a.partitionIndex - b.partitionIndex);
}

/** Every partition of TOPIC has a leader and all three replicas in its ISR. */
async function healthy(): Promise<boolean> {
  const ps = await partitionsOf(TOPIC);
  return ps.length === PARTITIONS && ps.every((p) => p.leaderId > 0 && p.isrNodes.length === 3);
}

/** The metadata quorum, asked through a fresh client of the running brokers. */
async function quorum(): Promise<QuorumInfo> {
  const client = new KafkaClient({ bootstrapServers: brokers.filter((b) => b.running).map((b) => b.bootstrap).join(','), clientId: 'rolling-restart-e2e', requestTimeoutMs: 5000 });
  try {
    await client.connect();
    return await client.describeQuorum();
  } finally {
    await client.close();
  }
}

async function trib(args: string[]): Promise<string> {
  return (await runOk(process.execPath, [tribBin, ...args, '--bootstrap-server', bootstrap])).stdout.toString('utf8');
}

/** Stops a node with SIGTERM and checks that it exited by itself, cleanly (no SIGKILL after the grace period). */
async function stopCleanly(node: TributaryNode, name: string): Promise<void> {
  await node.stop(STOP_GRACE_MS);
  const exit = node.logs.findLast((l) => l.startsWith('### exited '));
  expect(exit, `${name} exit line`).toBe('### exited code=0 signal=null');
}

/** A broker's controlled shutdown finished before it stopped: the controller had moved its leaderships away. */
function expectControlledShutdown(node: TributaryNode, id: number): void {
  const sinceStart = node.logs.slice(node.logs.findLastIndex((l) => l.startsWith('### start ')));
  expect(sinceStart.filter((l) => l.includes('controlled shutdown did not finish in time')), `broker ${id}: controlled shutdown gave up`).toEqual([]);
  expect(sinceStart.some((l) => l.includes('"msg":"controlled shutdown complete"')), `broker ${id} logged "controlled shutdown complete"`).toBe(true);
}

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'trib-rolling-'));
  const started = await startSplitCluster(3, [...RACKS].map(([id, rack]) => ({ id, overrides: { 'broker.rack': rack } })), {
    'broker.session.timeout.ms': String(SESSION_TIMEOUT_MS),
    'broker.heartbeat.interval.ms': '500',
    'replica.lag.time.max.ms': '3000',
    'offsets.topic.replication.factor': '3',
    'offsets.topic.num.partitions': '3',
  });
  controllers.push(...started.controllers);
  brokers.push(...started.brokers);
  bootstrap = brokers.map((b) => b.bootstrap).join(',');
  await waitFor('all four brokers registered', async () => (await metadata([])).brokers.length === RACKS.size);
  const client = new KafkaClient({ bootstrapServers: bootstrap, requestTimeoutMs: 15_000 });
  try {
    await client.connect();
    await client.createTopics([{ name: TOPIC, numPartitions: PARTITIONS, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } }]);
    // A new partition starts with all its replicas in the ISR, whether or not the followers have even created their
    // logs (under load that took seconds, and the restarts then began with lagging followers): an acknowledged acks=all
    // write to every partition, then a full ISR, shows every follower fetching. The checker reads these back too.
    await waitFor(`${TOPIC}: a leader for every partition`, async () => (await partitionsOf(TOPIC)).every((p) => p.leaderId > 0));
    warmups.push(
      ...(await Promise.all(
        Array.from({ length: PARTITIONS }, async (_, partition): Promise<SendOp> => {
          const value = `warmup-${partition}`;
          const offset = await client.produce(TOPIC, partition, [{ key: value, value }], { acks: -1, timeoutMs: 60_000 });
          return { type: 'send', process: 'warmup', topic: TOPIC, partition, key: value, value, offset, outcome: 'ok', timeMs: Date.now() };
        }),
      )),
    );
  } finally {
    await client.close();
  }
  await waitFor(`${TOPIC}: a leader and a full ISR everywhere`, healthy);
}, 120_000);

afterAll(async () => {
  await Promise.all([...brokers, ...controllers].map((n) => n.dispose()));
  if (workDir !== '') rmSync(workDir, { recursive: true, force: true });
});

/** Counts per broker id of `ids`. */
function tally(ids: readonly number[]): Map<number, number> {
  const out = new Map<number, number>();
  for (const id of ids) out.set(id, (out.get(id) ?? 0) + 1);
  return out;
}

describe('rack-aware placement and a rolling restart (3 controllers + 4 brokers in 3 racks)', () => {
  it('places every partition across min(RF, racks) racks with leaders spread, as Metadata and trib show', async () => {
    const md = await metadata([TOPIC]);
    expect(new Map(md.brokers.map((b) => [b.nodeId, b.rack]))).toEqual(RACKS);
    const ps = await partitionsOf(TOPIC);
    expect(ps).toHaveLength(PARTITIONS);
    for (const p of ps) {
      expect(new Set(p.replicaNodes).size, `${TOPIC}-${p.partitionIndex} replicas ${p.replicaNodes}`).toBe(3);
      expect(new Set(p.replicaNodes.map((id) => RACKS.get(id))).size, `${TOPIC}-${p.partitionIndex} replicas ${p.replicaNodes} span every rack`).toBe(Math.min(3, RACK_COUNT));
      // A new partition is led by its first (preferred) replica.
      expect(p.leaderId).toBe(p.replicaNodes[0]);
    }
    // Leaders go round-robin over the rack-alternated broker list: 12 partitions, 3 per broker.
    expect(tally(ps.map((p) => p.leaderId))).toEqual(new Map([...RACKS.keys()].map((id) => [id, PARTITIONS / RACKS.size])));

    // Replication factor 2 with three racks: two racks per partition, never both replicas in rack-a.
    await trib(['topic', 'create', 'placement-rf2', '--partitions', '8', '--replication-factor', '2']);
    const rf2 = await waitFor('placement-rf2 in Metadata', async () => {
      const t = (await metadata(['placement-rf2'])).topics[0];
      return t?.errorCode === 0 && t.partitions.length === 8 ? t.partitions : null;
    });
    for (const p of rf2) expect(new Set(p.replicaNodes.map((id) => RACKS.get(id))).size, `placement-rf2-${p.partitionIndex} replicas ${p.replicaNodes}`).toBe(2);
    expect([...tally(rf2.map((p) => p.leaderId)).values()]).toEqual([2, 2, 2, 2]);

    // The same through the CLI: brokers with their racks, and the topic's replicas, ISR and leaders.
    const info = JSON.parse(await trib(['cluster', 'info', '--json'])) as { brokers: { nodeId: number; rack: string | null }[] };
    expect(new Map(info.brokers.map((b) => [b.nodeId, b.rack]))).toEqual(RACKS);
    const described = JSON.parse(await trib(['topic', 'describe', TOPIC, '--json'])) as { replicationFactor: number; configs: Record<string, string>; partitions: { partition: number; leader: number; replicas: number[]; isr: number[] }[] };
    expect(described.replicationFactor).toBe(3);
    expect(described.configs['min.insync.replicas']).toBe('2');
    expect(described.partitions.map((p) => ({ partitionIndex: p.partition, leaderId: p.leader, replicaNodes: p.replicas, isrNodes: p.isr }))).toEqual(ps.map((p) => ({ partitionIndex: p.partitionIndex, leaderId: p.leaderId, replicaNodes: p.replicaNodes, isrNodes: p.isrNodes })));
    process.stdout.write(`placement of ${TOPIC} (racks ${JSON.stringify(Object.fromEntries(RACKS))}):\n${await trib(['topic', 'describe', TOPIC])}\n`);
  });

  it('restarts every broker, then every controller, under 3 idempotent acks=all producers with no partition unavailable beyond a failover and nothing lost or duplicated', { timeout: 300_000 }, async (context) => {
    context.onTestFailed(() => [...controllers, ...brokers].forEach((n) => n.printLogs('rolling restart test failed', 120)));
    const stopFile = join(workDir, 'stop');
    const producers = ['alpha', 'beta', 'gamma'].map((name) => new ProducerProcess({ bootstrap, topic: TOPIC, name, stopFile, ratePerS: RATE_PER_S }));
    const steps: { name: string; startMs: number; endMs: number; stopMs: number; startupMs: number }[] = [];
    let restartStartMs = 0;
    let restartEndMs = 0;
    let quietStartMs = 0;
    let producersStopMs = 0;
    try {
      // A quiet stretch first: the longest gap between acknowledgements with nothing happening, for comparison.
      await sleep(2000);
      quietStartMs = Date.now();
      await sleep(3000);
      await waitFor(`every ISR of ${TOPIC} full before the restarts`, healthy, 90_000);
      restartStartMs = Date.now();
      for (const [id] of RACKS) {
        const node = brokerById(id);
        const t0 = Date.now();
        await stopCleanly(node, `broker ${id}`);
        const t1 = Date.now();
        expectControlledShutdown(node, id);
        const after = await partitionsOf(TOPIC);
        expect(after.filter((p) => p.leaderId === id || p.isrNodes.includes(id)), `partitions still led by or in sync on the stopped broker ${id}`).toEqual([]);
        await node.restart();
        const t2 = Date.now();
        await waitFor(`broker ${id} restarted: every ISR of ${TOPIC} full again`, healthy, 90_000);
        steps.push({ name: `broker ${id}`, startMs: t0, endMs: Date.now(), stopMs: t1 - t0, startupMs: t2 - t1 });
      }
      // Controllers: the followers first, the active one last (one election in the whole rolling restart).
      const active = (await quorum()).leaderId;
      expect([1, 2, 3]).toContain(active);
      for (const id of [...[1, 2, 3].filter((c) => c !== active), active]) {
        const node = controllers[id - 1]!;
        const t0 = Date.now();
        await stopCleanly(node, `controller ${id}`);
        const t1 = Date.now();
        if (id === active) await waitFor(`a new active controller after stopping controller ${id}`, async () => {
          const q = await quorum();
          return q.leaderId > 0 && q.leaderId !== id;
        });
        await node.restart();
        const t2 = Date.now();
        // Caught up: it fetched from the active controller since it started and reached the high watermark.
        await waitFor(`controller ${id} restarted and caught up with the metadata log`, async () => {
          const q = await quorum();
          const v = q.voters.find((r) => r.replicaId === id);
          return q.leaderId > 0 && v !== undefined && v.lastFetchTimestamp >= t2 && v.logEndOffset >= q.highWatermark;
        });
        await waitFor(`controller ${id} restarted: every ISR of ${TOPIC} full`, healthy, 90_000);
        steps.push({ name: `controller ${id}${id === active ? ' (active)' : ''}`, startMs: t0, endMs: Date.now(), stopMs: t1 - t0, startupMs: t2 - t1 });
      }
      restartEndMs = Date.now();
      // Some writes after the last step, so a gap ending it is measured too.
      await sleep(2000);
    } finally {
      producersStopMs = Date.now();
      writeFileSync(stopFile, '');
      await Promise.all(producers.map((p) => Promise.race([p.exited, sleep(150_000)])));
      producers.forEach((p) => p.kill());
    }

    // Acknowledgement times per partition (when each delivery line arrived), in order.
    const ackTimes = Array.from({ length: PARTITIONS }, () => [] as number[]);
    for (const p of producers) for (const op of p.ops) if (op.outcome === 'ok') ackTimes[op.partition]!.push(op.timeMs);
    ackTimes.forEach((ts) => ts.sort((a, b) => a - b));
    /**
     * The longest gap between consecutive acknowledgements of `partition` that ends in (fromMs, toMs], or with `inside`
     * lies wholly in [fromMs, toMs]. A gap counts where it ends: a failover gap may begin with the last acknowledgement
     * just before the SIGTERM, and it ends once the new leader answers, before the next step.
     */
    const longestGap = (partition: number, fromMs: number, toMs: number, inside = false): { gapMs: number; atMs: number } => {
      const ts = ackTimes[partition]!;
      let best = { gapMs: 0, atMs: fromMs };
      for (let i = 1; i < ts.length; i++) {
        if (ts[i]! <= fromMs || ts[i]! > toMs || (inside && ts[i - 1]! < fromMs)) continue;
        if (ts[i]! - ts[i - 1]! > best.gapMs) best = { gapMs: ts[i]! - ts[i - 1]!, atMs: ts[i - 1]! };
      }
      return best;
    };
    const quietMax = Math.max(...ackTimes.map((_, p) => longestGap(p, quietStartMs, restartStartMs, true).gapMs));
    const perPartition = ackTimes.map((ts, p) => ({ partition: p, acks: ts.length, ...longestGap(p, restartStartMs, producersStopMs) }));
    const lines = [`rolling restart: ${steps.length} steps in ${restartEndMs - restartStartMs} ms; longest gap between acknowledgements with nothing restarting: ${quietMax} ms`];
    for (const [i, s] of steps.entries()) {
      const gaps = ackTimes.map((_, p) => ({ p, ...longestGap(p, s.startMs, steps[i + 1]?.startMs ?? producersStopMs) })).sort((a, b) => b.gapMs - a.gapMs);
      // Where a gap begins (ms after the SIGTERM) tells a failover (near the stop) from a stall while a node starts.
      const at = (g: { gapMs: number; atMs: number; p: number }): string => `${g.gapMs} ms (${TOPIC}-${g.p} from +${g.atMs - s.startMs} ms)`;
      lines.push(`  ${s.name}: stopped after ${s.stopMs} ms, started ${s.startupMs} ms later, healthy at +${s.endMs - s.startMs} ms; longest gaps ${gaps.slice(0, 4).map(at).join(', ')}`);
    }
    lines.push(`  per partition over the whole restart (longest gap / acknowledgements): ${perPartition.map((g) => `${g.partition}: ${g.gapMs} ms / ${g.acks}`).join(', ')}`);
    process.stdout.write(`${lines.join('\n')}\n`);

    for (const p of producers) {
      expect(p.sent, `producer ${p.name} finished cleanly (stderr: ${p.stderr.slice(-2000)})`).not.toBeNull();
      expect(p.malformedLines, `producer ${p.name}: malformed delivery lines`).toBe(0);
    }
    const failed = producers.flatMap((p) => p.ops.filter((op) => op.outcome !== 'ok').map((op) => op.value));
    const epochBumps = producers.reduce((n, p) => n + (p.epochBumps ?? 0), 0);

    // Read everything back and check the whole history.
    await waitFor('every ISR full before the read-back', healthy, 90_000);
    const read = await readBack({ bootstrap, topic: TOPIC, partitions: PARTITIONS });
    const report = checkHistory(collectHistory({ topic: TOPIC, producers, read, extra: warmups }), { drained: true, unavailabilityThresholdMs: GAP_BOUND_MS });
    const c = report.counts;
    process.stdout.write(
      `rolling restart: acknowledged ${c.sendsOk}, delivery errors ${failed.length}, read back ${read.records}, lost ${c.lostWrites}, duplicated ${c.duplicates}, ` +
        `at another offset than acknowledged ${c.inconsistentOffsets}, unseen ${c.unseenWrites}, unexpected ${c.unexpectedValues}; producer epoch bumps ${epochBumps}\n`,
    );
    if (!report.valid || epochBumps > 0 || failed.length > 0) {
      process.stdout.write(`checker examples: ${JSON.stringify({ lost: report.lostWrites, duplicates: report.duplicates, inconsistent: report.inconsistentOffsets }).slice(0, 4000)}\n`);
      for (const p of producers) process.stdout.write(`producer ${p.name} idempotence log (last 40 lines):\n${p.stderr.split('\n').filter((l) => /epoch|bump|PID|drain|sequence|fatal/i.test(l)).slice(-40).join('\n')}\n`);
    }
    expect(read.short, 'partitions read to their high watermark').toEqual([]);
    expect(c.sendsOk).toBeGreaterThan(((restartEndMs - restartStartMs) / 1000) * RATE_PER_S);
    expect(failed, 'records a producer gave up on (delivery errors)').toEqual([]);
    expect(c.lostWrites).toBe(0);
    expect(c.unseenWrites).toBe(0);
    expect(c.duplicates).toBe(0);
    expect(c.inconsistentOffsets).toBe(0);
    expect(report.valid).toBe(true);
    // A librdkafka epoch bump re-sends possibly persisted records under a new epoch (stored twice): never acceptable.
    expect(epochBumps, 'librdkafka producer-epoch bumps').toBe(0);
    for (const g of perPartition) {
      expect(g.acks, `${TOPIC}-${g.partition} acknowledged writes`).toBeGreaterThan(0);
      expect(g.gapMs, `${TOPIC}-${g.partition}: longest gap between acknowledgements (from ${new Date(g.atMs).toISOString()})`).toBeLessThan(GAP_BOUND_MS);
    }
  });
});
