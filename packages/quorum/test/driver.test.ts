/**
 * The driver in one process: three QuorumNodes on loopback with in-memory file systems.
 */
import { silentLogger } from '@tributary/common';
import { MemoryFileSystem } from '@tributary/storage';
import { afterEach, describe, expect, it } from 'vitest';
import { ProposalError } from '../src/driver.ts';
import { QuorumNode } from '../src/node.ts';
import type { StoredLogLimits } from '../src/stored-log.ts';
import { encodeKvCommand } from '../src/state-machine.ts';
import { freePort, waitFor } from './support.ts';

let nodes: QuorumNode[] = [];

afterEach(async () => {
  await Promise.all(nodes.map((n) => n.stop()));
  nodes = [];
});

interface QuorumOptions {
  maxPendingProposals?: number;
  logLimits?: Partial<StoredLogLimits>;
}

const fileSystems = new Map<number, MemoryFileSystem>();
let voters = new Map<number, string>();

function startNode(id: number, opts: QuorumOptions): Promise<QuorumNode> {
  let fs = fileSystems.get(id);
  if (!fs) fileSystems.set(id, (fs = new MemoryFileSystem()));
  return QuorumNode.start({ nodeId: id, voters, listen: voters.get(id)!, dataDir: `/data/n${id}`, fs, logger: silentLogger, maxPendingProposals: opts.maxPendingProposals, logLimits: opts.logLimits });
}

async function startQuorum(opts: QuorumOptions = {}): Promise<QuorumNode[]> {
  fileSystems.clear();
  voters = new Map<number, string>();
  for (let id = 1; id <= 3; id++) voters.set(id, `127.0.0.1:${await freePort()}`);
  nodes = await Promise.all([...voters.keys()].map((id) => startNode(id, opts)));
  return nodes;
}

async function leaderOf(all: QuorumNode[]): Promise<QuorumNode> {
  return waitFor('a leader', 10_000, () => all.find((n) => n.driver.node.isLeader) ?? null);
}

describe('QuorumDriver', () => {
  it('folds concurrent proposals into few entry batches (group commit) and applies them everywhere in order', async () => {
    const all = await startQuorum();
    const leader = await leaderOf(all);
    const before = { ...leader.driver.stats };
    const results = await Promise.all(Array.from({ length: 3000 }, (_, i) => leader.driver.propose(encodeKvCommand({ key: `k${i % 100}`, value: `v${i}` }))));
    const proposeCalls = leader.driver.stats.proposeCalls - before.proposeCalls;
    const readies = leader.driver.stats.readies - before.readies;
    // One propose call per pump round: far fewer calls (and Readies, and fsyncs) than proposals.
    expect(proposeCalls).toBeLessThan(300);
    expect(readies).toBeLessThan(1500);
    const offsets = results.map((r) => r.offset);
    expect(new Set(offsets).size).toBe(3000);
    const end = Math.max(...offsets) + 1;
    await waitFor('every node to apply everything', 10_000, () => all.every((n) => n.driver.appliedOffset >= end));
    const maps = all.map((n) => JSON.stringify(n.stateMachine.entries()));
    expect(new Set(maps).size).toBe(1);
    // The last write of each key wins, in offset order.
    const last = new Map<string, string>();
    results.map((r, i) => ({ r, i })).sort((a, b) => a.r.offset - b.r.offset).forEach(({ i }) => last.set(`k${i % 100}`, `v${i}`));
    expect(all[0]!.stateMachine.entries()).toEqual([...last.entries()].sort(([a], [b]) => (a < b ? -1 : 1)));
  });

  it('bounds pending proposals and refuses them on a follower with the leader named', async () => {
    const all = await startQuorum({ maxPendingProposals: 100 });
    const leader = await leaderOf(all);
    const follower = all.find((n) => n !== leader)!;
    await waitFor('the follower to know the leader', 5000, () => follower.driver.node.role.leaderId === leader.nodeId);
    await expect(follower.driver.propose(encodeKvCommand({ key: 'a', value: 'b' }))).rejects.toMatchObject({ reason: 'not-leader', leaderId: leader.nodeId });
    const outcomes = await Promise.allSettled(Array.from({ length: 300 }, (_, i) => leader.driver.propose(encodeKvCommand({ key: `x${i}`, value: '1' }))));
    const rejected = outcomes.filter((o) => o.status === 'rejected').map((o) => (o as PromiseRejectedResult).reason as ProposalError);
    expect(rejected.length).toBeGreaterThanOrEqual(200);
    expect(rejected.every((e) => e instanceof ProposalError && e.reason === 'overloaded')).toBe(true);
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(300 - rejected.length);
  });

  it('serves a lagging follower and a restarted node from disk when the entries left the in-memory tail', async () => {
    const opts = { logLimits: { maxTailEntries: 16, maxWindowEntries: 64 } };
    const all = await startQuorum(opts);
    const leader = await leaderOf(all);
    const lagging = all.find((n) => n !== leader)!;
    await lagging.stop();
    nodes = all.filter((n) => n !== lagging);
    const results = await Promise.all(Array.from({ length: 600 }, (_, i) => leader.driver.propose(encodeKvCommand({ key: `k${i}`, value: `${i}` }))));
    const end = Math.max(...results.map((r) => r.offset)) + 1;
    // Back with the same disk: it re-applies its own log from disk, then fetches the rest, which the leader reads from disk.
    const restarted = await startNode(lagging.nodeId, opts);
    nodes.push(restarted);
    await waitFor('the restarted node to catch up', 20_000, () => restarted.driver.appliedOffset >= end);
    expect(restarted.stateMachine.size).toBe(600);
    expect(JSON.stringify(restarted.stateMachine.entries())).toBe(JSON.stringify(leader.stateMachine.entries()));
    expect(leader.driver.stats.fetchesQueued).toBeGreaterThan(0);
    expect(leader.log.stats.loads).toBeGreaterThan(0);
    expect(restarted.log.stats.readMisses).toBe(0);
  });
});
