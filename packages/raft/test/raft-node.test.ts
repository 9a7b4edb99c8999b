import { AssertionError, seededRng } from '@tributary/common';
import { describe, expect, it } from 'vitest';
import { RaftNode, type Message, type RaftNodeOptions, type Ready } from '../src/index.ts';
import { TestCluster } from './harness.ts';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

function node(opts: Partial<RaftNodeOptions> = {}): RaftNode {
  return new RaftNode({ nodeId: 1, voters: [1], electionTimeoutTicks: 5, fetchTimeoutTicks: 4, fetchIntervalTicks: 1, rng: seededRng(1), ...opts });
}

/** Process Readies until quiet, returning them. */
function drain(n: RaftNode): Ready[] {
  const out: Ready[] = [];
  while (n.hasReady()) {
    out.push(n.ready());
    n.advance();
  }
  return out;
}

function leaderOfOne(): RaftNode {
  const n = node();
  expect(n.campaign()).toBe(true);
  drain(n);
  expect(n.isLeader).toBe(true);
  return n;
}

describe('RaftNode: a single voter', () => {
  it('elects itself and commits only what it has made durable', () => {
    const n = node();
    n.campaign();
    const rd = n.ready();
    expect(rd.persistQuorumState).toEqual({ epoch: 1, votedFor: 1, leaderId: 1 });
    expect(rd.appendEntries.map((e) => e.kind)).toEqual(['leader-change']);
    expect(rd.committed).toEqual([]); // not durable yet
    n.advance();
    const next = n.ready();
    expect(next.committed.map((e) => e.offset)).toEqual([0]);
    expect(next.highWatermark).toBe(1);
    n.advance();
  });

  it('insists on ready/advance alternation', () => {
    const n = node();
    n.campaign();
    n.ready();
    expect(() => n.ready()).toThrow(AssertionError);
    n.advance();
    expect(() => n.advance()).toThrow(AssertionError);
  });
});

describe('RaftNode.propose', () => {
  it('refuses with a reason: not leader, empty, too many, too large, back-pressure', () => {
    expect(node().propose([bytes('a')])).toEqual({ accepted: false, reason: 'not-leader', leaderId: null });
    const n = new RaftNode({ nodeId: 1, voters: [1], electionTimeoutTicks: 5, fetchTimeoutTicks: 4, fetchIntervalTicks: 1, rng: seededRng(1), limits: { maxProposalEntries: 2, maxEntryBytes: 4, maxUncommittedEntries: 3 } });
    n.campaign();
    drain(n);
    expect(n.propose([])).toMatchObject({ accepted: false, reason: 'empty' });
    expect(n.propose([bytes('a'), bytes('b'), bytes('c')])).toMatchObject({ accepted: false, reason: 'too-many-records' });
    expect(n.propose([bytes('12345')])).toMatchObject({ accepted: false, reason: 'record-too-large' });
    expect(n.propose([bytes('a'), bytes('b')])).toEqual({ accepted: true, offset: 1, epoch: 1 });
    expect(n.propose([bytes('c'), bytes('d')])).toMatchObject({ accepted: false, reason: 'too-many-uncommitted' });
    drain(n);
    expect(n.propose([bytes('c'), bytes('d')])).toEqual({ accepted: true, offset: 3, epoch: 1 });
  });
});

describe('RaftNode snapshots and restart', () => {
  it('snapshots only applied entries, drops the prefix, and restarts with the HW at the snapshot', () => {
    const n = leaderOfOne();
    n.propose([bytes('a'), bytes('b')]);
    const readies = drain(n);
    expect(readies.flatMap((r) => r.committed).map((e) => e.offset)).toEqual([1, 2]);
    expect(() => n.createSnapshot(4, bytes('s'))).toThrow(AssertionError);
    const id = n.createSnapshot(2, bytes('state@2'));
    expect(id).toEqual({ endOffset: 2, epoch: 1 });
    expect(n.log.startOffset).toBe(2);
    expect(n.ready().persistSnapshot?.id).toEqual(id);
    n.advance();
    expect(n.createSnapshot(2, bytes('again'))).toBeNull();

    const restarted = node({ restored: { quorumState: { epoch: 1, votedFor: 1, leaderId: 1 }, snapshot: { id: { endOffset: 2, epoch: 1 }, data: bytes('state@2') }, entries: [n.log.entryAt(2)] } });
    expect(restarted.role.kind).toBe('resigned');
    expect(restarted.highWatermark).toBe(2);
    expect([restarted.log.startOffset, restarted.log.endOffset]).toEqual([2, 3]);
  });
});

describe('RaftNode votes', () => {
  it('sends a granted vote only in the Ready that persists it', () => {
    const n = node({ nodeId: 2, voters: [1, 2, 3] });
    drain(n);
    n.step({ type: 'VoteRequest', from: 1, to: 2, epoch: 1, preVote: false, lastOffsetEpoch: 0, lastOffset: 0, correlationId: 9 });
    const rd = n.ready();
    expect(rd.persistQuorumState).toEqual({ epoch: 1, votedFor: 1, leaderId: null });
    expect(rd.messages).toEqual([expect.objectContaining({ type: 'VoteResponse', voteGranted: true, correlationId: 9 })]);
    n.advance();
    n.step({ type: 'VoteRequest', from: 3, to: 2, epoch: 1, preVote: false, lastOffsetEpoch: 0, lastOffset: 0, correlationId: 10 });
    expect(n.ready().messages).toEqual([expect.objectContaining({ type: 'VoteResponse', voteGranted: false })]);
  });

  it('grants a pre-vote without moving its epoch, and rejects a less up-to-date log', () => {
    const n = node({ nodeId: 2, voters: [1, 2, 3], restored: { quorumState: { epoch: 2, votedFor: null, leaderId: null }, entries: [{ offset: 0, epoch: 2, kind: 'leader-change', data: bytes('x') }] } });
    drain(n);
    n.step({ type: 'VoteRequest', from: 1, to: 2, epoch: 5, preVote: true, lastOffsetEpoch: 2, lastOffset: 1, correlationId: 1 });
    n.step({ type: 'VoteRequest', from: 3, to: 2, epoch: 5, preVote: true, lastOffsetEpoch: 1, lastOffset: 9, correlationId: 2 });
    const rd = n.ready();
    expect(rd.persistQuorumState).toBeNull();
    expect(n.epoch).toBe(2);
    expect(rd.messages.map((m) => (m as Extract<Message, { type: 'VoteResponse' }>).voteGranted)).toEqual([true, false]);
  });
});

describe('RaftNode messages', () => {
  it('drops incoming messages over maxMessageBytes', () => {
    const n = node({ nodeId: 2, voters: [1, 2], limits: { maxMessageBytes: 200 } });
    drain(n);
    const big = { offset: 0, epoch: 1, kind: 'data' as const, data: new Uint8Array(500) };
    n.step({ type: 'FetchResponse', from: 1, to: 2, epoch: 1, leaderId: 1, error: 'none', highWatermark: 1, entries: [big], divergingEpoch: null, snapshotId: null, correlationId: 1 });
    expect(n.epoch).toBe(0);
  });
});

describe('RaftNode DescribeQuorum', () => {
  it('tracks at most maxObservers observers, forgetting the least recently fetching', () => {
    const n = node({ voters: [1], limits: { maxObservers: 2 } });
    n.campaign();
    drain(n);
    for (const observer of [7, 8, 9]) {
      n.tick();
      n.step({ type: 'FetchRequest', from: observer, to: 1, epoch: 1, fetchOffset: 0, lastFetchedEpoch: 0, correlationId: 1 });
    }
    const d = n.describeQuorum()!;
    expect(d.observers.map((o) => o.nodeId)).toEqual([8, 9]);
    expect(d.voters).toEqual([{ nodeId: 1, logEndOffset: 1, lastFetchTick: 3 }]);
  });
});

describe('TestCluster harness', () => {
  it('a three-node cluster converges on one leader from concurrent timeouts', () => {
    const c = new TestCluster();
    c.run('cluster voters=1,2,3');
    for (let i = 0; i < 100 && ![...c.nodes.values()].some((n) => n.node?.isLeader); i++) {
      c.run('tick all x1');
      c.run('stabilize');
    }
    expect([...c.nodes.values()].filter((n) => n.node?.isLeader)).toHaveLength(1);
  });
});
