import { AssertionError, seededRng } from '@tributary/common';
import { describe, expect, it } from 'vitest';
import { QuorumState, type QuorumStateData } from '../src/index.ts';

function quorum(restored: QuorumStateData | null, opts: { localId?: number; voters?: number[]; logLastEpoch?: number } = {}): QuorumState {
  return new QuorumState({
    localId: opts.localId ?? 1,
    voters: opts.voters ?? [1, 2, 3],
    rng: seededRng(1),
    electionTimeoutTicks: 10,
    fetchTimeoutTicks: 10,
    now: () => 0,
    restored,
    logLastEpoch: opts.logLastEpoch ?? 0,
  });
}

describe('QuorumState start-up', () => {
  it.each([
    [null, 0, 'unattached', 0],
    [{ epoch: 3, votedFor: null, leaderId: null }, 5, 'unattached', 5],
    [{ epoch: 3, votedFor: 1, leaderId: 1 }, 3, 'resigned', 3],
    [{ epoch: 3, votedFor: 1, leaderId: null }, 3, 'candidate', 3],
    [{ epoch: 3, votedFor: 2, leaderId: 2 }, 3, 'follower', 3],
    [{ epoch: 3, votedFor: 2, leaderId: null }, 3, 'voted', 3],
  ] as const)('%j with log epoch %i starts %s in epoch %i', (restored, logLastEpoch, kind, epoch) => {
    const q = quorum(restored, { logLastEpoch });
    expect(q.state.kind).toBe(kind);
    expect(q.epoch).toBe(epoch);
  });

  it('asks to persist only what changed', () => {
    expect(quorum({ epoch: 3, votedFor: 2, leaderId: 2 }).takePendingPersist()).toBeNull();
    expect(quorum({ epoch: 3, votedFor: null, leaderId: null }, { logLastEpoch: 4 }).takePendingPersist()).toEqual({ epoch: 4, votedFor: null, leaderId: null });
  });
});

describe('QuorumState transitions', () => {
  it('walks a legal election and records each change', () => {
    const q = quorum(null);
    q.transitionToProspective('test');
    q.state.kind === 'prospective' && q.state.election.record(2, true);
    q.transitionToCandidate('test');
    expect(q.takePendingPersist()).toEqual({ epoch: 1, votedFor: 1, leaderId: null });
    q.state.kind === 'candidate' && q.state.election.record(3, true);
    q.transitionToLeader(0, 'test');
    q.transitionToResigned([2, 3], 'test');
    q.transitionToUnattached(2, 'test');
    q.transitionToFollower(2, 3, 'test');
    expect(q.takeRoleChanges().map((c) => c.to.kind)).toEqual(['prospective', 'candidate', 'leader', 'resigned', 'unattached', 'follower']);
    expect(q.takePendingPersist()).toEqual({ epoch: 2, votedFor: null, leaderId: 3 });
  });

  it('asserts illegal transitions', () => {
    const q = quorum({ epoch: 2, votedFor: 2, leaderId: 2 });
    expect(() => q.transitionToCandidate('no pre-vote')).toThrow(AssertionError);
    expect(() => q.transitionToFollower(2, 2, 'same epoch, already following')).toThrow(AssertionError);
    expect(() => q.transitionToFollower(1, 3, 'older epoch')).toThrow(AssertionError);
    expect(() => q.transitionToUnattached(2, 'same epoch')).toThrow(AssertionError);
    expect(() => q.transitionToVoted(2, 3, 'second vote')).toThrow(AssertionError);
    expect(() => q.transitionToLeader(0, 'not a candidate')).toThrow(AssertionError);
    expect(() => q.transitionToResigned([], 'not leader')).toThrow(AssertionError);
    q.transitionToUnattached(3, 'ok');
    expect(() => q.transitionToFollower(3, 1, 'follow itself')).toThrow(AssertionError);
    expect(() => q.transitionToFollower(3, 9, 'non-voter leader')).toThrow(AssertionError);
    q.transitionToFollower(3, 2, 'ok');
    expect(() => q.transitionToFollower(3, 3, 'two leaders in one epoch')).toThrow(AssertionError);
  });

  it('never lets an observer vote, stand or lead', () => {
    const q = quorum(null, { localId: 7 });
    expect(q.isVoter).toBe(false);
    expect(() => q.transitionToProspective('observer')).toThrow(AssertionError);
    expect(() => q.transitionToVoted(0, 2, 'observer')).toThrow(AssertionError);
    q.transitionToFollower(1, 2, 'ok');
    q.transitionToUnattached(2, 'ok');
    expect(q.state.kind).toBe('unattached');
  });

  it('keeps a binding vote when a lost pre-vote returns to the same epoch', () => {
    const q = quorum({ epoch: 4, votedFor: 3, leaderId: null });
    q.transitionToProspective('timeout');
    q.transitionToUnattached(4, 'lost');
    expect(q.state.kind).toBe('voted');
    expect(q.state.votedFor).toBe(3);
  });
});
