/**
 * `trib partition reassign` against a real single node in this process: generate, execute, verify, cancel, and
 * the refusals (a broker the cluster does not have, a bad plan file). One node cannot move a replica anywhere,
 * so a reassignment here completes at once or is refused; the moving case is covered in @tributary/controller
 * and @tributary/metadata.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigSource, KafkaClient, ResourceType } from '@tributary/client';
import { silentLogger } from '@tributary/common';
import { startNode, type RunningNode } from '@tributary/server';
import { trib as tribWith } from './helpers.ts';

let node: RunningNode;
let dir: string;
let bootstrap: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'trib-reassign-'));
  node = await startNode({ overrides: { listeners: 'PLAINTEXT://127.0.0.1:0', 'log.dirs': join(dir, 'logs') }, logger: silentLogger });
  bootstrap = `${node.host}:${node.port}`;
}, 60_000);

afterAll(async () => {
  await node?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const trib = (args: string[]): ReturnType<typeof tribWith> => tribWith(['-b', bootstrap, ...args]);

function planFile(name: string, plan: unknown): string {
  const file = join(dir, name);
  writeFileSync(file, typeof plan === 'string' ? plan : JSON.stringify(plan));
  return file;
}

describe('trib partition reassign on one node', () => {
  it('generates a plan, executes it, verifies it complete, and finds nothing to cancel', async () => {
    expect((await trib(['topic', 'create', 'moves', '--partitions', '2', '--replication-factor', '1'])).code).toBe(0);
    const generated = await trib(['partition', 'reassign', '--generate', '--topics', 'moves', '--brokers', String(node.nodeId)]);
    expect(generated.stderr).toBe('');
    expect(generated.code).toBe(0);
    const lines = generated.stdout.trim().split('\n');
    expect(lines[0]).toBe('Current partition replica assignment');
    expect(lines[3]).toBe('Proposed partition reassignment configuration');
    const proposed = JSON.parse(lines[4]!);
    expect(proposed).toEqual({ version: 1, partitions: [0, 1].map((partition) => ({ topic: 'moves', partition, replicas: [node.nodeId] })) });
    const plan = planFile('plan.json', lines[4]!);

    const executed = await trib(['partition', 'reassign', '--execute', '--plan', plan]);
    expect(executed).toMatchObject({ code: 0, stderr: '' });
    expect(executed.stdout).toContain(JSON.stringify(proposed)); // the current assignment, for a rollback
    expect(executed.stdout).toContain('Successfully started partition reassignments for moves-0, moves-1');

    const verified = await trib(['partition', 'reassign', '--verify', '--plan', plan, '--wait', '--interval-ms', '50', '--timeout-ms', '5000']);
    expect(verified).toMatchObject({ code: 0, stderr: '' });
    expect(verified.stdout.trim().split('\n')).toEqual([
      `Reassignment of partition moves-0 is complete: replicas [${node.nodeId}]`,
      `Reassignment of partition moves-1 is complete: replicas [${node.nodeId}]`,
      '[##############################] 2/2 partitions complete, 2/2 target replicas in sync',
    ]);
    const json = await trib(['--json', 'partition', 'reassign', '--verify', '--plan', plan]);
    expect(JSON.parse(json.stdout)).toMatchObject({ complete: 2, inProgress: 0, failed: 0, partitions: [{ state: 'complete' }, { state: 'complete' }] });

    const cancelled = await trib(['partition', 'reassign', '--cancel', '--plan', plan]);
    expect(cancelled).toEqual({ code: 0, stderr: '', stdout: 'No reassignment of moves-0 in progress\nNo reassignment of moves-1 in progress\n' });
  });

  it('--execute --throttle sets both rates on the plan\'s brokers first; --verify removes them once complete', async () => {
    expect((await trib(['topic', 'create', 'throttled', '--partitions', '1', '--replication-factor', '1'])).code).toBe(0);
    const plan = planFile('throttled.json', { version: 1, partitions: [{ topic: 'throttled', partition: 0, replicas: [node.nodeId] }] });
    const client = new KafkaClient({ bootstrapServers: bootstrap });
    const rates = async () => {
      const [described] = await client.describeConfigs([{ type: ResourceType.Broker, name: String(node.nodeId), keys: ['leader.replication.throttled.rate', 'follower.replication.throttled.rate'] }]);
      return described!.configs.map((c) => ({ name: c.name, value: c.value, source: c.source }));
    };
    try {
      const executed = await trib(['partition', 'reassign', '--execute', '--plan', plan, '--throttle', '1048576']);
      expect(executed).toMatchObject({ code: 0, stderr: '' });
      expect(executed.stdout).toContain(`Replication throttle set to 1048576 bytes/s (leader.replication.throttled.rate, follower.replication.throttled.rate) on brokers ${node.nodeId}\n`);
      expect(await rates()).toEqual([
        { name: 'leader.replication.throttled.rate', value: '1048576', source: ConfigSource.DynamicBroker },
        { name: 'follower.replication.throttled.rate', value: '1048576', source: ConfigSource.DynamicBroker },
      ]);
      const verified = await trib(['partition', 'reassign', '--verify', '--plan', plan]);
      expect(verified).toMatchObject({ code: 0, stderr: '' });
      expect(verified.stdout).toContain(`Removed the replication throttle (leader.replication.throttled.rate, follower.replication.throttled.rate) from brokers ${node.nodeId}\n`);
      expect((await rates()).map((r) => r.source)).toEqual([ConfigSource.Default, ConfigSource.Default]);
      // Nothing left to remove: nothing said about it.
      const again = await trib(['--json', 'partition', 'reassign', '--verify', '--plan', plan]);
      expect(JSON.parse(again.stdout)).toMatchObject({ complete: 1, throttle: { removedFrom: [], keptFor: [] } });
    } finally {
      await client.close();
    }
  });

  it('refuses brokers the cluster does not have, reports plans it could not apply, and bad plan files', async () => {
    expect((await trib(['topic', 'create', 'stays', '--partitions', '1', '--replication-factor', '1'])).code).toBe(0);
    const foreign = node.nodeId + 100;
    const generate = await trib(['partition', 'reassign', '--generate', '--topics', 'stays', '--brokers', String(foreign)]);
    expect(generate.code).toBe(2);
    expect(generate.stderr).toMatch(new RegExp(`--brokers names ${foreign}, which the cluster does not list`));

    const plan = planFile('foreign.json', { version: 1, partitions: [{ topic: 'stays', partition: 0, replicas: [foreign] }] });
    const executed = await trib(['partition', 'reassign', '--execute', '--plan', plan]);
    expect(executed.code).toBe(1);
    expect(executed.stdout).toMatch(new RegExp(`Error reassigning partition stays-0: INVALID_REPLICA_ASSIGNMENT: .*broker ${foreign}, but no such broker is registered`));
    expect(executed.stderr).toMatch(/^trib: INVALID_REPLICA_ASSIGNMENT: 1 of 1 partitions could not be reassigned/);

    const verified = await trib(['partition', 'reassign', '--verify', '--plan', plan]);
    expect(verified.code).toBe(1);
    expect(verified.stdout).toContain(`There is no active reassignment of partition stays-0, but its replicas are [${node.nodeId}], not the plan's [${foreign}]`);

    const missing = await trib(['partition', 'reassign', '--verify', '--plan', planFile('missing.json', { partitions: [{ topic: 'stays', partition: 5, replicas: [1] }] })]);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toContain('Partition stays-5 does not exist');

    const broken = await trib(['partition', 'reassign', '--execute', '--plan', planFile('broken.json', '{"partitions": [{"topic": "stays"}]}')]);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toMatch(/partitions\[0\]\.partition must be an integer/);
    const absent = await trib(['partition', 'reassign', '--cancel', '--plan', join(dir, 'no-such-file.json')]);
    expect(absent.code).toBe(2);
    expect(absent.stderr).toMatch(/cannot read --plan .*no-such-file\.json/);
  });
});

describe('trib log-dirs describe on one node', () => {
  it("prints each log dir and every replica with its size on disk; --json, --topics and --broker filter", async () => {
    expect((await trib(['topic', 'create', 'sized', '--partitions', '2', '--replication-factor', '1'])).code).toBe(0);
    const client = new KafkaClient({ bootstrapServers: bootstrap });
    try {
      await client.produce('sized', 1, Array.from({ length: 20 }, (_, i) => ({ value: Buffer.alloc(1000, i) })), { acks: -1 });
    } finally {
      await client.close();
    }
    const logs = join(dir, 'logs');
    const onDisk = (partition: number): number =>
      readdirSync(join(logs, `sized-${partition}`))
        .filter((f) => f.endsWith('.log'))
        .reduce((sum, f) => sum + statSync(join(logs, `sized-${partition}`, f)).size, 0);
    expect(onDisk(1)).toBeGreaterThan(20_000);

    const json = await trib(['--json', 'log-dirs', 'describe', '--topics', 'sized']);
    expect(json).toMatchObject({ code: 0, stderr: '' });
    const doc = JSON.parse(json.stdout);
    expect(doc.brokers).toHaveLength(1);
    expect(doc.brokers[0]).toMatchObject({ broker: node.nodeId, error: null });
    const [logDir] = doc.brokers[0].logDirs;
    expect(logDir).toMatchObject({ logDir: logs, error: null });
    expect(logDir.totalBytes).toBeGreaterThan(0);
    expect(logDir.usableBytes).toBeLessThanOrEqual(logDir.totalBytes);
    expect(logDir.replicas).toEqual([
      { topic: 'sized', partition: 0, sizeBytes: 0, offsetLag: 0, isFuture: false },
      { topic: 'sized', partition: 1, sizeBytes: onDisk(1), offsetLag: 0, isFuture: false },
    ]);

    const text = await trib(['log-dirs', 'describe', '--broker', String(node.nodeId)]);
    expect(text).toMatchObject({ code: 0, stderr: '' });
    const rows = text.stdout.split('\n');
    expect(rows[0]).toMatch(/^BROKER\s+LOG-DIR\s+TOTAL\s+USABLE\s+REPLICAS\s+ERROR$/);
    expect(rows[1]).toMatch(new RegExp(`^${node.nodeId}\\s+${logs}\\s+\\S+ \\S+B\\s+\\S+ \\S+B\\s+\\d+$`));
    expect(rows).toContainEqual(expect.stringMatching(new RegExp(`^${node.nodeId}\\s+${logs}\\s+sized\\s+1\\s+${onDisk(1)}\\s+\\d+\\.\\d KiB\\s+0\\s+no$`)));
    // Without --topics every replica the broker hosts is listed, the earlier tests' topics too.
    expect(rows.some((r) => /\smoves\s+0\s/.test(r))).toBe(true);
  });

  it('refuses unknown brokers and topics and bad arguments with exit 2', async () => {
    const foreign = await trib(['log-dirs', 'describe', '--broker', String(node.nodeId + 100)]);
    expect(foreign.code).toBe(2);
    expect(foreign.stderr).toMatch(new RegExp(`--broker ${node.nodeId + 100}: the cluster does not list it \\(brokers: ${node.nodeId}\\)`));
    const unknownTopic = await trib(['log-dirs', 'describe', '--topics', 'no-such-topic']);
    expect(unknownTopic.code).toBe(2);
    expect(unknownTopic.stderr).toMatch(/--topics no-such-topic: no such topic/);
    const bad = await trib(['log-dirs', 'describe', '--broker', 'one']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--broker must be an integer/);
    const none = await trib(['log-dirs']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/log-dirs needs a subcommand: describe/);
  });
});
