// Leader failover without loss: 3 combined nodes, a topic with 6 partitions, replication factor 3 and
// min.insync.replicas=2; three idempotent acks=all producers (librdkafka) write unique values the whole time while,
// round after round, the leader of a partition is killed (-9, then restarted) or paused (SIGSTOP past the session
// timeout, then SIGCONT). Afterwards every acknowledged value is read back exactly once, in each producer's order per
// partition, offsets are dense, and the three replicas' logs are byte-identical below the high watermark.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KafkaClient, KafkaConnection, OffsetSpec } from '@tributary/client';
import { silentLogger } from '@tributary/common';
import { ApiKey } from '@tributary/protocol';
import { NodeFileSystem, PartitionLog, defaultLogConfig } from '@tributary/storage';
import { runOk } from '../support/kcat.ts';
import { startCombinedNodes, TributaryNode } from '../support/node.ts';
import { Background, sleep } from '../support/process.ts';
import { python, pythonDir } from '../support/python.ts';
import { waitFor as waitUntil } from '../support/wait.ts';

const ROUNDS = Number(process.env.TRIB_REPLICATION_ROUNDS ?? 20);
const PARTITIONS = 6;
const TOPIC = 'ledger';
const SESSION_TIMEOUT_MS = 3000;
const nodes: TributaryNode[] = [];
let bootstrap = '';
let client: KafkaClient;
let workDir = '';

/** Longer than the shared default: a failover or restart here can take most of a minute. */
const waitFor = <T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 60_000): Promise<T> => waitUntil(what, probe, timeoutMs);

/** The partitions of TOPIC as one live broker sees them (a fresh connection: no client cache). */
async function partitions(): Promise<{ partitionIndex: number; leaderId: number; isrNodes: number[]; replicaNodes: number[] }[]> {
  for (const n of nodes) {
    if (!n.running || n.paused) continue;
    try {
      const conn = await KafkaConnection.connect({ host: n.host, port: n.port, clientId: 'replication-e2e' });
      try {
        const md: any = await conn.request(ApiKey.Metadata, 12, { topics: [{ name: TOPIC, topicId: 'AAAAAAAAAAAAAAAAAAAAAA' }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
        const t = md.topics[0];
        if (t.errorCode === 0 || t.partitions.length === PARTITIONS) return t.partitions;
      } finally {
        await conn.close();
      }
    } catch {
      // try the next node
    }
  }
  throw new Error('no node answered Metadata');
}

const healthy = async (): Promise<boolean> => {
  const ps = await partitions();
  return ps.length === PARTITIONS && ps.every((p) => p.leaderId > 0 && p.isrNodes.length === 3);
};

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'trib-replication-'));
  const started = await startCombinedNodes(3, {
    'broker.session.timeout.ms': String(SESSION_TIMEOUT_MS),
    'broker.heartbeat.interval.ms': '500',
    'replica.lag.time.max.ms': '3000',
    'offsets.topic.replication.factor': '3',
    'offsets.topic.num.partitions': '3',
  });
  nodes.push(...started);
  bootstrap = nodes.map((n) => n.bootstrap).join(',');
  client = new KafkaClient({ bootstrapServers: bootstrap, requestTimeoutMs: 15_000 });
  await client.connect();
  await client.createTopics([{ name: TOPIC, numPartitions: PARTITIONS, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } }]);
  await waitFor('a healthy topic', healthy);
}, 180_000);

afterAll(async () => {
  await client?.close();
  await Promise.all(nodes.map((n) => n.dispose()));
  if (workDir !== '') rmSync(workDir, { recursive: true, force: true });
});

interface Delivery {
  v?: string;
  p?: number;
  o?: number;
  err?: string;
  done?: boolean;
  epochBumps?: number;
}

describe('leader failover without loss (3 nodes, RF 3, min.insync.replicas 2, acks=all, idempotent producers)', () => {
  it(`keeps every acknowledged record exactly once through ${ROUNDS} leader kills and pauses`, { timeout: 900_000 }, async (context) => {
    context.onTestFailed(() => nodes.forEach((n) => n.printLogs('replication test failed', 150)));
    const stopFile = join(workDir, 'stop');
    const producers = ['alpha', 'beta', 'gamma'].map(
      (name) => new Background(python, [join(pythonDir, 'idempotent_producer.py'), bootstrap, TOPIC, name, stopFile, '150'], { ...process.env, PYTHONUNBUFFERED: '1' }),
    );
    const failovers: number[] = [];
    try {
      await sleep(2000);
      for (let round = 0; round < ROUNDS; round++) {
        const target = round % PARTITIONS;
        const before = (await partitions()).find((p) => p.partitionIndex === target)!;
        const victim = nodes[before.leaderId - 1]!;
        const pause = process.env.TRIB_REPLICATION_PAUSE_ONLY ? true : round % 2 === 1;
        const t0 = Date.now();
        if (pause) victim.pause();
        else await victim.kill('SIGKILL');
        // Another replica leads once the controller fenced the silent broker.
        await waitFor(`round ${round}: a new leader for ${TOPIC}-${target}`, async () => {
          const p = (await partitions()).find((x) => x.partitionIndex === target);
          return p !== undefined && p.leaderId > 0 && p.leaderId !== before.leaderId;
        });
        failovers.push(Date.now() - t0);
        if (pause) {
          await sleep(500);
          victim.resume();
        } else {
          await victim.restart();
        }
        // Back to three in-sync replicas before the next round: every round starts from a healthy cluster.
        await waitFor(`round ${round}: every ISR full again`, healthy, 90_000);
        process.stdout.write(`round ${round}: ${pause ? 'paused' : 'killed'} node ${before.leaderId} (leader of ${TOPIC}-${target}); new leader after ${failovers.at(-1)} ms\n`);
      }
    } finally {
      writeFileSync(stopFile, '');
      await Promise.all(producers.map((p) => Promise.race([p.exited, sleep(180_000)])));
      producers.forEach((p) => p.kill());
    }

    const acked = new Map<string, { p: number; o: number }>();
    let failed = 0;
    let epochBumps = 0;
    for (const [i, prod] of producers.entries()) {
      const lines = prod.stdout.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Delivery);
      expect(lines.at(-1)?.done, `producer ${i} finished (stderr: ${prod.stderr.slice(-2000)})`).toBe(true);
      epochBumps += lines.at(-1)?.epochBumps ?? 0;
      for (const d of lines) {
        if (d.v === undefined) continue;
        if (d.err !== undefined) failed++;
        else acked.set(d.v, { p: d.p!, o: d.o! });
      }
    }

    // Read everything back from the leaders, through a real client.
    await waitFor('every ISR full after the rounds', healthy, 90_000);
    const consumed = (await runOk('kcat', ['-C', '-b', bootstrap, '-t', TOPIC, '-o', 'beginning', '-e', '-q', '-f', '%p %o %s\n'], { timeoutMs: 120_000 })).stdout.toString('utf8');
    const seen = new Map<string, number>();
    const byPartition = new Map<number, { o: number; v: string }[]>();
    for (const line of consumed.split('\n')) {
      if (line === '') continue;
      const [p, o, v] = line.split(' ') as [string, string, string];
      seen.set(v, (seen.get(v) ?? 0) + 1);
      const list = byPartition.get(Number(p)) ?? [];
      list.push({ o: Number(o), v });
      byPartition.set(Number(p), list);
    }
    const lost = [...acked.keys()].filter((v) => !seen.has(v));
    const duplicated = [...seen.entries()].filter(([, n]) => n > 1).map(([v]) => v);
    // librdkafka sometimes reports a record as delivered without its offset (persisted as learned from a later
    // answer); such acknowledgements count for loss and duplication but have no offset to compare.
    const misplaced = [...acked.entries()].filter(([v, a]) => typeof a.o === 'number' && a.o >= 0 && !byPartition.get(a.p)?.some((r) => r.o === a.o && r.v === v));
    const withoutOffset = [...acked.values()].filter((a) => typeof a.o !== 'number' || a.o < 0).length;
    process.stdout.write(
      `replication: ${ROUNDS} rounds, failover p50 ${failovers.sort((a, b) => a - b)[Math.floor(failovers.length / 2)]} ms, max ${failovers.at(-1)} ms; ` +
        `acknowledged ${acked.size}, failed (not acknowledged) ${failed}, read back ${[...seen.values()].reduce((a, b) => a + b, 0)}, lost ${lost.length}, duplicated ${duplicated.length}, at another offset than acknowledged ${misplaced.length} (acknowledged without an offset: ${withoutOffset}); producer epoch bumps ${epochBumps}\n`,
    );
    if (duplicated.length > 0 || misplaced.length > 0 || lost.length > 0 || epochBumps > 0) {
      for (const [v, a] of misplaced.slice(0, 10)) process.stdout.write(`misplaced ${v}: acknowledged at ${JSON.stringify(a)}, found at ${JSON.stringify([...byPartition].flatMap(([p, rs]) => rs.filter((r) => r.v === v).map((r) => ({ p, o: r.o }))))}, there: ${JSON.stringify(byPartition.get(a.p)?.find((r) => r.o === a.o))}\n`);
      for (const v of duplicated) process.stdout.write(`duplicate ${v}: acknowledged at ${JSON.stringify(acked.get(v))}, found at ${JSON.stringify([...byPartition].flatMap(([p, rs]) => rs.filter((r) => r.v === v).map((r) => ({ p, o: r.o }))))}\n`);
      for (const prod of producers) {
        const idempotence = prod.stderr.split('\n').filter((l) => /epoch|bump|PID|drain|sequence|fatal/i.test(l)).slice(-40);
        process.stdout.write(`producer idempotence log (last 40 lines):\n${idempotence.join('\n')}\nproducer stderr tail: ${prod.stderr.slice(-2000)}\n`);
      }
    }
    expect(acked.size).toBeGreaterThan(ROUNDS * 100);
    expect(lost).toEqual([]);
    // A librdkafka epoch bump re-sends possibly persisted messages under the new epoch (stored twice when the broker
    // had them): the broker must never give it cause. It once did, answering OUT_OF_ORDER_SEQUENCE_NUMBER to a batch
    // that overtook an earlier one refused by a leader not yet serving; one value in ~50,000 was stored twice.
    expect(epochBumps, 'librdkafka producer-epoch bumps (see the idempotence log above)').toBe(0);
    expect(duplicated).toEqual([]);
    expect(misplaced).toEqual([]);
    for (const [p, records] of byPartition) {
      // Dense offsets from 0, and each producer's values in its own order.
      records.sort((a, b) => a.o - b.o);
      records.forEach((r, i) => expect(r.o, `${TOPIC}-${p} offset ${i}`).toBe(i));
      const last = new Map<string, number>();
      const firstCopies = new Set<string>();
      for (const r of records) {
        // A second copy is reported as a duplicate above, not again as a reordering.
        if (firstCopies.has(r.v)) continue;
        firstCopies.add(r.v);
        const [name, seq] = r.v.split('-') as [string, string];
        expect(Number(seq), `${TOPIC}-${p}: ${r.v} after ${name}-${last.get(name)}`).toBeGreaterThan(last.get(name) ?? -1);
        last.set(name, Number(seq));
      }
    }

    // The replicas agree byte for byte below the high watermark (read from the logs after a clean stop).
    const highWatermarks = await Promise.all(Array.from({ length: PARTITIONS }, (_, p) => client.listOffsets(TOPIC, p, OffsetSpec.Latest)));
    await client.close();
    await Promise.all(nodes.map((n) => n.stop()));
    const fs = new NodeFileSystem();
    for (let p = 0; p < PARTITIONS; p++) {
      const hw = highWatermarks[p]!.offset;
      const copies: Buffer[] = [];
      for (const n of nodes) {
        const dir = join(n.dataDir, `${TOPIC}-${p}`);
        expect(existsSync(dir), `${dir} exists`).toBe(true);
        const log = await PartitionLog.open({ fs, dir, config: defaultLogConfig, clock: { nowMs: () => Date.now(), monotonicMs: () => performance.now() }, logger: silentLogger });
        const parts: Buffer[] = [];
        for (let offset = log.logStartOffset, guard = 0; offset < hw && guard < 100_000; guard++) {
          const read = await log.read(offset, { maxBytes: 1 << 20, maxOffset: hw, minOneMessage: true });
          if (read.records.length === 0) break;
          parts.push(Buffer.from(read.records));
          offset = read.nextOffset;
        }
        await log.close();
        copies.push(Buffer.concat(parts));
      }
      expect(copies[0]!.length, `${TOPIC}-${p} has data below its high watermark ${hw}`).toBeGreaterThan(0);
      expect(copies[1]!.equals(copies[0]!), `${TOPIC}-${p}: node 2's log equals node 1's below ${hw}`).toBe(true);
      expect(copies[2]!.equals(copies[0]!), `${TOPIC}-${p}: node 3's log equals node 1's below ${hw}`).toBe(true);
    }
  });
});
