/**
 * End to end: a real Tributary node in this process (startNode, temp log dir, ephemeral port) and `trib`
 * commands run against it through the same entry point the bin uses.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@tributary/common';
import { startNode, type RunningNode } from '@tributary/server';
import { trib as tribWith } from './helpers.ts';

let node: RunningNode;
let dir: string;
let bootstrap: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'trib-cli-'));
  node = await startNode({ overrides: { listeners: 'PLAINTEXT://127.0.0.1:0', 'log.dirs': dir }, logger: silentLogger });
  bootstrap = `${node.host}:${node.port}`;
}, 60_000);

afterAll(async () => {
  await node?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function trib(args: string[], stdin?: string): ReturnType<typeof tribWith> {
  return tribWith(['-b', bootstrap, ...args], stdin === undefined ? {} : { stdin });
}

async function ok(args: string[], stdin?: string): Promise<string> {
  const r = await trib(args, stdin);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return r.stdout;
}

/** Runs the real bin as a child process (async: the node under test lives in this process's event loop). */
function tribProcess(args: string[], stdin: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const bin = fileURLToPath(new URL('../bin/trib.js', import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, TRIB_BOOTSTRAP_SERVER: bootstrap } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

describe('trib against a real node', () => {
  it('the bin produces from a pipe and consumes back, exiting 0', async () => {
    await ok(['topic', 'create', 'piped']);
    const produced = await tribProcess(['produce', 'piped', '--compression', 'gzip'], 'one\ntwo\nthree\n');
    expect(produced).toEqual({ code: 0, stdout: 'Produced 3 records in 1 batches to piped-0 at offsets 0..2.\n', stderr: '' });
    const consumed = await tribProcess(['consume', 'piped', '--from-beginning', '--max-messages', '3'], '');
    expect(consumed).toEqual({ code: 0, stdout: 'one\ntwo\nthree\n', stderr: '' });
    const failed = await tribProcess(['topic', 'create', 'piped'], '');
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/^trib: TOPIC_ALREADY_EXISTS/);
  }, 30_000);

  it('cluster info shows the cluster id, controller and this broker', async () => {
    const info = JSON.parse(await ok(['cluster', 'info', '--json'])) as {
      clusterId: string;
      controllerId: number;
      brokers: { nodeId: number; host: string; port: number }[];
    };
    expect(info.clusterId).toBe(node.clusterId);
    expect(info.controllerId).toBe(node.nodeId);
    expect(info.brokers).toEqual([expect.objectContaining({ nodeId: node.nodeId, port: node.port })]);
    const human = await ok(['cluster', 'info']);
    expect(human).toContain(`Cluster ID: ${node.clusterId}`);
    expect(human).toMatch(/ID\s+HOST\s+PORT\s+RACK/);
  });

  it('creates, lists, describes, alters and deletes a topic', async () => {
    expect(await ok(['topic', 'create', 'orders', '--partitions', '3', '--replication-factor', '1', '--config', 'retention.ms=3600000'])).toBe(
      'Created topic orders.\n',
    );

    const listed = JSON.parse(await ok(['topic', 'list', '--json'])) as { name: string; partitions: number; replicationFactor: number }[];
    expect(listed).toContainEqual(expect.objectContaining({ name: 'orders', partitions: 3, replicationFactor: 1 }));
    expect(await ok(['topic', 'list'])).toMatch(/^orders\s+3\s+1$/m);

    const described = JSON.parse(await ok(['topic', 'describe', 'orders', '--json'])) as {
      name: string;
      partitions: { partition: number; leader: number; replicas: number[]; isr: number[] }[];
      configs: Record<string, string>;
    };
    expect(described.partitions).toEqual(
      [0, 1, 2].map((partition) => ({ partition, leader: node.nodeId, replicas: [node.nodeId], isr: [node.nodeId] })),
    );
    expect(described.configs).toEqual({ 'retention.ms': '3600000' });
    const human = await ok(['topic', 'describe', 'orders']);
    expect(human).toContain('Topic: orders  Partitions: 3  ReplicationFactor: 1  Configs: retention.ms=3600000');
    expect(human).toMatch(/PARTITION\s+LEADER\s+REPLICAS\s+ISR/);

    await ok(['topic', 'alter-config', 'orders', '--set', 'cleanup.policy=compact', '--set', 'segment.bytes=1048576', '--delete', 'retention.ms']);
    const altered = JSON.parse(await ok(['topic', 'describe', 'orders', '--json'])) as { configs: Record<string, string> };
    expect(altered.configs).toEqual({ 'cleanup.policy': 'compact', 'segment.bytes': '1048576' });

    expect(await ok(['topic', 'delete', 'orders'])).toBe('Deleted topic orders.\n');
    const after = JSON.parse(await ok(['topic', 'list', '--json'])) as { name: string }[];
    expect(after.map((t) => t.name)).not.toContain('orders');
  });

  it('reports Kafka errors by name with exit code 1', async () => {
    await ok(['topic', 'create', 'dup']);
    const again = await trib(['topic', 'create', 'dup']);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^trib: TOPIC_ALREADY_EXISTS\b.*\n$/);

    const missing = await trib(['topic', 'delete', 'no-such-topic']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^trib: UNKNOWN_TOPIC_OR_PARTITION\b.*\n$/);

    const described = await trib(['topic', 'describe', 'no-such-topic']);
    expect(described.code).toBe(1);
    expect(described.stderr).toMatch(/^trib: UNKNOWN_TOPIC_OR_PARTITION\b/);

    const badConfig = await trib(['topic', 'alter-config', 'dup', '--set', 'no.such.config=1']);
    expect(badConfig.code).toBe(1);
    expect(badConfig.stderr).toMatch(/^trib: [A-Z_]+\b.*\n$/);
  });

  it('produces lines and consumes them back identical', async () => {
    await ok(['topic', 'create', 'lines']);
    const lines = Array.from({ length: 250 }, (_, i) => `line ${i} ${'x'.repeat(i % 17)} ünïcödé`);
    const summary = JSON.parse(await ok(['produce', 'lines', '--batch-size', '100', '--json'], `${lines.join('\n')}\n`)) as {
      records: number;
      batches: number;
      firstOffset: number;
      lastOffset: number;
    };
    expect(summary).toMatchObject({ records: 250, batches: 3, firstOffset: 0, lastOffset: 249 });
    const out = await ok(['consume', 'lines', '--from-beginning', '--max-messages', '250']);
    expect(out).toBe(`${lines.join('\n')}\n`);

    const fromOffset = await ok(['consume', 'lines', '--offset', '248', '--print-offset', '--timeout-ms', '300']);
    expect(fromOffset).toBe(`248\t${lines[248]}\n249\t${lines[249]}\n`);

    // --latest (the default) sees only what arrives after it starts: nothing here.
    expect(await ok(['consume', 'lines', '--timeout-ms', '300'])).toBe('');
  });

  it.each(['none', 'gzip', 'snappy', 'lz4', 'zstd'])('round-trips keys, values and headers with %s compression', async (codec) => {
    const topic = `keyed-${codec}`;
    await ok(['topic', 'create', topic]);
    const input = Array.from({ length: 40 }, (_, i) => `key-${i % 5}|value ${i} with | inside`);
    await ok(['produce', topic, '--key-separator', '|', '--compression', codec, '--header', 'source=test', '--batch-size', '15'], `${input.join('\n')}\n`);
    const human = await ok(['consume', topic, '--from-beginning', '--max-messages', '40', '--print-key', '--key-separator', '|']);
    expect(human).toBe(`${input.join('\n')}\n`);
    const json = (await ok(['consume', topic, '--from-beginning', '--max-messages', '2', '--json']))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as unknown);
    expect(json).toEqual([
      expect.objectContaining({ partition: 0, offset: 0, key: 'key-0', value: 'value 0 with | inside', headers: { source: 'test' } }),
      expect.objectContaining({ partition: 0, offset: 1, key: 'key-1', value: 'value 1 with | inside', headers: { source: 'test' } }),
    ]);
  });

  it('produces to and consumes from every partition of a topic', async () => {
    await ok(['topic', 'create', 'spread', '--partitions', '2']);
    await ok(['produce', 'spread', '--partition', '0'], 'a0\na1\n');
    await ok(['produce', 'spread', '--partition', '1', '--acks', '1'], 'b0\n');
    const out = await ok(['consume', 'spread', '--from-beginning', '--max-messages', '3']);
    expect(out.trim().split('\n').sort()).toEqual(['a0', 'a1', 'b0']);
    expect(await ok(['consume', 'spread', '--partition', '1', '--from-beginning', '--max-messages', '1'])).toBe('b0\n');
  });

  it('rejects a line without the key separator', async () => {
    await ok(['topic', 'create', 'strict-keys']);
    const r = await trib(['produce', 'strict-keys', '--key-separator', ':'], 'k:v\nno separator\n');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^trib: line 2 has no key separator ":"/);
  });

  it('reports a partition that does not exist', async () => {
    await ok(['topic', 'create', 'one-partition']);
    const r = await trib(['produce', 'one-partition', '--partition', '5'], 'x\n');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^trib: UNKNOWN_TOPIC_OR_PARTITION: partition 5 of topic one-partition does not exist/);
  });
});

describe('partition health and leader elections against a real node', () => {
  it('topic describe filters: at-min-isr and under-min-isr read min.insync.replicas; a single healthy node has nothing under-replicated or unavailable', async () => {
    await ok(['topic', 'create', 'health-a', '--partitions', '2']);
    await ok(['topic', 'create', 'health-b', '--partitions', '1', '--config', 'min.insync.replicas=2']);
    expect(await ok(['topic', 'describe', '--under-replicated'])).toBe('No under-replicated partitions.\n');
    expect(await ok(['topic', 'describe', '--unavailable'])).toBe('No unavailable partitions.\n');
    const under = JSON.parse(await ok(['topic', 'describe', '--under-min-isr', '--json'])) as { name: string; minInsyncReplicas: number; partitions: { partition: number; isr: number[] }[] }[];
    expect(under).toEqual([expect.objectContaining({ name: 'health-b', minInsyncReplicas: 2, partitions: [{ partition: 0, leader: node.nodeId, replicas: [node.nodeId], isr: [node.nodeId] }] })]);
    const at = JSON.parse(await ok(['topic', 'describe', '--at-min-isr', '--json'])) as { name: string; partitions: unknown[] }[];
    expect(at.find((t) => t.name === 'health-a')?.partitions).toHaveLength(2);
    expect(at.find((t) => t.name === 'health-b')).toBeUndefined();
    const human = await ok(['topic', 'describe', 'health-b', '--under-min-isr']);
    expect(human.split('\n')[0]).toBe('Topic: health-b  Partitions: 1 (under-min-isr)  ReplicationFactor: 1  MinInsyncReplicas: 2  Configs: min.insync.replicas=2');
    expect(await ok(['topic', 'describe', 'health-a', '--under-min-isr'])).toBe('No under-min-isr partitions.\n');
  });

  it('elect-leaders on a single node: every replica already leads (ELECTION_NOT_NEEDED), unknown partitions fail with exit 1', async () => {
    await ok(['topic', 'create', 'elect-me', '--partitions', '2']);
    expect(await ok(['partition', 'elect-leaders', '--preferred', '--topic', 'elect-me'])).toBe('Valid replica already elected for partitions elect-me-0, elect-me-1\n');
    expect(await ok(['partition', 'elect-leaders', '--unclean', '--topic', 'elect-me', '--partition', '1'])).toBe('Valid replica already elected for partitions elect-me-1\n');
    expect(await ok(['partition', 'elect-leaders', '--preferred', '--all-topic-partitions'])).toBe('No partition needed a leader election (PREFERRED).\n');
    const json = JSON.parse(await ok(['partition', 'elect-leaders', '--preferred', '--topic', 'elect-me', '--partition', '0', '--json']));
    expect(json).toEqual({ electionType: 'preferred', results: [{ topic: 'elect-me', partition: 0, outcome: 'not-needed', error: null }] });

    const missing = await trib(['partition', 'elect-leaders', '--preferred', '--topic', 'elect-me', '--partition', '0', '--partition', '7']);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toMatch(/^Valid replica already elected for partitions elect-me-0\nError completing leader election \(PREFERRED\) for partition elect-me-7: UNKNOWN_TOPIC_OR_PARTITION/);
    expect(missing.stderr).toBe('trib: UNKNOWN_TOPIC_OR_PARTITION: 1 of 2 partitions could not be elected (preferred)\n');
    const noTopic = await trib(['partition', 'elect-leaders', '--preferred', '--topic', 'no-such-topic']);
    expect(noTopic.code).toBe(1);
    expect(noTopic.stderr).toMatch(/^trib: UNKNOWN_TOPIC_OR_PARTITION/);
  }, 30_000);
});
