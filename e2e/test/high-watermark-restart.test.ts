// No stale offsets after every replica of a partition restarts: 3 combined nodes (processes), a topic with replication
// factor 3 and min.insync.replicas 2, N records produced with acks=all. Every node's high-watermark checkpoint
// (replication-offset-checkpoint in its data directory) shows N, and still does after all three stop with SIGTERM (the
// clean-shutdown write). All three start again; ListOffsets(latest) on the partition leader is polled from the first
// moment a leader is known until it answers: every answer is a retriable error or exactly N, never lower (a consumer
// with auto.offset.reset=latest would otherwise start below records already committed), and the high watermark the
// first successful Fetch reports is N.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KafkaClient, KafkaConnection } from '@tributary/client';
import { ApiKey, ErrorCode } from '@tributary/protocol';
import { startCombinedNodes, TributaryNode } from '../support/node.ts';
import { sleep } from '../support/process.ts';
import { waitFor as waitUntil } from '../support/wait.ts';

const TOPIC = 'hw-restart';
const N = 600;
const BATCH = 50;
const SESSION_TIMEOUT_MS = 3000;
/** Short, so the periodic write shows each node's high watermark soon after the produce. */
const CHECKPOINT_INTERVAL_MS = 500;
/** How long a node has to stop on SIGTERM (its controlled shutdown gives up after 10 s, then it stops anyway). */
const STOP_GRACE_MS = 30_000;
/** After the first successful ListOffsets, a few more answers must also be exactly N. */
const ANSWERS_AFTER_SUCCESS = 20;
const RETRIABLE: ReadonlySet<number> = new Set([
  ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  ErrorCode.LEADER_NOT_AVAILABLE,
  ErrorCode.NOT_LEADER_OR_FOLLOWER,
  ErrorCode.REQUEST_TIMED_OUT,
  ErrorCode.FENCED_LEADER_EPOCH,
  ErrorCode.UNKNOWN_LEADER_EPOCH,
  ErrorCode.OFFSET_NOT_AVAILABLE,
]);

const nodes: TributaryNode[] = [];
let bootstrap = '';

const waitFor = <T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 60_000): Promise<T> => waitUntil(what, probe, timeoutMs);

async function withConnection<T>(node: TributaryNode, fn: (conn: KafkaConnection) => Promise<T>): Promise<T> {
  const conn = await KafkaConnection.connect({ host: node.host, port: node.port, clientId: 'hw-restart-e2e' });
  try {
    return await fn(conn);
  } finally {
    await conn.close();
  }
}

/** The partition as the first node that answers Metadata sees it (fresh connections: no client cache). */
async function partition(): Promise<{ leaderId: number; isrNodes: number[] } | null> {
  for (const n of nodes) {
    if (!n.running) continue;
    try {
      const md: any = await withConnection(n, (c) => c.request(ApiKey.Metadata, 12, { topics: [{ name: TOPIC, topicId: 'AAAAAAAAAAAAAAAAAAAAAA' }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false }));
      const t = md.topics[0];
      if (t?.errorCode === 0 && t.partitions.length === 1) return t.partitions[0];
    } catch {
      // the next node
    }
  }
  return null;
}

/** TOPIC-0's high watermark in a node's checkpoint file, or null when the file or the line is not there. */
function checkpointed(node: TributaryNode): number | null {
  let text: string;
  try {
    text = readFileSync(join(node.dataDir, 'replication-offset-checkpoint'), 'utf8');
  } catch {
    return null;
  }
  const m = new RegExp(`^${TOPIC} 0 (\\d+) `, 'm').exec(text);
  return m === null ? null : Number(m[1]);
}

async function listLatest(conn: KafkaConnection): Promise<{ errorCode: number; offset: number }> {
  const res: any = await conn.request(ApiKey.ListOffsets, 7, {
    replicaId: -1,
    isolationLevel: 0,
    topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1 }] }],
  });
  const p = res.topics[0].partitions[0];
  return { errorCode: p.errorCode, offset: p.offset };
}

async function fetchHighWatermark(conn: KafkaConnection): Promise<{ errorCode: number; highWatermark: number }> {
  const res: any = await conn.request(ApiKey.Fetch, 12, {
    replicaId: -1,
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 1024,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [{ topic: TOPIC, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 1024 }] }],
    forgottenTopicsData: [],
    rackId: '',
  });
  const p = res.responses[0].partitions[0];
  return { errorCode: p.errorCode, highWatermark: p.highWatermark };
}

beforeAll(async () => {
  const started = await startCombinedNodes(3, {
    'broker.session.timeout.ms': String(SESSION_TIMEOUT_MS),
    'broker.heartbeat.interval.ms': '500',
    'replica.lag.time.max.ms': '3000',
    'replica.high.watermark.checkpoint.interval.ms': String(CHECKPOINT_INTERVAL_MS),
    'offsets.topic.replication.factor': '3',
    'offsets.topic.num.partitions': '1',
  });
  nodes.push(...started);
  bootstrap = nodes.map((n) => n.bootstrap).join(',');
}, 180_000);

afterAll(async () => {
  await Promise.all(nodes.map((n) => n.dispose()));
});

describe('high watermark after every replica restarts (3 nodes, RF 3, min.insync.replicas 2, acks=all)', () => {
  it('ListOffsets(latest) answers a retriable error or exactly N, never less; the first Fetch reports N', { timeout: 600_000 }, async (context) => {
    context.onTestFailed(() => nodes.forEach((n) => n.printLogs('high-watermark restart test failed', 150)));
    const client = new KafkaClient({ bootstrapServers: bootstrap, clientId: 'hw-restart-e2e', requestTimeoutMs: 15_000 });
    try {
      await client.connect();
      await client.createTopics([{ name: TOPIC, numPartitions: 1, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } }]);
      await waitFor('TOPIC-0 led with three in-sync replicas', async () => {
        const p = await partition();
        return p !== null && p.leaderId > 0 && p.isrNodes.length === 3;
      });
      for (let i = 0; i < N; i += BATCH) {
        const records = Array.from({ length: BATCH }, (_, j) => ({ key: `k${i + j}`, value: `v${i + j}` }));
        expect(await client.produce(TOPIC, 0, records, { acks: -1 })).toBe(i);
      }
    } finally {
      await client.close();
    }
    // Every replica learnt the high watermark (followers from their next fetch) and checkpointed it.
    await waitFor(`every node's checkpoint at ${N}`, async () => nodes.every((n) => checkpointed(n) === N));

    await Promise.all(nodes.map((n) => n.stop(STOP_GRACE_MS)));
    for (const [i, n] of nodes.entries()) {
      expect(n.logs.findLast((l) => l.startsWith('### exited ')), `node ${i + 1} exit`).toBe('### exited code=0 signal=null');
      expect(checkpointed(n), `node ${i + 1}: checkpoint after the clean shutdown`).toBe(N);
    }

    await Promise.all(nodes.map((n) => n.restart()));
    const answers: { errorCode: number; offset: number }[] = [];
    let firstFetch: { errorCode: number; highWatermark: number } | null = null;
    let successes = 0;
    const deadline = Date.now() + 120_000;
    while (successes < ANSWERS_AFTER_SUCCESS || firstFetch === null) {
      if (Date.now() > deadline) throw new Error(`no steady ListOffsets answer within 120 s: ${JSON.stringify(answers.slice(-10))}, first fetch ${JSON.stringify(firstFetch)}`);
      const p = await partition();
      const leader = p !== null && p.leaderId > 0 ? nodes[p.leaderId - 1] : undefined;
      if (leader === undefined) {
        await sleep(20);
        continue;
      }
      try {
        await withConnection(leader, async (conn) => {
          const a = await listLatest(conn);
          answers.push(a);
          if (a.errorCode === ErrorCode.NONE) successes++;
          if (firstFetch === null) {
            const f = await fetchHighWatermark(conn);
            if (f.errorCode === ErrorCode.NONE) firstFetch = f;
          }
        });
      } catch {
        // The node is not accepting connections yet, or went away: not an answer.
        await sleep(20);
      }
    }
    const byCode = new Map<number, number>();
    for (const a of answers) byCode.set(a.errorCode, (byCode.get(a.errorCode) ?? 0) + 1);
    process.stdout.write(`ListOffsets(latest) answers after the restart by error code: ${JSON.stringify(Object.fromEntries(byCode))}; first fetch ${JSON.stringify(firstFetch)}\n`);
    for (const a of answers) {
      if (a.errorCode === ErrorCode.NONE) expect(a.offset, 'a successful ListOffsets(latest) answer').toBe(N);
      else expect(RETRIABLE.has(a.errorCode), `error ${a.errorCode} is retriable`).toBe(true);
    }
    expect(firstFetch).toEqual({ errorCode: ErrorCode.NONE, highWatermark: N });
  });
});
