/**
 * FollowerPartitionState: a follower's replication decisions for one partition under one leader epoch (Kafka's
 * AbstractFetcherThread / ReplicaFetcherThread, fetch-based truncation of KIP-320/595 with KIP-101/279's rules).
 *
 * Pure: the broker owns the log and the fetch loop. Each round it sends `fetchRequest()` (fetch offset = log end,
 * LastFetchedEpoch = the latest epoch of its leader-epoch cache, CurrentLeaderEpoch, its durable end), hands the
 * leader's answer to `onFetchResponse`, performs the returned action on its log (append the records, truncate) and
 * reports back (`onRecordsAppended`, `onTruncated`). A new leader or leader epoch means a new FollowerPartitionState
 * (Kafka no longer truncates to the high watermark on becoming follower: the first fetch finds the divergence).
 */
import { assert } from '@tributary/common';
import { ErrorCode } from './errors.ts';
import { UNDEFINED_EPOCH_OFFSET, type EpochEndOffset, type ReplicaLogView } from './types.ts';

export interface FollowerPartitionOptions {
  readonly localReplicaId: number;
  /** This broker's epoch, sent as ReplicaState.ReplicaEpoch; -1 if unknown. */
  readonly localBrokerEpoch?: number;
  readonly leaderId: number;
  readonly leaderEpoch: number;
  readonly log: ReplicaLogView;
  /** The high watermark the log had (checkpoint or previous role). */
  readonly highWatermark: number;
}

/** The partition part of a follower's Fetch (FetchRequest ReplicaState + FetchPartition, plus our flushed offset). */
export interface FollowerFetchRequest {
  readonly replicaId: number;
  readonly replicaEpoch: number;
  readonly currentLeaderEpoch: number;
  readonly fetchOffset: number;
  readonly lastFetchedEpoch: number;
  readonly logStartOffset: number;
  readonly flushedOffset: number;
}

/** The leader's answer for this partition (FetchResponse PartitionData; log end from the leader, as ListOffsets would). */
export interface LeaderFetchResponse {
  readonly errorCode: number;
  readonly highWatermark: number;
  readonly logStartOffset: number;
  /** The leader's log end; needed only for OFFSET_OUT_OF_RANGE (Kafka asks ListOffsets for it). */
  readonly logEndOffset?: number;
  readonly divergingEpoch?: EpochEndOffset | null;
}

export type FollowerAction =
  /** Append the response's records (they start at the fetch offset), then call onRecordsAppended(highWatermark). */
  | { readonly kind: 'append' }
  /**
   * Truncate the log to `offset`: drop offsets >= it and leader-epoch entries starting at or after it (Kafka's
   * truncateFromEnd), call onTruncated(), then fetch again. `final` is false for KIP-279's intermediate step.
   */
  | { readonly kind: 'truncate'; readonly offset: number; readonly belowHighWatermark: boolean; readonly final: boolean }
  /** Drop the whole log and restart it empty at `startOffset` (the leader's log start), call onTruncated(). */
  | { readonly kind: 'truncate-fully'; readonly startOffset: number }
  /** Nothing to change locally (the log is within the leader's range after all): fetch again. */
  | { readonly kind: 'none' }
  /** This follower's view of the partition is stale or the leader is gone: wait for metadata. */
  | { readonly kind: 'await-metadata'; readonly errorCode: number }
  /** Transient: back off and fetch again. */
  | { readonly kind: 'retry'; readonly errorCode: number };

export class FollowerPartitionState {
  readonly localReplicaId: number;
  readonly leaderId: number;
  readonly leaderEpoch: number;
  readonly #localBrokerEpoch: number;
  readonly #log: ReplicaLogView;
  #highWatermark: number;

  constructor(options: FollowerPartitionOptions) {
    assert(options.leaderId !== options.localReplicaId, 'a follower cannot follow itself');
    this.localReplicaId = options.localReplicaId;
    this.leaderId = options.leaderId;
    this.leaderEpoch = options.leaderEpoch;
    this.#localBrokerEpoch = options.localBrokerEpoch ?? -1;
    this.#log = options.log;
    this.#highWatermark = Math.min(options.highWatermark, options.log.logEndOffset());
  }

  get highWatermark(): number {
    return this.#highWatermark;
  }

  fetchRequest(): FollowerFetchRequest {
    const log = this.#log;
    return {
      replicaId: this.localReplicaId,
      replicaEpoch: this.#localBrokerEpoch,
      currentLeaderEpoch: this.leaderEpoch,
      fetchOffset: log.logEndOffset(),
      lastFetchedEpoch: log.logEndOffset() > log.logStartOffset() ? log.latestEpoch() : -1,
      logStartOffset: log.logStartOffset(),
      flushedOffset: log.flushedOffset(),
    };
  }

  /** Decide what the leader's answer means for the local log. */
  onFetchResponse(response: LeaderFetchResponse): FollowerAction {
    switch (response.errorCode) {
      case ErrorCode.NONE:
        if (response.divergingEpoch != null) return this.onDivergingEpoch(response.divergingEpoch);
        return { kind: 'append' };
      case ErrorCode.OFFSET_OUT_OF_RANGE:
        assert(response.logEndOffset !== undefined, 'OFFSET_OUT_OF_RANGE handling needs the leader log end offset');
        return this.onOffsetOutOfRange(response.logStartOffset, response.logEndOffset);
      case ErrorCode.FENCED_LEADER_EPOCH:
      case ErrorCode.NOT_LEADER_OR_FOLLOWER:
      case ErrorCode.UNKNOWN_TOPIC_OR_PARTITION:
        return { kind: 'await-metadata', errorCode: response.errorCode };
      default:
        // UNKNOWN_LEADER_EPOCH (the leader has not heard of its own election yet) and transport errors.
        return { kind: 'retry', errorCode: response.errorCode };
    }
  }

  /**
   * KIP-279: the leader says our log diverges at (epoch, endOffset). Find our own end for that epoch:
   * - we know that very epoch: truncate to min(its end here, the leader's end) — final;
   * - we know only older epochs: truncate to the end of the largest one (intermediate) and fetch again with it as
   *   LastFetchedEpoch; the leader answers for that older epoch;
   * - the leader knows no epoch that old (endOffset -1): fall back to the high watermark (Kafka's pre-KIP-101 rule).
   * Never past our own log end.
   */
  onDivergingEpoch(diverging: EpochEndOffset): FollowerAction {
    const logEnd = this.#log.logEndOffset();
    let offset: number;
    let final = true;
    if (diverging.endOffset === UNDEFINED_EPOCH_OFFSET) {
      offset = this.#highWatermark;
    } else {
      const own = this.#log.endOffsetForEpoch(diverging.epoch);
      if (own.endOffset === UNDEFINED_EPOCH_OFFSET) {
        offset = diverging.endOffset;
      } else if (own.epoch !== diverging.epoch) {
        offset = own.endOffset;
        final = false;
      } else {
        offset = Math.min(own.endOffset, diverging.endOffset);
      }
    }
    offset = Math.max(this.#log.logStartOffset(), Math.min(offset, logEnd));
    // Even at the log end this is a truncation: it drops leader-epoch entries that start there (an epoch this replica
    // led without writing), so the next fetch carries an older LastFetchedEpoch instead of looping.
    return { kind: 'truncate', offset, belowHighWatermark: offset < this.#highWatermark, final };
  }

  /**
   * Our fetch offset is outside the leader's log (Kafka's fetchOffsetAndTruncate): past its end means we hold records
   * it does not (an unclean election, or lost unflushed data): truncate to its end; before its start means it
   * deleted what we need next: drop our log and restart at its log start.
   */
  onOffsetOutOfRange(leaderLogStartOffset: number, leaderLogEndOffset: number): FollowerAction {
    const logEnd = this.#log.logEndOffset();
    if (leaderLogEndOffset < logEnd) {
      return { kind: 'truncate', offset: Math.max(leaderLogEndOffset, this.#log.logStartOffset()), belowHighWatermark: leaderLogEndOffset < this.#highWatermark, final: true };
    }
    if (leaderLogStartOffset > logEnd) return { kind: 'truncate-fully', startOffset: leaderLogStartOffset };
    return { kind: 'none' };
  }

  /** After the broker truncated the log: the high watermark never exceeds the log end. */
  onTruncated(): void {
    this.#highWatermark = Math.min(this.#highWatermark, this.#log.logEndOffset());
  }

  /**
   * After appending a response's records: the follower's high watermark is the leader's, capped by what it holds.
   * It does not move back while following one leader epoch. Returns whether it moved.
   */
  onRecordsAppended(leaderHighWatermark: number): boolean {
    const next = Math.min(leaderHighWatermark, this.#log.logEndOffset());
    if (next <= this.#highWatermark) return false;
    this.#highWatermark = next;
    return true;
  }
}
