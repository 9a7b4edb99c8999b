import { ErrorCode as ProtocolErrorCode } from '@tributary/protocol';
import { describe, expect, it } from 'vitest';
import { ErrorCode, LeaderPartitionState, type Durability, type FollowerFetch } from '../src/index.ts';
import { MemLog } from './mem-log.ts';

const LAG_MS = 30_000;

/** Leader 1 of replicas 1,2,3 in epoch 5, its log holding `records` records of epoch 3 then none of epoch 5 yet. */
function leader(opts: { durability?: Durability; isr?: number[]; minIsr?: number; records?: number; flushed?: number; hw?: number; nowMs?: number } = {}) {
  const log = new MemLog();
  const n = opts.records ?? 10;
  for (let o = 0; o < n; o++) log.append(o, { epoch: 3, value: `v${o}` });
  log.assignEpoch(5);
  const state = new LeaderPartitionState({
    localReplicaId: 1,
    localBrokerEpoch: 100,
    leaderEpoch: 5,
    partitionEpoch: 7,
    replicas: [1, 2, 3],
    isr: opts.isr ?? [1, 2, 3],
    minInsyncReplicas: opts.minIsr ?? 2,
    durability: opts.durability ?? 'lazy',
    logStartOffset: 0,
    logEndOffset: n,
    flushedOffset: opts.flushed ?? n,
    highWatermark: opts.hw ?? 0,
    endOffsetForEpoch: (e) => log.endOffsetForEpoch(e),
    nowMs: opts.nowMs ?? 1000,
  });
  const append = (count: number): void => {
    for (let i = 0; i < count; i++) log.append(log.logEndOffset(), { epoch: 5, value: `n${log.logEndOffset()}` });
    state.onLocalAppend(log.logEndOffset());
  };
  return { state, log, append };
}

function fetch(fetchOffset: number, nowMs: number, extra: Partial<FollowerFetch> = {}): FollowerFetch {
  // Records 0-9 are of epoch 3 and what the leader appends is of epoch 5.
  const lastFetchedEpoch = fetchOffset > 10 ? 5 : fetchOffset > 0 ? 3 : -1;
  return { currentLeaderEpoch: 5, fetchOffset, lastFetchedEpoch, nowMs, ...extra };
}

describe('error codes', () => {
  it("are Kafka's, as @tributary/protocol has them", () => {
    for (const [name, code] of Object.entries(ErrorCode)) expect((ProtocolErrorCode as Record<string, number>)[name], name).toBe(code);
  });
});

describe('high watermark', () => {
  it('lazy mode: the minimum log end offset over the ISR, waiting for ISR members whose log end is unknown', () => {
    const { state } = leader();
    expect(state.highWatermark).toBe(0);
    expect(state.onFollowerFetch(2, fetch(8, 1001))).toMatchObject({ kind: 'read', fetchOffset: 8, highWatermarkChanged: false });
    expect(state.highWatermark).toBe(0); // replica 3 has not fetched in this epoch
    const d = state.onFollowerFetch(3, fetch(6, 1002));
    expect(d).toMatchObject({ kind: 'read', highWatermarkChanged: true, highWatermark: 6 });
    state.onFollowerFetch(3, fetch(10, 1003));
    expect(state.highWatermark).toBe(8);
    state.onFollowerFetch(2, fetch(10, 1004));
    expect(state.highWatermark).toBe(10);
  });

  it('fsync mode: the minimum flushed offset over the ISR, the leader own flushed offset included', () => {
    const { state, append } = leader({ durability: 'fsync', flushed: 10 });
    append(5); // log end 15, flushed 10
    state.onFollowerFetch(2, fetch(15, 1001, { flushedOffset: 12 }));
    state.onFollowerFetch(3, fetch(15, 1001, { flushedOffset: 15 }));
    expect(state.highWatermark).toBe(10); // the leader itself has flushed only 10
    expect(state.onLocalFlush(15)).toBe(true);
    expect(state.highWatermark).toBe(12);
    // A follower that reports no flushed offset never counts as holding anything.
    state.onFollowerFetch(2, fetch(15, 1002));
    state.onLocalFlush(15);
    expect(state.highWatermark).toBe(12);
  });

  it('a reported flushed offset beyond the fetch offset counts only up to the fetch offset', () => {
    const { state } = leader({ durability: 'fsync' });
    state.onFollowerFetch(2, fetch(7, 1001, { flushedOffset: 99 }));
    state.onFollowerFetch(3, fetch(10, 1001, { flushedOffset: 10 }));
    expect(state.highWatermark).toBe(7);
  });

  it('does not advance while the committed ISR is below min.insync.replicas; acks=-1 produce is refused', () => {
    const { state, append } = leader({ isr: [1], minIsr: 2, hw: 10 });
    expect(state.checkProduce(-1)).toBe(ErrorCode.NOT_ENOUGH_REPLICAS);
    expect(state.checkProduce(1)).toBe(ErrorCode.NONE);
    append(3);
    expect(state.highWatermark).toBe(10);
    expect(state.acksAllStatus(13)).toEqual({ status: 'failed', errorCode: ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND });
  });

  it('with a single-member ISR and min.insync.replicas=1 follows the leader alone', () => {
    const { state, append } = leader({ isr: [1], minIsr: 1, hw: 10 });
    append(2);
    expect(state.highWatermark).toBe(12);
  });

  it('never moves back, and a new leader starts from its log, clamped to the log end', () => {
    const { state } = leader({ hw: 50 });
    expect(state.highWatermark).toBe(10);
    state.onFollowerFetch(2, fetch(3, 1001));
    state.onFollowerFetch(3, fetch(3, 1001));
    expect(state.highWatermark).toBe(10);
  });
});

describe('follower fetch validation', () => {
  it('fences an older current leader epoch and refuses a newer one', () => {
    const { state } = leader();
    expect(state.onFollowerFetch(2, fetch(10, 1001, { currentLeaderEpoch: 4 }))).toMatchObject({ kind: 'error', errorCode: ErrorCode.FENCED_LEADER_EPOCH });
    expect(state.onFollowerFetch(2, fetch(10, 1001, { currentLeaderEpoch: 6 }))).toMatchObject({ kind: 'error', errorCode: ErrorCode.UNKNOWN_LEADER_EPOCH });
    // -1 (old fetch versions) skips the check.
    expect(state.onFollowerFetch(2, fetch(10, 1001, { currentLeaderEpoch: -1 }))).toMatchObject({ kind: 'read' });
  });

  it('refuses a replica that is not assigned, and a fetch from an earlier incarnation of a broker', () => {
    const { state } = leader();
    expect(state.onFollowerFetch(4, fetch(10, 1001))).toMatchObject({ kind: 'error', errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER });
    expect(state.onFollowerFetch(2, fetch(10, 1001, { replicaEpoch: 20 }))).toMatchObject({ kind: 'read' });
    expect(state.onFollowerFetch(2, fetch(10, 1002, { replicaEpoch: 19 }))).toMatchObject({ kind: 'error', errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER });
  });

  it('a newer broker epoch resets what the leader knew of the follower', () => {
    const { state } = leader({ durability: 'fsync' });
    state.onFollowerFetch(2, fetch(10, 1001, { replicaEpoch: 20, flushedOffset: 10 }));
    expect(state.followerState(2)).toMatchObject({ brokerEpoch: 20, logEndOffset: 10, flushedOffset: 10 });
    state.onFollowerFetch(2, fetch(4, 1002, { replicaEpoch: 21, flushedOffset: 4 }));
    expect(state.followerState(2)).toMatchObject({ brokerEpoch: 21, logEndOffset: 4, flushedOffset: 4 });
  });

  it('answers a diverging epoch when the last fetched epoch is unknown here or ends before the fetch offset', () => {
    const { state, log } = leader();
    // The follower wrote 2 more records in epoch 3 (offsets 10, 11) that this leader never had.
    expect(state.onFollowerFetch(2, fetch(12, 1001, { lastFetchedEpoch: 3 }))).toMatchObject({ kind: 'diverging', divergingEpoch: { epoch: 3, endOffset: 10 } });
    // The follower led epoch 4 (which this leader never saw) from offset 10.
    expect(state.onFollowerFetch(2, fetch(11, 1001, { lastFetchedEpoch: 4 }))).toMatchObject({ kind: 'diverging', divergingEpoch: { epoch: 3, endOffset: 10 } });
    // A diverging answer does not count as the follower's position.
    expect(state.followerState(2)?.logEndOffset).toBe(-1);
    expect(log.logEndOffset()).toBe(10);
  });

  it('answers OFFSET_OUT_OF_RANGE outside the log, with the log bounds', () => {
    const { state } = leader();
    state.onLogStartOffsetChange(4);
    expect(state.onFollowerFetch(2, fetch(2, 1001, { lastFetchedEpoch: -1 }))).toMatchObject({ kind: 'error', errorCode: ErrorCode.OFFSET_OUT_OF_RANGE, logStartOffset: 4, logEndOffset: 10 });
    expect(state.onFollowerFetch(2, fetch(11, 1001, { lastFetchedEpoch: -1 }))).toMatchObject({ kind: 'error', errorCode: ErrorCode.OFFSET_OUT_OF_RANGE });
  });
});

describe('OffsetForLeaderEpoch', () => {
  it('fences like a fetch, then answers from the leader-epoch cache', () => {
    const { state, append } = leader();
    append(2); // epoch 5 starts at 10
    expect(state.offsetForLeaderEpoch(4, 3)).toEqual({ errorCode: ErrorCode.FENCED_LEADER_EPOCH, leaderEpoch: -1, endOffset: -1 });
    expect(state.offsetForLeaderEpoch(6, 3)).toEqual({ errorCode: ErrorCode.UNKNOWN_LEADER_EPOCH, leaderEpoch: -1, endOffset: -1 });
    expect(state.offsetForLeaderEpoch(5, 3)).toEqual({ errorCode: ErrorCode.NONE, leaderEpoch: 3, endOffset: 10 });
    expect(state.offsetForLeaderEpoch(-1, 4)).toEqual({ errorCode: ErrorCode.NONE, leaderEpoch: 3, endOffset: 10 });
    expect(state.offsetForLeaderEpoch(5, 5)).toEqual({ errorCode: ErrorCode.NONE, leaderEpoch: 5, endOffset: 12 });
    expect(state.offsetForLeaderEpoch(5, 7)).toEqual({ errorCode: ErrorCode.NONE, leaderEpoch: -1, endOffset: -1 });
  });
});

describe('ISR shrink', () => {
  it('removes a follower that has not caught up for replica.lag.time.max.ms, and only then', () => {
    const { state, append } = leader({ nowMs: 0 });
    state.onFollowerFetch(2, fetch(10, 100));
    state.onFollowerFetch(3, fetch(10, 100));
    append(5);
    // Replica 2 keeps fetching everything; replica 3 stops.
    for (let t = 1000; t <= 31_000; t += 1000) {
      state.onFollowerFetch(2, fetch(state.logEndOffset, t));
      append(1);
      if (t <= 30_000) expect(state.maybeShrinkIsr(t, LAG_MS), `t=${t}`).toBeNull();
    }
    const proposal = state.maybeShrinkIsr(31_000, LAG_MS);
    expect(proposal).toMatchObject({ kind: 'shrink', leaderEpoch: 5, partitionEpoch: 7, newIsr: [1, 2] });
    expect(proposal?.newIsrWithEpochs).toEqual([{ brokerId: 1, brokerEpoch: 100 }, { brokerId: 2, brokerEpoch: -1 }]);
  });

  it("counts a follower as caught up as of an earlier fetch when it has reached the leader's log end of then", () => {
    // Under steady appends the follower is never at the current log end, yet never more than a fetch behind.
    const { state, append } = leader({ nowMs: 0 });
    let followerEnd = 10;
    for (let t = 0; t <= 100_000; t += 500) {
      state.onFollowerFetch(2, fetch(followerEnd, t));
      state.onFollowerFetch(3, fetch(followerEnd, t));
      followerEnd = state.logEndOffset; // the response carried everything up to here
      append(3);
      expect(state.maybeShrinkIsr(t, LAG_MS)).toBeNull();
    }
  });

  it('in fsync mode a follower whose flush trails its fetches by a round stays in the ISR under steady load', () => {
    const { state, append } = leader({ durability: 'fsync', nowMs: 0 });
    let fetched = 10;
    let flushed = 10;
    for (let t = 0; t <= 100_000; t += 500) {
      // Pipelined: this fetch reports as flushed only what the fetch before the last one brought.
      state.onFollowerFetch(2, fetch(fetched, t, { flushedOffset: flushed }));
      state.onFollowerFetch(3, fetch(fetched, t, { flushedOffset: flushed }));
      flushed = fetched;
      fetched = state.logEndOffset;
      append(3);
      state.onLocalFlush(state.logEndOffset);
      expect(state.maybeShrinkIsr(t, LAG_MS)).toBeNull();
    }
    expect(state.highWatermark).toBeGreaterThan(500);
  });

  it('in fsync mode a follower that appends but never flushes falls out of the ISR', () => {
    const { state, append } = leader({ durability: 'fsync', nowMs: 0 });
    for (let t = 0; t <= 40_000; t += 1000) {
      state.onFollowerFetch(2, fetch(state.logEndOffset, t, { flushedOffset: state.logEndOffset }));
      state.onFollowerFetch(3, fetch(state.logEndOffset, t, { flushedOffset: 10 }));
      append(1);
      state.onLocalFlush(state.logEndOffset);
    }
    expect(state.maybeShrinkIsr(40_000, LAG_MS)?.newIsr).toEqual([1, 2]);
  });

  it('keeps an idle follower that is at the log end', () => {
    const { state } = leader({ nowMs: 0 });
    state.onFollowerFetch(2, fetch(10, 1));
    state.onFollowerFetch(3, fetch(10, 1));
    expect(state.maybeShrinkIsr(1_000_000, LAG_MS)).toBeNull();
  });

  it('while a shrink is pending the high watermark still waits for the removed follower (maximal ISR)', () => {
    const { state, append } = leader({ nowMs: 0 });
    state.onFollowerFetch(2, fetch(10, 1));
    state.onFollowerFetch(3, fetch(10, 1));
    append(5);
    state.onFollowerFetch(2, fetch(15, 40_000));
    const proposal = state.maybeShrinkIsr(40_000, LAG_MS)!;
    expect(proposal.newIsr).toEqual([1, 2]);
    expect(state.maximalIsr).toEqual([1, 2, 3]);
    expect(state.highWatermark).toBe(10);
    // One change in flight: nothing else is proposed meanwhile.
    expect(state.maybeShrinkIsr(50_000, LAG_MS)).toBeNull();
    expect(state.maybeExpandIsr(50_000)).toBeNull();
    const outcome = state.onAlterPartitionResult(proposal.proposalId, { errorCode: ErrorCode.NONE, leaderEpoch: 5, isr: [1, 2], partitionEpoch: 8 });
    expect(outcome).toEqual({ action: 'committed', isrChanged: true, highWatermarkChanged: true });
    expect(state.highWatermark).toBe(15);
    expect(state.partitionEpoch).toBe(8);
    expect(state.pendingIsrChange).toBeNull();
  });
});

describe('ISR expand', () => {
  function withOutOfSyncReplica3(durability: Durability = 'lazy') {
    const t = leader({ isr: [1, 2], durability });
    t.state.onFollowerFetch(2, fetch(10, 1001, { flushedOffset: 10 }));
    t.append(4);
    t.state.onLocalFlush(14);
    t.state.onFollowerFetch(2, fetch(14, 1002, { flushedOffset: 14 }));
    expect(t.state.highWatermark).toBe(14);
    return t;
  }

  it('re-admits a follower that reached the high watermark and the start of the leader epoch', () => {
    const { state } = withOutOfSyncReplica3();
    state.onFollowerFetch(3, fetch(12, 1003));
    expect(state.maybeExpandIsr(1003)).toBeNull();
    state.onFollowerFetch(3, fetch(14, 1004, { lastFetchedEpoch: 5 }));
    const proposal = state.maybeExpandIsr(1004);
    expect(proposal).toMatchObject({ kind: 'expand', newIsr: [1, 2, 3], partitionEpoch: 7 });
    // The proposed member already counts for the high watermark.
    expect(state.maximalIsr).toEqual([1, 2, 3]);
  });

  it('does not propose a replica the metadata shows fenced or shutting down (KIP-841)', () => {
    const { state } = withOutOfSyncReplica3();
    state.onFollowerFetch(3, fetch(14, 1004, { lastFetchedEpoch: 5 }));
    // Caught up, but ineligible: no proposal however often it fetches.
    expect(state.maybeExpandIsr(1004, (id) => id !== 3)).toBeNull();
    expect(state.maybeExpandIsr(1005, (id) => id !== 3)).toBeNull();
    expect(state.pendingIsrChange).toBeNull();
    // Eligible again (unfenced, restarted): it rejoins on the next check.
    expect(state.maybeExpandIsr(1006, () => true)?.newIsr).toEqual([1, 2, 3]);
  });

  it('requires the leader-epoch start even when the high watermark is lower', () => {
    const { state } = leader({ isr: [1, 2], hw: 5 });
    state.onFollowerFetch(3, fetch(8, 1001));
    expect(state.highWatermark).toBe(5);
    expect(state.maybeExpandIsr(1001)).toBeNull(); // log end 8 < epoch start 10
  });

  it('in fsync mode requires the follower to have flushed up to the high watermark', () => {
    const { state } = withOutOfSyncReplica3('fsync');
    state.onFollowerFetch(3, fetch(14, 1003, { lastFetchedEpoch: 5, flushedOffset: 12 }));
    expect(state.maybeExpandIsr(1003)).toBeNull();
    state.onFollowerFetch(3, fetch(14, 1004, { lastFetchedEpoch: 5, flushedOffset: 14 }));
    expect(state.maybeExpandIsr(1004)?.newIsr).toEqual([1, 2, 3]);
  });
});

describe('AlterPartition results', () => {
  function pendingExpand() {
    const t = leader({ isr: [1, 2] });
    t.state.onFollowerFetch(2, fetch(10, 1001));
    t.state.onFollowerFetch(3, fetch(10, 1001, { replicaEpoch: 30 }));
    const proposal = t.state.maybeExpandIsr(1001)!;
    expect(proposal.newIsrWithEpochs).toContainEqual({ brokerId: 3, brokerEpoch: 30 });
    return { ...t, proposal };
  }

  it('INVALID_UPDATE_VERSION keeps the change pending until the metadata log tells the outcome', () => {
    const { state, proposal } = pendingExpand();
    expect(state.onAlterPartitionResult(proposal.proposalId, { errorCode: ErrorCode.INVALID_UPDATE_VERSION, leaderEpoch: -1, isr: [], partitionEpoch: -1 }).action).toBe('await-metadata');
    expect(state.pendingIsrChange).toBe(proposal);
    expect(state.maximalIsr).toEqual([1, 2, 3]);
    expect(state.onPartitionMetadata({ leaderId: 1, leaderEpoch: 5, partitionEpoch: 7, isr: [1, 2] }).action).toBe('ignored');
    expect(state.onPartitionMetadata({ leaderId: 1, leaderEpoch: 5, partitionEpoch: 8, isr: [1, 2, 3] })).toMatchObject({ action: 'adopted', isrChanged: true });
    expect(state.isr).toEqual([1, 2, 3]);
    expect(state.pendingIsrChange).toBeNull();
  });

  it('FENCED_LEADER_EPOCH also waits for metadata, which then ends this leadership', () => {
    const { state, proposal } = pendingExpand();
    expect(state.onAlterPartitionResult(proposal.proposalId, { errorCode: ErrorCode.FENCED_LEADER_EPOCH, leaderEpoch: -1, isr: [], partitionEpoch: -1 }).action).toBe('await-metadata');
    expect(state.onPartitionMetadata({ leaderId: 2, leaderEpoch: 6, partitionEpoch: 9, isr: [2, 3] }).action).toBe('not-leader');
    expect(state.onPartitionMetadata({ leaderId: 1, leaderEpoch: 4, partitionEpoch: 9, isr: [1] }).action).toBe('ignored');
  });

  it('INELIGIBLE_REPLICA and OPERATION_NOT_ATTEMPTED drop the change: it was not applied', () => {
    for (const errorCode of [ErrorCode.INELIGIBLE_REPLICA, ErrorCode.OPERATION_NOT_ATTEMPTED]) {
      const { state, proposal } = pendingExpand();
      expect(state.onAlterPartitionResult(proposal.proposalId, { errorCode, leaderEpoch: -1, isr: [], partitionEpoch: -1 }).action).toBe('reset');
      expect(state.pendingIsrChange).toBeNull();
      expect(state.isr).toEqual([1, 2]);
      expect(state.maybeExpandIsr(1002)?.proposalId).toBeGreaterThan(proposal.proposalId);
    }
  });

  it('retriable errors keep the same proposal for resending; results for other proposals are ignored', () => {
    const { state, proposal } = pendingExpand();
    expect(state.onAlterPartitionResult(proposal.proposalId, { errorCode: ErrorCode.NOT_CONTROLLER, leaderEpoch: -1, isr: [], partitionEpoch: -1 }).action).toBe('retry');
    expect(state.onAlterPartitionResult(proposal.proposalId, { errorCode: ErrorCode.REQUEST_TIMED_OUT, leaderEpoch: -1, isr: [], partitionEpoch: -1 }).action).toBe('retry');
    expect(state.pendingIsrChange).toBe(proposal);
    expect(state.onAlterPartitionResult(proposal.proposalId + 1, { errorCode: ErrorCode.NONE, leaderEpoch: 5, isr: [1], partitionEpoch: 99 }).action).toBe('ignored');
    expect(state.isr).toEqual([1, 2]);
  });

  it('a success for another leader epoch or an older partition epoch is not adopted', () => {
    const { state, proposal } = pendingExpand();
    expect(state.onAlterPartitionResult(proposal.proposalId, { errorCode: ErrorCode.NONE, leaderEpoch: 6, isr: [1, 2, 3], partitionEpoch: 8 }).action).toBe('await-metadata');
    expect(state.onAlterPartitionResult(proposal.proposalId, { errorCode: ErrorCode.NONE, leaderEpoch: 5, isr: [1, 2, 3], partitionEpoch: 7 }).action).toBe('await-metadata');
    expect(state.isr).toEqual([1, 2]);
    expect(state.onAlterPartitionResult(proposal.proposalId, { errorCode: ErrorCode.NONE, leaderEpoch: 5, isr: [1, 2, 3], partitionEpoch: 8 }).action).toBe('committed');
  });

  it('a committed ISR without its leader is a broken invariant', () => {
    const { state, proposal } = pendingExpand();
    expect(() => state.onAlterPartitionResult(proposal.proposalId, { errorCode: ErrorCode.NONE, leaderEpoch: 5, isr: [2, 3], partitionEpoch: 8 })).toThrow(/leaves out its leader/);
  });
});

describe('acks=-1', () => {
  it('is pending until the high watermark covers the records, then done', () => {
    const { state, append } = leader({ hw: 10 });
    state.onFollowerFetch(2, fetch(10, 1001));
    state.onFollowerFetch(3, fetch(10, 1001));
    append(2);
    expect(state.acksAllStatus(12)).toEqual({ status: 'pending' });
    state.onFollowerFetch(2, fetch(12, 1002, { lastFetchedEpoch: 5 }));
    expect(state.acksAllStatus(12)).toEqual({ status: 'pending' });
    state.onFollowerFetch(3, fetch(12, 1002, { lastFetchedEpoch: 5 }));
    expect(state.acksAllStatus(12)).toEqual({ status: 'done' });
  });

  it('a pending request fails once a committed shrink leaves the ISR below min.insync.replicas', () => {
    const { state, append } = leader({ isr: [1, 2], hw: 10, nowMs: 0 });
    state.onFollowerFetch(2, fetch(10, 1));
    append(1);
    const proposal = state.maybeShrinkIsr(40_000, LAG_MS)!;
    expect(state.acksAllStatus(11)).toEqual({ status: 'pending' }); // not committed yet
    state.onAlterPartitionResult(proposal.proposalId, { errorCode: ErrorCode.NONE, leaderEpoch: 5, isr: [1], partitionEpoch: 8 });
    expect(state.acksAllStatus(11)).toEqual({ status: 'failed', errorCode: ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND });
    expect(state.highWatermark).toBe(10);
  });
});
