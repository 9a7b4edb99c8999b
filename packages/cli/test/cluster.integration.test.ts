/**
 * Three real nodes in this process (node 1 broker+controller, 2 and 3 brokers on its quorum, loopback sockets,
 * temp dirs): the describe filters and leader elections when a broker is down and after it comes back.
 * Brokers do not replicate yet, so the test plays the followers' catch-up by asking the controller to put the
 * returning broker back into the ISRs (AlterPartition, as a leader would).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@tributary/common';
import { startNode, type RunningNode } from '@tributary/server';
import { trib as tribWith } from './helpers.ts';

const CLUSTER_ID = 'ElectLeadersTestCluAAA';
let dir: string;
let controllerPort: number;
const nodes = new Map<number, RunningNode>();

async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  return port;
}

function start(id: number): Promise<RunningNode> {
  const controller = id === 1;
  return startNode({
    overrides: {
      'node.id': String(id),
      'process.roles': controller ? 'broker,controller' : 'broker',
      listeners: controller ? `PLAINTEXT://127.0.0.1:0,CONTROLLER://127.0.0.1:${controllerPort}` : 'PLAINTEXT://127.0.0.1:0',
      'controller.listener.names': 'CONTROLLER',
      'controller.quorum.voters': `1@127.0.0.1:${controllerPort}`,
      'cluster.id': CLUSTER_ID,
      'log.dirs': join(dir, `node-${id}`),
      'offsets.topic.num.partitions': '1',
    },
    logger: silentLogger,
  });
}

/** Polls (bounded) until `check` holds. */
async function waitUntil(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function trib(args: string[]): ReturnType<typeof tribWith> {
  // Node 1 first: the CLI's requests all go there, so what it shows reflects what node 1 has applied.
  return tribWith(['-b', [...nodes.values()].map((n) => `127.0.0.1:${n.port}`).join(','), ...args]);
}

async function ok(args: string[]): Promise<string> {
  const r = await trib(args);
  expect(r.stderr, args.join(' ')).toBe('');
  expect(r.code, args.join(' ')).toBe(0);
  return r.stdout;
}

interface Described {
  name: string;
  partitions: { partition: number; leader: number; replicas: number[]; isr: number[] }[];
}

const describeJson = async (args: string[]): Promise<Described[]> => {
  const out = JSON.parse(await ok(['topic', 'describe', ...args, '--json'])) as Described | Described[];
  return Array.isArray(out) ? out : [out];
};

const liveBrokers = async (): Promise<number[]> => (JSON.parse(await ok(['cluster', 'info', '--json'])) as { brokers: { nodeId: number }[] }).brokers.map((b) => b.nodeId).sort();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'trib-cli-cluster-'));
  controllerPort = await freePort();
  for (const id of [1, 2, 3]) nodes.set(id, await start(id));
  await waitUntil('3 live brokers', 20_000, async () => (await liveBrokers()).length === 3);
}, 60_000);

afterAll(async () => {
  for (const id of [3, 2, 1]) await nodes.get(id)?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('trib against three nodes', () => {
  it('a stopped broker shows up in the describe filters; preferred and unclean elections fail for what it held; once back in the ISR its preferred leaderships return', async () => {
    await ok(['topic', 'create', 'spread', '--partitions', '3', '--replication-factor', '3']);
    await ok(['topic', 'create', 'solo', '--partitions', '3', '--replication-factor', '1']);
    await waitUntil('both topics led everywhere', 10_000, async () => (await describeJson([])).filter((t) => t.name !== '__consumer_offsets').every((t) => t.partitions.every((p) => p.leader > 0)));
    const [spread] = await describeJson(['spread']);
    const preferred3 = spread!.partitions.filter((p) => p.replicas[0] === 3).map((p) => p.partition);
    expect(preferred3.length).toBeGreaterThan(0);
    const [solo] = await describeJson(['solo']);
    const soloOn3 = solo!.partitions.find((p) => p.replicas[0] === 3)!.partition;
    expect(await ok(['topic', 'describe', '--under-replicated'])).toBe('No under-replicated partitions.\n');

    await nodes.get(3)!.stop();
    nodes.delete(3);
    await waitUntil('broker 3 out of the cluster and of every ISR', 20_000, async () => {
      const [t] = await describeJson(['spread']);
      return !(await liveBrokers()).includes(3) && t!.partitions.every((p) => !p.isr.includes(3) && p.leader !== 3);
    });

    const under = await describeJson(['--under-replicated']);
    expect(under.find((t) => t.name === 'spread')!.partitions.map((p) => p.partition)).toEqual([0, 1, 2]);
    const unavailable = await describeJson(['--unavailable']);
    expect(unavailable.map((t) => [t.name, t.partitions.map((p) => p.partition)])).toEqual([['solo', [soloOn3]]]);
    await ok(['topic', 'alter-config', 'spread', '--set', 'min.insync.replicas=3']);
    expect((await describeJson(['--under-min-isr'])).find((t) => t.name === 'spread')!.partitions).toHaveLength(3);

    const refused = await trib(['partition', 'elect-leaders', '--preferred', '--topic', 'spread']);
    expect(refused.code).toBe(1);
    for (const p of preferred3) expect(refused.stdout).toContain(`Error completing leader election (PREFERRED) for partition spread-${p}: PREFERRED_LEADER_NOT_AVAILABLE`);
    expect(refused.stderr).toMatch(/^trib: PREFERRED_LEADER_NOT_AVAILABLE: \d of 3 partitions could not be elected \(preferred\)\n$/);
    const unclean = await trib(['partition', 'elect-leaders', '--unclean', '--topic', 'solo', '--partition', String(soloOn3)]);
    expect(unclean.code).toBe(1);
    expect(unclean.stdout).toContain(`Error completing leader election (UNCLEAN) for partition solo-${soloOn3}: ELIGIBLE_LEADERS_NOT_AVAILABLE`);

    nodes.set(3, await start(3));
    await waitUntil('broker 3 back', 20_000, async () => (await liveBrokers()).includes(3));
    // The followers' catch-up: broker 3 fetches from each leader and rejoins every ISR (AlterPartition from the leaders).
    await waitUntil('broker 3 back in every ISR of spread', 30_000, async () => (await describeJson(['spread']))[0]!.partitions.every((p) => p.isr.includes(3)));
    const elected = await ok(['partition', 'elect-leaders', '--preferred', '--topic', 'spread']);
    expect(elected).toContain(`Successfully completed leader election (PREFERRED) for partitions ${preferred3.map((p) => `spread-${p}`).join(', ')}\n`);
    // Asking the same broker right away shows the new leaders (its handler waits for its own metadata; node 1 applies
    // fast enough here that this alone would not catch a missing wait: the broker's handler unit test does).
    const [after] = await describeJson(['spread']);
    for (const p of after!.partitions) expect(p.leader, `spread-${p.partition}`).toBe(p.replicas[0]);
    expect(await ok(['partition', 'elect-leaders', '--preferred', '--topic', 'spread'])).toMatch(/^Valid replica already elected for partitions spread-0, spread-1, spread-2\n$/);
    expect((await describeJson(['--under-replicated'])).find((t) => t.name === 'spread')).toBeUndefined();
  }, 120_000);
});
