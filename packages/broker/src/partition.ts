/**
 * One partition replica hosted by this broker: its log, its place in the cluster as the committed metadata says
 * (leader, epochs, replicas, ISR), and its replication role. As leader it holds a LeaderPartitionState (the pure
 * rules of @tributary/replication: follower progress, high watermark, ISR changes); as follower a
 * FollowerPartitionState (what to fetch, when to truncate). Only the leader serves clients.
 *
 * Durability: unless flush.messages / log.flush.interval.messages is set (Kafka's lazy mode, acknowledged from the
 * page cache), the high watermark is the minimum *flushed* offset over the ISR, so an acks=-1 produce is answered only
 * when every ISR member has the records on disk. The leader flushes with group commit: one fsync covers every append
 * that arrived while the previous one ran.
 */
import { assert } from '@tributary/common';
import { ErrorCode } from '@tributary/protocol';
import { FollowerPartitionState, LeaderPartitionState, type Durability, type ReplicaLogView } from '@tributary/replication';
import type { PartitionLog } from '@tributary/storage';
import type { ResolvedTopicConfig } from './config/topic-config.ts';

export interface PartitionAssignment {
  readonly leaderId: number;
  readonly leaderEpoch: number;
  readonly partitionEpoch: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
}

interface AcksWaiter {
  requiredEndOffset: number;
  resolve: (errorCode: number) => void;
}

/** acks=-1 produce requests parked per partition at most; beyond, they fail at once (bounded memory). */
export const MAX_ACKS_WAITERS = 10_000;

export class Partition {
  readonly topic: string;
  readonly topicId: string;
  readonly index: number;
  readonly log: PartitionLog;
  readonly key: string;
  readonly #nodeId: number;
  config: ResolvedTopicConfig;
  leaderId = -1;
  leaderEpoch = 0;
  partitionEpoch = 0;
  replicas: readonly number[] = [];
  isr: readonly number[] = [];
  leaderState: LeaderPartitionState | null = null;
  followerState: FollowerPartitionState | null = null;
  /** Called when the high watermark moves (wakes consumer fetches) or the role ends. */
  onHighWatermark: () => void = () => {};
  /**
   * The high watermark while neither leader nor follower (between roles): what the last role knew, or at open what the
   * high-watermark checkpoint recorded (restoreHighWatermark).
   */
  #lastHighWatermark = 0;
  /** Where the leader epoch this broker leads (or last led) began in the log: its log end when it became leader. */
  #leaderEpochStart = { epoch: -1, offset: 0 };
  readonly #acksWaiters: AcksWaiter[] = [];
  #flushing: Promise<void> | null = null;
  #flushAgain = false;

  constructor(topic: string, topicId: string, index: number, log: PartitionLog, config: ResolvedTopicConfig, nodeId: number) {
    this.topic = topic;
    this.topicId = topicId;
    this.index = index;
    this.log = log;
    this.config = config;
    this.#nodeId = nodeId;
    this.key = partitionKey(topic, index);
  }

  get isLeader(): boolean {
    return this.leaderId === this.#nodeId;
  }

  /** Serving as leader: the metadata names this broker and the leader state for that epoch is in place. */
  get isServingLeader(): boolean {
    return this.isLeader && this.leaderState !== null && this.leaderState.leaderEpoch === this.leaderEpoch;
  }

  get durability(): Durability {
    return this.config.flushMessages >= Number.MAX_SAFE_INTEGER ? 'fsync' : 'lazy';
  }

  assign(a: PartitionAssignment): void {
    this.leaderId = a.leaderId;
    this.leaderEpoch = a.leaderEpoch;
    this.partitionEpoch = a.partitionEpoch;
    this.replicas = a.replicas;
    this.isr = a.isr;
  }

  /**
   * At open, before any role: the high watermark the checkpoint recorded, capped at the recovered log end (a stale or
   * damaged file never raises it above what the log holds).
   */
  restoreHighWatermark(checkpointed: number): void {
    assert(this.leaderState === null && this.followerState === null, () => `${this.topic}-${this.index}: the high watermark is restored only before the partition takes a role`);
    assert(Number.isSafeInteger(checkpointed) && checkpointed >= 0, () => `${this.topic}-${this.index}: checkpointed high watermark ${checkpointed} is not an offset`);
    this.#lastHighWatermark = Math.min(checkpointed, this.log.logEndOffset);
  }

  /**
   * False while this broker leads the partition with a high watermark still below the offset its leader epoch began at
   * (after a restart without a usable checkpoint, or an election of a follower that had not learnt the latest one): an
   * offset answered now could be lower than one an earlier leader already gave out. It turns true once the in-sync
   * followers have fetched. Kafka (KIP-207) answers ListOffsets with OFFSET_NOT_AVAILABLE meanwhile.
   */
  get highWatermarkEstablished(): boolean {
    const state = this.leaderState;
    return state === null || state.highWatermark >= this.#leaderEpochStart.offset;
  }

  get highWatermark(): number {
    if (this.leaderState !== null) return this.leaderState.highWatermark;
    if (this.followerState !== null) return this.followerState.highWatermark;
    return Math.min(this.#lastHighWatermark, this.log.logEndOffset);
  }

  /** No transactions yet, so nothing is ever open: the last stable offset is the high watermark. */
  get lastStableOffset(): number {
    return this.highWatermark;
  }

  get logStartOffset(): number {
    return this.log.logStartOffset;
  }

  // ---- roles ----

  /**
   * Becomes leader of the current leader epoch: the epoch starts at the log end in the epoch cache (so followers'
   * divergence checks see it), then the rules take over with what the log holds and the high watermark known so far.
   */
  async becomeLeader(brokerEpoch: number, nowMs: number, opts: { keepWaiters?: boolean } = {}): Promise<void> {
    const knownHighWatermark = this.highWatermark;
    // A new epoch starts at the log end; the same epoch again (a reassignment's new replica set) keeps its start.
    if (this.#leaderEpochStart.epoch !== this.leaderEpoch) this.#leaderEpochStart = { epoch: this.leaderEpoch, offset: this.log.logEndOffset };
    // Same leader, new replica set (a reassignment): parked acks=-1 produces stay parked for the new state.
    const waiters = opts.keepWaiters === true ? this.#acksWaiters.splice(0) : [];
    this.#endRole(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    this.#acksWaiters.push(...waiters);
    await this.log.assignLeaderEpoch(this.leaderEpoch);
    const log = this.log;
    this.leaderState = new LeaderPartitionState({
      localReplicaId: this.#nodeId,
      localBrokerEpoch: brokerEpoch,
      leaderEpoch: this.leaderEpoch,
      partitionEpoch: this.partitionEpoch,
      replicas: this.replicas,
      isr: this.isr,
      minInsyncReplicas: this.config.minInsyncReplicas,
      durability: this.durability,
      logStartOffset: log.logStartOffset,
      logEndOffset: log.logEndOffset,
      // Reported just below, so the rules compute the high watermark from it.
      flushedOffset: log.logStartOffset,
      highWatermark: Math.min(knownHighWatermark, log.logEndOffset),
      endOffsetForEpoch: (epoch) => log.endOffsetForEpoch(epoch),
      nowMs,
    });
    // Everything recovered at open is on disk; a leader alone in the ISR has its high watermark at once.
    this.leaderState.onLocalFlush(Math.min(log.flushedOffset, log.logEndOffset));
    this.onHighWatermark();
  }

  becomeFollower(brokerEpoch: number): void {
    const knownHighWatermark = this.highWatermark;
    this.#endRole(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    this.followerState = new FollowerPartitionState({
      localReplicaId: this.#nodeId,
      localBrokerEpoch: brokerEpoch,
      leaderId: this.leaderId,
      leaderEpoch: this.leaderEpoch,
      log: logView(this.log),
      highWatermark: knownHighWatermark,
    });
  }

  /** No role (leaderless, being deleted, broker stopping): parked produce requests fail with `errorCode`. */
  endRole(errorCode: number = ErrorCode.NOT_LEADER_OR_FOLLOWER): void {
    this.#endRole(errorCode);
  }

  #endRole(errorCode: number): void {
    this.#lastHighWatermark = this.highWatermark;
    this.leaderState = null;
    this.followerState = null;
    for (const w of this.#acksWaiters.splice(0)) w.resolve(errorCode);
  }

  // ---- leader: appends, flushes, acks ----

  /** After a leader append: the rules learn the new log end; in fsync mode a group-commit flush follows. */
  onLeaderAppend(): void {
    const state = this.leaderState;
    if (state === null) return;
    if (state.onLocalAppend(this.log.logEndOffset)) this.#highWatermarkMoved();
    if (state.durability === 'fsync') this.flushSoon();
    else if (this.log.flushedOffset > state.flushedOffset) state.onLocalFlush(this.log.flushedOffset);
  }

  /**
   * Group commit: one fsync at a time; appends that arrive meanwhile are covered by the next one. The flushed offset
   * then advances the high watermark (fsync mode) and followers learn it with their next fetch.
   */
  flushSoon(): void {
    if (this.#flushing !== null) {
      this.#flushAgain = true;
      return;
    }
    this.#flushing = (async () => {
      // Bounded: each round flushes everything appended before it started; another round runs only if appends came.
      for (let round = 0; round < 1_000_000; round++) {
        this.#flushAgain = false;
        try {
          await this.log.flush();
        } catch {
          // The log records the failure and refuses writes; parked produces fail on their timeout or role change.
          return;
        }
        const state = this.leaderState;
        if (state !== null) {
          const flushed = Math.min(this.log.flushedOffset, state.logEndOffset);
          if (state.onLocalFlush(flushed)) this.#highWatermarkMoved();
        }
        if (!this.#flushAgain) return;
      }
    })().finally(() => {
      this.#flushing = null;
    });
  }

  /**
   * Waits until the high watermark covers `requiredEndOffset` (an acks=-1 produce), the ISR falls below
   * min.insync.replicas (NOT_ENOUGH_REPLICAS_AFTER_APPEND), the role ends (NOT_LEADER_OR_FOLLOWER) or `timeoutMs`
   * passes (REQUEST_TIMED_OUT). Resolves with the error code (NONE when acknowledged).
   */
  waitForAcksAll(requiredEndOffset: number, timeoutMs: number, after: (ms: number, fn: () => void) => { cancel(): void }): Promise<number> {
    const state = this.leaderState;
    if (state === null) return Promise.resolve(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    const now = state.acksAllStatus(requiredEndOffset);
    if (now.status === 'done') return Promise.resolve(ErrorCode.NONE);
    if (now.status === 'failed') return Promise.resolve(now.errorCode);
    if (this.#acksWaiters.length >= MAX_ACKS_WAITERS) return Promise.resolve(ErrorCode.REQUEST_TIMED_OUT);
    return new Promise<number>((resolve) => {
      let handle: { cancel(): void } | null = null;
      const waiter: AcksWaiter = {
        requiredEndOffset,
        resolve: (code) => {
          handle?.cancel();
          resolve(code);
        },
      };
      this.#acksWaiters.push(waiter);
      handle = after(timeoutMs, () => {
        const i = this.#acksWaiters.indexOf(waiter);
        if (i >= 0) this.#acksWaiters.splice(i, 1);
        resolve(ErrorCode.REQUEST_TIMED_OUT);
      });
    });
  }

  /** The high watermark or the ISR changed: answer parked acks=-1 produces and wake consumer fetches. */
  highWatermarkOrIsrChanged(): void {
    this.#highWatermarkMoved();
  }

  #highWatermarkMoved(): void {
    const state = this.leaderState;
    if (state !== null && this.#acksWaiters.length > 0) {
      // Waiters are in append order; the loop is bounded by their count.
      for (let i = 0; i < this.#acksWaiters.length; ) {
        const w = this.#acksWaiters[i]!;
        const s = state.acksAllStatus(w.requiredEndOffset);
        if (s.status === 'pending') {
          i++;
          continue;
        }
        this.#acksWaiters.splice(i, 1);
        w.resolve(s.status === 'done' ? ErrorCode.NONE : s.errorCode);
      }
    }
    this.onHighWatermark();
  }
}

/** The rules' read-only view of the local log. */
export function logView(log: PartitionLog): ReplicaLogView {
  return {
    logStartOffset: () => log.logStartOffset,
    logEndOffset: () => log.logEndOffset,
    flushedOffset: () => Math.min(log.flushedOffset, log.logEndOffset),
    latestEpoch: () => log.latestEpoch,
    endOffsetForEpoch: (epoch) => log.endOffsetForEpoch(epoch),
  };
}

export function partitionKey(topic: string, index: number): string {
  return `${topic}\u0000${index}`;
}
