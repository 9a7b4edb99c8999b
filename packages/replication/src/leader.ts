/**
 * LeaderPartitionState: the partition leader's replication rules for one partition in one leader epoch (Kafka's
 * Partition + Replica state on the leader, `maybeIncrementLeaderHW`, `maybeShrinkIsr`/`maybeExpandIsr`, the pending
 * ISR state of KIP-497/AlterPartition, and `checkEnoughReplicasReachOffset`).
 *
 * Pure and synchronous: time comes in as `nowMs`, the log's leader-epoch cache as an injected `endOffsetForEpoch`,
 * and every effect goes out as a return value (what to answer a fetch, which ISR change to send to the controller).
 * Create one when this broker becomes leader of an epoch; drop it (and fail the parked acks=-1 produce requests with
 * NOT_LEADER_OR_FOLLOWER) when it stops being leader of that epoch.
 *
 * State changes, all here:
 *   committed ISR  --maybeShrinkIsr/maybeExpandIsr-->  pending change (one in flight, Kafka's PendingPartitionChange)
 *   pending change --onAlterPartitionResult(NONE, newer partition epoch)-->  committed (new ISR, partition epoch)
 *   pending change --OPERATION_NOT_ATTEMPTED / INELIGIBLE_REPLICA-->  committed (unchanged: the controller says it
 *                    did not apply the change)
 *   pending change --FENCED_LEADER_EPOCH / INVALID_UPDATE_VERSION / ...-->  stays pending until the metadata log
 *                    tells the outcome (onPartitionMetadata with a newer partition epoch)
 *   any            --onPartitionMetadata(newer partition epoch, same leader epoch)-->  committed (as the controller says)
 * While a change is pending the high watermark is computed over the *maximal* ISR (committed ∪ proposed), so it never
 * advances on a shrink the controller has not committed, nor leaves out a replica it may already have added.
 */
import { assert } from '@tributary/common';
import { ErrorCode } from './errors.ts';
import type { Durability, EpochEndOffset } from './types.ts';

/** How many past fetches per follower the caught-up rule remembers (Kafka remembers one: the previous fetch). */
export const CAUGHT_UP_FETCH_HISTORY = 4;

export interface LeaderPartitionOptions {
  readonly localReplicaId: number;
  /** This broker's epoch (registration), sent with the ISR in AlterPartition (KIP-903); -1 skips the check. */
  readonly localBrokerEpoch?: number;
  readonly leaderEpoch: number;
  readonly partitionEpoch: number;
  readonly replicas: readonly number[];
  /** The committed ISR; must contain this replica. */
  readonly isr: readonly number[];
  readonly minInsyncReplicas: number;
  readonly durability: Durability;
  readonly logStartOffset: number;
  readonly logEndOffset: number;
  readonly flushedOffset: number;
  /** The high watermark the log had (checkpoint, or the one it had as a follower). */
  readonly highWatermark: number;
  /** The log's leader-epoch cache (Kafka's `endOffsetFor`); it must already hold this leader epoch's entry. */
  readonly endOffsetForEpoch: (epoch: number) => EpochEndOffset;
  readonly nowMs: number;
}

/** What a follower's Fetch carries for this partition (FetchRequest: ReplicaState, FetchPartition). */
export interface FollowerFetch {
  /** ReplicaState.ReplicaEpoch: the follower's broker epoch, -1 if not sent. */
  readonly replicaEpoch?: number;
  /** FetchPartition.CurrentLeaderEpoch, -1 if not sent (old versions): no fencing check then. */
  readonly currentLeaderEpoch: number;
  /** FetchPartition.FetchOffset: also the follower's log end offset. */
  readonly fetchOffset: number;
  /** FetchPartition.LastFetchedEpoch, -1 if none (empty log, old versions): no divergence check then. */
  readonly lastFetchedEpoch: number;
  /** The follower's durable end (fsync mode needs it; ours, not a Kafka field). Clamped to fetchOffset. */
  readonly flushedOffset?: number;
  readonly nowMs: number;
}

interface LogPosition {
  readonly highWatermark: number;
  readonly logStartOffset: number;
  readonly logEndOffset: number;
}

/** What to answer a follower's fetch for this partition. */
export type FollowerFetchDecision =
  /** Answer with records read from `fetchOffset` (possibly none). */
  | (LogPosition & { readonly kind: 'read'; readonly fetchOffset: number; readonly highWatermarkChanged: boolean })
  /** Answer with DivergingEpoch and no records: the follower truncates (KIP-320/595 fetch-based truncation). */
  | (LogPosition & { readonly kind: 'diverging'; readonly divergingEpoch: EpochEndOffset })
  /** Answer with this partition error; for OFFSET_OUT_OF_RANGE the log bounds let the follower reset. */
  | (LogPosition & { readonly kind: 'error'; readonly errorCode: number });

export interface IsrMemberWithEpoch {
  readonly brokerId: number;
  readonly brokerEpoch: number;
}

/** An AlterPartition partition entry to send (and resend unchanged on retry). */
export interface IsrChangeProposal {
  /** Local identity of this proposal, to match the result; not on the wire. */
  readonly proposalId: number;
  readonly kind: 'shrink' | 'expand';
  readonly leaderEpoch: number;
  /** The partition epoch the change is based on (AlterPartition's PartitionEpoch). */
  readonly partitionEpoch: number;
  readonly newIsr: readonly number[];
  readonly newIsrWithEpochs: readonly IsrMemberWithEpoch[];
}

/** The partition entry of an AlterPartition response. */
export interface AlterPartitionResult {
  readonly errorCode: number;
  readonly leaderEpoch: number;
  readonly isr: readonly number[];
  readonly partitionEpoch: number;
}

export interface AlterPartitionOutcome {
  /**
   * committed: the change took effect. reset: the controller did not apply it; back to the committed ISR (a new
   * change may be proposed). retry: resend `pendingIsrChange` unchanged. await-metadata: keep the change pending until
   * the metadata log shows the partition's state (onPartitionMetadata). ignored: not about the pending change.
   */
  readonly action: 'committed' | 'reset' | 'retry' | 'await-metadata' | 'ignored';
  readonly isrChanged: boolean;
  readonly highWatermarkChanged: boolean;
}

/** The partition's committed state as the metadata log has it (PartitionRecord / PartitionChangeRecord). */
export interface PartitionMetadata {
  readonly leaderId: number;
  readonly leaderEpoch: number;
  readonly partitionEpoch: number;
  readonly isr: readonly number[];
}

export interface PartitionMetadataOutcome {
  /** not-leader: this state is over (another leader or a newer leader epoch); the broker drops it. */
  readonly action: 'adopted' | 'ignored' | 'not-leader';
  readonly isrChanged: boolean;
  readonly highWatermarkChanged: boolean;
}

export type AcksAllStatus =
  | { readonly status: 'pending' }
  | { readonly status: 'done' }
  | { readonly status: 'failed'; readonly errorCode: number };

/** What the leader knows of one follower (Kafka's ReplicaState), reset when the follower's broker epoch changes. */
export interface FollowerReplicaState {
  readonly brokerEpoch: number;
  /** From the last valid fetch in this leader epoch; -1 until then. */
  readonly logEndOffset: number;
  /** The follower's reported durable end, <= logEndOffset; -1 until reported. */
  readonly flushedOffset: number;
  readonly lastCaughtUpTimeMs: number;
  readonly lastFetchTimeMs: number;
}

interface MutableReplicaState {
  brokerEpoch: number;
  logEndOffset: number;
  flushedOffset: number;
  lastCaughtUpTimeMs: number;
  lastFetchTimeMs: number;
  /** (fetch time, leader log end then), newest last, at most CAUGHT_UP_FETCH_HISTORY entries. */
  fetches: { timeMs: number; leaderLogEndOffset: number }[];
}

function isOffset(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}

export class LeaderPartitionState {
  readonly localReplicaId: number;
  readonly leaderEpoch: number;
  readonly durability: Durability;
  readonly minInsyncReplicas: number;
  /** The log end offset when this epoch began: a follower rejoins the ISR only once it reached it (Kafka). */
  readonly leaderEpochStartOffset: number;
  readonly #localBrokerEpoch: number;
  readonly #endOffsetForEpoch: (epoch: number) => EpochEndOffset;
  #replicas: readonly number[];
  #isr: readonly number[];
  #partitionEpoch: number;
  #pending: IsrChangeProposal | null = null;
  #nextProposalId = 1;
  #logStartOffset: number;
  #logEndOffset: number;
  #flushedOffset: number;
  #highWatermark: number;
  readonly #followers = new Map<number, MutableReplicaState>();

  constructor(options: LeaderPartitionOptions) {
    const o = options;
    assert(o.replicas.includes(o.localReplicaId), () => `leader ${o.localReplicaId} is not a replica of the partition (replicas ${o.replicas.join(',')})`);
    assert(new Set(o.replicas).size === o.replicas.length, () => `duplicate replicas ${o.replicas.join(',')}`);
    assert(o.isr.includes(o.localReplicaId), () => `leader ${o.localReplicaId} is not in the ISR ${o.isr.join(',')}: the controller elects only from the ISR`);
    assert(o.isr.every((r) => o.replicas.includes(r)), () => `ISR ${o.isr.join(',')} is not a subset of replicas ${o.replicas.join(',')}`);
    assert(Number.isInteger(o.minInsyncReplicas) && o.minInsyncReplicas >= 1, () => `min.insync.replicas must be >= 1, got ${o.minInsyncReplicas}`);
    assert(isOffset(o.logStartOffset) && o.logStartOffset <= o.logEndOffset, 'leader: log start offset must be within the log');
    assert(isOffset(o.flushedOffset) && o.flushedOffset <= o.logEndOffset, 'leader: flushed offset must be within the log');
    assert(isOffset(o.highWatermark), 'leader: high watermark must be an offset');
    this.localReplicaId = o.localReplicaId;
    this.leaderEpoch = o.leaderEpoch;
    this.durability = o.durability;
    this.minInsyncReplicas = o.minInsyncReplicas;
    this.leaderEpochStartOffset = o.logEndOffset;
    this.#localBrokerEpoch = o.localBrokerEpoch ?? -1;
    this.#endOffsetForEpoch = o.endOffsetForEpoch;
    this.#replicas = [...o.replicas];
    this.#isr = [...o.isr];
    this.#partitionEpoch = o.partitionEpoch;
    this.#logStartOffset = o.logStartOffset;
    this.#logEndOffset = o.logEndOffset;
    this.#flushedOffset = o.flushedOffset;
    // A stale checkpoint may exceed what survived; the high watermark never exceeds the log (Kafka clamps too).
    this.#highWatermark = Math.min(o.highWatermark, o.logEndOffset);
    for (const r of o.replicas) if (r !== o.localReplicaId) this.#followers.set(r, this.#freshReplica(r, o.nowMs, -1));
  }

  // ---- status ----

  get partitionEpoch(): number {
    return this.#partitionEpoch;
  }
  /** The committed ISR. */
  get isr(): readonly number[] {
    return this.#isr;
  }
  /** Committed ∪ proposed ISR: what the high watermark waits for. */
  get maximalIsr(): readonly number[] {
    if (this.#pending === null) return this.#isr;
    return [...this.#isr, ...this.#pending.newIsr.filter((r) => !this.#isr.includes(r))];
  }
  get replicas(): readonly number[] {
    return this.#replicas;
  }
  get pendingIsrChange(): IsrChangeProposal | null {
    return this.#pending;
  }
  get highWatermark(): number {
    return this.#highWatermark;
  }
  get logEndOffset(): number {
    return this.#logEndOffset;
  }
  get flushedOffset(): number {
    return this.#flushedOffset;
  }
  get logStartOffset(): number {
    return this.#logStartOffset;
  }
  followerState(replicaId: number): FollowerReplicaState | undefined {
    const s = this.#followers.get(replicaId);
    if (s === undefined) return undefined;
    return { brokerEpoch: s.brokerEpoch, logEndOffset: s.logEndOffset, flushedOffset: s.flushedOffset, lastCaughtUpTimeMs: s.lastCaughtUpTimeMs, lastFetchTimeMs: s.lastFetchTimeMs };
  }

  // ---- the local log ----

  /** After records were appended to the leader's log. Returns whether the high watermark moved. */
  onLocalAppend(logEndOffset: number): boolean {
    assert(isOffset(logEndOffset) && logEndOffset >= this.#logEndOffset, () => `leader log end went back from ${this.#logEndOffset} to ${logEndOffset}: a leader never truncates`);
    this.#logEndOffset = logEndOffset;
    return this.#maybeAdvanceHighWatermark();
  }

  /** After an fsync completed: everything below `flushedOffset` is durable. Returns whether the high watermark moved. */
  onLocalFlush(flushedOffset: number): boolean {
    assert(isOffset(flushedOffset) && flushedOffset <= this.#logEndOffset, () => `leader flushed offset ${flushedOffset} beyond log end ${this.#logEndOffset}`);
    if (flushedOffset <= this.#flushedOffset) return false;
    this.#flushedOffset = flushedOffset;
    return this.#maybeAdvanceHighWatermark();
  }

  /** Retention or DeleteRecords moved the log start. */
  onLogStartOffsetChange(logStartOffset: number): void {
    assert(isOffset(logStartOffset) && logStartOffset <= this.#logEndOffset, () => `log start ${logStartOffset} beyond log end ${this.#logEndOffset}`);
    this.#logStartOffset = Math.max(this.#logStartOffset, logStartOffset);
  }

  // ---- followers ----

  /**
   * A follower's Fetch for this partition, validated in Kafka's order: leader epoch fencing, replica membership,
   * divergence against the leader-epoch cache (when LastFetchedEpoch is sent), then the offset range. Only a valid
   * fetch updates the follower's state (its fetch offset is its log end offset) and possibly the high watermark.
   */
  onFollowerFetch(replicaId: number, fetch: FollowerFetch): FollowerFetchDecision {
    const position = (): LogPosition => ({ highWatermark: this.#highWatermark, logStartOffset: this.#logStartOffset, logEndOffset: this.#logEndOffset });
    const fail = (errorCode: number): FollowerFetchDecision => ({ kind: 'error', errorCode, ...position() });
    if (fetch.currentLeaderEpoch !== -1) {
      if (fetch.currentLeaderEpoch < this.leaderEpoch) return fail(ErrorCode.FENCED_LEADER_EPOCH);
      if (fetch.currentLeaderEpoch > this.leaderEpoch) return fail(ErrorCode.UNKNOWN_LEADER_EPOCH);
    }
    const replica = this.#followers.get(replicaId);
    if (replica === undefined) return fail(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    const replicaEpoch = fetch.replicaEpoch ?? -1;
    // A fetch from an earlier incarnation of the follower's broker (it restarted since): its offsets mean nothing now.
    if (replicaEpoch !== -1 && replicaEpoch < replica.brokerEpoch) return fail(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    if (!isOffset(fetch.fetchOffset)) return fail(ErrorCode.OFFSET_OUT_OF_RANGE);

    if (fetch.lastFetchedEpoch !== -1) {
      const epochEnd = this.#endOffsetForEpoch(fetch.lastFetchedEpoch);
      if (epochEnd.epoch < fetch.lastFetchedEpoch || epochEnd.endOffset < fetch.fetchOffset) {
        return { kind: 'diverging', divergingEpoch: { epoch: epochEnd.epoch, endOffset: epochEnd.endOffset }, ...position() };
      }
    }
    if (fetch.fetchOffset < this.#logStartOffset || fetch.fetchOffset > this.#logEndOffset) return fail(ErrorCode.OFFSET_OUT_OF_RANGE);

    const state = replicaEpoch > replica.brokerEpoch ? this.#freshReplica(replicaId, fetch.nowMs, replicaEpoch) : replica;
    this.#followers.set(replicaId, state);
    state.logEndOffset = fetch.fetchOffset;
    state.flushedOffset = fetch.flushedOffset === undefined ? -1 : Math.min(Math.max(fetch.flushedOffset, -1), fetch.fetchOffset);
    state.lastFetchTimeMs = fetch.nowMs;
    // Kafka's caught-up rule, over a few fetches instead of one: the follower has now reached what the leader had at
    // the time of an earlier fetch, so it was at most (now - then) behind. In fsync mode the durable end counts.
    state.fetches.push({ timeMs: fetch.nowMs, leaderLogEndOffset: this.#logEndOffset });
    if (state.fetches.length > CAUGHT_UP_FETCH_HISTORY) state.fetches.shift();
    const progress = this.#progressOf(state);
    for (const f of state.fetches) {
      if (progress >= f.leaderLogEndOffset) state.lastCaughtUpTimeMs = Math.max(state.lastCaughtUpTimeMs, f.timeMs);
    }
    const highWatermarkChanged = this.#maybeAdvanceHighWatermark();
    return { kind: 'read', fetchOffset: fetch.fetchOffset, highWatermarkChanged, ...position() };
  }

  /**
   * OffsetForLeaderEpoch on the leader (Kafka's `lastOffsetForLeaderEpoch`): the same fencing as a fetch, then the
   * largest epoch <= `leaderEpoch` this log knows and where it ends (both -1 for an epoch newer than ours).
   */
  offsetForLeaderEpoch(currentLeaderEpoch: number, leaderEpoch: number): { readonly errorCode: number; readonly leaderEpoch: number; readonly endOffset: number } {
    if (currentLeaderEpoch !== -1 && currentLeaderEpoch < this.leaderEpoch) return { errorCode: ErrorCode.FENCED_LEADER_EPOCH, leaderEpoch: -1, endOffset: -1 };
    if (currentLeaderEpoch > this.leaderEpoch) return { errorCode: ErrorCode.UNKNOWN_LEADER_EPOCH, leaderEpoch: -1, endOffset: -1 };
    const e = this.#endOffsetForEpoch(leaderEpoch);
    return { errorCode: ErrorCode.NONE, leaderEpoch: e.epoch, endOffset: e.endOffset };
  }

  // ---- ISR changes ----

  /**
   * ISR members (other than the leader) that have not caught up with the leader for more than replicaLagTimeMaxMs
   * (replica.lag.time.max.ms, default 30 s) leave the ISR. Returns the change to send, or null (nothing to do, or a
   * change is already in flight).
   */
  maybeShrinkIsr(nowMs: number, replicaLagTimeMaxMs: number): IsrChangeProposal | null {
    if (this.#pending !== null) return null;
    const outOfSync = this.#isr.filter((r) => r !== this.localReplicaId && !this.#isCaughtUp(this.#followers.get(r)!, nowMs, replicaLagTimeMaxMs));
    if (outOfSync.length === 0) return null;
    return this.#propose('shrink', this.#isr.filter((r) => !outOfSync.includes(r)));
  }

  /**
   * Replicas outside the ISR rejoin once their log reached the high watermark (their durable end, in fsync mode) and
   * the start of this leader epoch (so they have truncated to this leader's log). `isEligible` is the metadata's word
   * on each broker: a fenced one or one in controlled shutdown is not proposed (KIP-841; the controller would refuse
   * it with INELIGIBLE_REPLICA, and a stopping broker that still fetches would be proposed again on every fetch).
   * Returns the change or null.
   */
  maybeExpandIsr(_nowMs: number, isEligible: (replicaId: number) => boolean = () => true): IsrChangeProposal | null {
    if (this.#pending !== null) return null;
    const joining = this.#replicas.filter((r) => {
      if (this.#isr.includes(r) || !isEligible(r)) return false;
      const s = this.#followers.get(r)!;
      return s.logEndOffset >= 0 && s.logEndOffset >= this.leaderEpochStartOffset && this.#progressOf(s) >= this.#highWatermark;
    });
    if (joining.length === 0) return null;
    return this.#propose('expand', [...this.#isr, ...joining]);
  }

  /** The controller's answer to `proposal` (the partition entry of the AlterPartition response, or a transport error). */
  onAlterPartitionResult(proposalId: number, result: AlterPartitionResult): AlterPartitionOutcome {
    const none = (action: AlterPartitionOutcome['action']): AlterPartitionOutcome => ({ action, isrChanged: false, highWatermarkChanged: false });
    if (this.#pending === null || this.#pending.proposalId !== proposalId) return none('ignored');
    switch (result.errorCode) {
      case ErrorCode.NONE: {
        // Kafka ignores a success for another leader epoch or an older partition state; the metadata log will tell.
        if (result.leaderEpoch !== this.leaderEpoch || result.partitionEpoch <= this.#partitionEpoch) return none('await-metadata');
        const isrChanged = this.#adopt(result.isr, result.partitionEpoch);
        return { action: 'committed', isrChanged, highWatermarkChanged: this.#maybeAdvanceHighWatermark() };
      }
      case ErrorCode.OPERATION_NOT_ATTEMPTED:
      case ErrorCode.INELIGIBLE_REPLICA:
        // The controller says the change was not applied, by it or any other controller: safe to drop it.
        this.#pending = null;
        return { action: 'reset', isrChanged: false, highWatermarkChanged: this.#maybeAdvanceHighWatermark() };
      case ErrorCode.FENCED_LEADER_EPOCH:
      case ErrorCode.INVALID_UPDATE_VERSION:
      case ErrorCode.UNKNOWN_TOPIC_OR_PARTITION:
      case ErrorCode.INVALID_REQUEST:
      case ErrorCode.STALE_BROKER_EPOCH:
        // The change may or may not have been applied earlier (a lost response to a retried request): only the
        // metadata log can say, so the maximal ISR stays in force until it does.
        return none('await-metadata');
      default:
        return none('retry');
    }
  }

  /** The partition's committed state from the metadata log (a PartitionChangeRecord reached this broker). */
  onPartitionMetadata(update: PartitionMetadata): PartitionMetadataOutcome {
    const none = (action: PartitionMetadataOutcome['action']): PartitionMetadataOutcome => ({ action, isrChanged: false, highWatermarkChanged: false });
    if (update.leaderEpoch < this.leaderEpoch) return none('ignored');
    if (update.leaderEpoch > this.leaderEpoch || update.leaderId !== this.localReplicaId) return none('not-leader');
    if (update.partitionEpoch <= this.#partitionEpoch) return none('ignored');
    const isrChanged = this.#adopt(update.isr, update.partitionEpoch);
    return { action: 'adopted', isrChanged, highWatermarkChanged: this.#maybeAdvanceHighWatermark() };
  }

  // ---- produce ----

  /** Before appending a produce request: acks=-1 needs at least min.insync.replicas in the committed ISR. */
  checkProduce(acks: number): number {
    if (acks === -1 && this.#isr.length < this.minInsyncReplicas) return ErrorCode.NOT_ENOUGH_REPLICAS;
    return ErrorCode.NONE;
  }

  /**
   * An acks=-1 produce whose records end (exclusive) at `requiredEndOffset`: done once the high watermark covers it;
   * failed (NOT_ENOUGH_REPLICAS_AFTER_APPEND, as Kafka) if the committed ISR has shrunk below min.insync.replicas
   * before that; else pending (park it in the purgatory and ask again when the HW or the ISR changes).
   */
  acksAllStatus(requiredEndOffset: number): AcksAllStatus {
    assert(requiredEndOffset <= this.#logEndOffset, () => `acks=-1 wait for end offset ${requiredEndOffset} beyond the leader log end ${this.#logEndOffset}`);
    if (this.#highWatermark >= requiredEndOffset) return { status: 'done' };
    if (this.#isr.length < this.minInsyncReplicas) return { status: 'failed', errorCode: ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND };
    return { status: 'pending' };
  }

  // ---- internals ----

  #freshReplica(replicaId: number, nowMs: number, brokerEpoch: number): MutableReplicaState {
    // Kafka's resetReplicaState on becoming leader: an ISR member counts as caught up now, its log end is unknown.
    const inIsr = this.#isr.includes(replicaId);
    return {
      brokerEpoch,
      logEndOffset: -1,
      flushedOffset: -1,
      lastCaughtUpTimeMs: inIsr ? nowMs : 0,
      lastFetchTimeMs: inIsr ? nowMs : 0,
      fetches: inIsr ? [{ timeMs: nowMs, leaderLogEndOffset: this.#logEndOffset }] : [],
    };
  }

  /** What counts toward the high watermark and being caught up: the durable end in fsync mode, else the log end. */
  #progressOf(s: MutableReplicaState): number {
    return this.durability === 'fsync' ? s.flushedOffset : s.logEndOffset;
  }

  #ownProgress(): number {
    return this.durability === 'fsync' ? this.#flushedOffset : this.#logEndOffset;
  }

  #isCaughtUp(s: MutableReplicaState, nowMs: number, replicaLagTimeMaxMs: number): boolean {
    return this.#progressOf(s) >= this.#logEndOffset || nowMs - s.lastCaughtUpTimeMs <= replicaLagTimeMaxMs;
  }

  #propose(kind: 'shrink' | 'expand', newIsr: readonly number[]): IsrChangeProposal {
    assert(newIsr.includes(this.localReplicaId), 'a proposed ISR must contain the leader');
    const proposal: IsrChangeProposal = {
      proposalId: this.#nextProposalId++,
      kind,
      leaderEpoch: this.leaderEpoch,
      partitionEpoch: this.#partitionEpoch,
      newIsr,
      newIsrWithEpochs: newIsr.map((r) => ({ brokerId: r, brokerEpoch: r === this.localReplicaId ? this.#localBrokerEpoch : this.#followers.get(r)!.brokerEpoch })),
    };
    this.#pending = proposal;
    return proposal;
  }

  #adopt(isr: readonly number[], partitionEpoch: number): boolean {
    assert(isr.includes(this.localReplicaId), () => `committed ISR ${isr.join(',')} leaves out its leader ${this.localReplicaId} in epoch ${this.leaderEpoch}`);
    assert(isr.every((r) => this.#replicas.includes(r)), () => `committed ISR ${isr.join(',')} is not a subset of replicas ${this.#replicas.join(',')}`);
    const changed = isr.length !== this.#isr.length || isr.some((r) => !this.#isr.includes(r));
    this.#isr = [...isr];
    this.#partitionEpoch = partitionEpoch;
    this.#pending = null;
    return changed;
  }

  /**
   * The high watermark is the minimum progress (durable end in fsync mode, log end in lazy mode) over the maximal ISR,
   * leader included. It advances only while the committed ISR has at least min.insync.replicas members (KIP-966), so
   * an acknowledged record is always on that many replicas; it never moves back.
   */
  #maybeAdvanceHighWatermark(): boolean {
    if (this.#isr.length < this.minInsyncReplicas) return false;
    let candidate = this.#ownProgress();
    for (const r of this.maximalIsr) {
      if (r === this.localReplicaId) continue;
      candidate = Math.min(candidate, this.#progressOf(this.#followers.get(r)!));
    }
    if (candidate <= this.#highWatermark) return false;
    assert(candidate <= this.#logEndOffset, 'high watermark beyond the leader log end');
    this.#highWatermark = candidate;
    return true;
  }
}
