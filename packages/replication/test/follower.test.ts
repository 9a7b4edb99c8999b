import { describe, expect, it } from 'vitest';
import { ErrorCode, FollowerPartitionState } from '../src/index.ts';
import { MemLog } from './mem-log.ts';

/** A follower log with `epochs` as [epoch, records] runs, following leader 1 in epoch 9. */
function follower(epochs: [number, number][], hw = 0) {
  const log = new MemLog();
  for (const [epoch, count] of epochs) for (let i = 0; i < count; i++) log.append(log.logEndOffset(), { epoch, value: `e${epoch}-${i}` });
  log.flush(log.logEndOffset() - 1);
  const state = new FollowerPartitionState({ localReplicaId: 2, localBrokerEpoch: 40, leaderId: 1, leaderEpoch: 9, log, highWatermark: hw });
  return { log, state };
}

describe('fetch request', () => {
  it('sends the log end as fetch offset, the latest cached epoch, the current leader epoch and the durable end', () => {
    const { state } = follower([[1, 3], [4, 2]]);
    expect(state.fetchRequest()).toEqual({ replicaId: 2, replicaEpoch: 40, currentLeaderEpoch: 9, fetchOffset: 5, lastFetchedEpoch: 4, logStartOffset: 0, flushedOffset: 4 });
  });

  it('sends no last fetched epoch for an empty log', () => {
    const { state } = follower([]);
    expect(state.fetchRequest()).toMatchObject({ fetchOffset: 0, lastFetchedEpoch: -1 });
  });
});

describe('diverging epoch (KIP-279)', () => {
  it('same epoch known here: truncate to the smaller of both ends', () => {
    // Ours: epoch 1 at 0-2, epoch 4 at 3-7. Leader: epoch 4 ends at 5.
    const { state } = follower([[1, 3], [4, 5]]);
    expect(state.onFetchResponse({ errorCode: ErrorCode.NONE, highWatermark: 3, logStartOffset: 0, divergingEpoch: { epoch: 4, endOffset: 5 } })).toEqual({ kind: 'truncate', offset: 5, belowHighWatermark: false, final: true });
    // Leader: epoch 1 ends at 6 (its epoch 1 went on longer than ours): ours ends at 3.
    expect(state.onDivergingEpoch({ epoch: 1, endOffset: 6 })).toEqual({ kind: 'truncate', offset: 3, belowHighWatermark: false, final: true });
  });

  it('epoch unknown here: truncate to the end of our largest older epoch and ask again (intermediate)', () => {
    // Ours: epochs 1 (0-2), 3 (3-4), 5 (5-6). Leader says its largest epoch <= 5 is 4, ending at 6.
    const { state, log } = follower([[1, 3], [3, 2], [5, 2]]);
    const action = state.onDivergingEpoch({ epoch: 4, endOffset: 6 });
    expect(action).toEqual({ kind: 'truncate', offset: 5, belowHighWatermark: false, final: false });
    log.truncateTo(5);
    state.onTruncated();
    expect(state.fetchRequest()).toMatchObject({ fetchOffset: 5, lastFetchedEpoch: 3 });
  });

  it('the leader knows no epoch that old: fall back to the high watermark', () => {
    const { state } = follower([[2, 6]], 4);
    expect(state.onDivergingEpoch({ epoch: -1, endOffset: -1 })).toEqual({ kind: 'truncate', offset: 4, belowHighWatermark: false, final: true });
  });

  it('our log starts after the epoch the leader names: truncate to the leader end', () => {
    const { state } = follower([[6, 4]]);
    expect(state.onDivergingEpoch({ epoch: 5, endOffset: 2 })).toMatchObject({ kind: 'truncate', offset: 0 });
  });

  it('truncating to the log end still drops an epoch led without writing, so the next fetch moves on', () => {
    const { state, log } = follower([[1, 3]]);
    log.assignEpoch(7); // we led epoch 7 from offset 3 and wrote nothing
    expect(state.fetchRequest()).toMatchObject({ fetchOffset: 3, lastFetchedEpoch: 7 });
    const action = state.onDivergingEpoch({ epoch: 1, endOffset: 3 });
    expect(action).toEqual({ kind: 'truncate', offset: 3, belowHighWatermark: false, final: true });
    log.truncateTo(3);
    expect(state.fetchRequest()).toMatchObject({ fetchOffset: 3, lastFetchedEpoch: 1 });
  });

  it('flags a truncation below the high watermark', () => {
    const { state } = follower([[1, 5]], 5);
    expect(state.onDivergingEpoch({ epoch: 1, endOffset: 3 })).toMatchObject({ offset: 3, belowHighWatermark: true });
  });
});

describe('offset out of range', () => {
  it('the leader ends before us: truncate to its end', () => {
    const { state } = follower([[1, 8]]);
    expect(state.onFetchResponse({ errorCode: ErrorCode.OFFSET_OUT_OF_RANGE, highWatermark: 2, logStartOffset: 0, logEndOffset: 5 })).toEqual({ kind: 'truncate', offset: 5, belowHighWatermark: false, final: true });
  });

  it('the leader starts after our end: drop everything and start at its log start', () => {
    const { state } = follower([[1, 3]]);
    expect(state.onOffsetOutOfRange(10, 20)).toEqual({ kind: 'truncate-fully', startOffset: 10 });
  });

  it('within the leader log after all: fetch again', () => {
    const { state } = follower([[1, 3]]);
    expect(state.onOffsetOutOfRange(0, 20)).toEqual({ kind: 'none' });
  });
});

describe('high watermark and errors', () => {
  it("is the leader's, capped by the local log end, and does not move back while following", () => {
    const { state, log } = follower([[1, 3]]);
    expect(state.onFetchResponse({ errorCode: ErrorCode.NONE, highWatermark: 10, logStartOffset: 0 })).toEqual({ kind: 'append' });
    expect(state.onRecordsAppended(10)).toBe(true);
    expect(state.highWatermark).toBe(3);
    log.append(3, { epoch: 9, value: 'x' });
    state.onRecordsAppended(2);
    expect(state.highWatermark).toBe(3);
    state.onRecordsAppended(4);
    expect(state.highWatermark).toBe(4);
    log.truncateTo(2);
    state.onTruncated();
    expect(state.highWatermark).toBe(2);
  });

  it('maps leader errors to waiting for metadata or retrying', () => {
    const { state } = follower([]);
    const answer = (errorCode: number) => state.onFetchResponse({ errorCode, highWatermark: -1, logStartOffset: -1 });
    expect(answer(ErrorCode.FENCED_LEADER_EPOCH)).toEqual({ kind: 'await-metadata', errorCode: ErrorCode.FENCED_LEADER_EPOCH });
    expect(answer(ErrorCode.NOT_LEADER_OR_FOLLOWER).kind).toBe('await-metadata');
    expect(answer(ErrorCode.UNKNOWN_LEADER_EPOCH)).toEqual({ kind: 'retry', errorCode: ErrorCode.UNKNOWN_LEADER_EPOCH });
  });
});
