/** Shared shapes of the replication rules. Offsets are JavaScript numbers (see docs/CONVENTIONS.md). */

/** -1 on the wire: no epoch (empty log, old request version) or an unknown one. */
export const UNDEFINED_EPOCH = -1;
/** -1 on the wire: no offset known. */
export const UNDEFINED_EPOCH_OFFSET = -1;

/**
 * Kafka's EpochEndOffset (OffsetForLeaderEpoch response, Fetch's DivergingEpoch): the largest epoch <= the requested
 * one that this log knows, and where it ends (the next epoch's start offset, or the log end for the latest epoch).
 * Both -1 when the requested epoch is newer than every epoch in the log.
 */
export interface EpochEndOffset {
  readonly epoch: number;
  readonly endOffset: number;
}

/**
 * When an acks=-1 produce is acknowledged.
 * - `fsync` (our default): every ISR member, leader included, has the record on disk (the high watermark is the
 *   minimum *flushed* offset over the ISR); a power loss of every replica keeps every acknowledged record.
 * - `lazy` (Kafka's default, opt-in here through flush.messages / log.flush.interval.messages): every ISR member has
 *   the record in its log, possibly only in the page cache (minimum log end offset over the ISR).
 */
export type Durability = 'fsync' | 'lazy';

/** A read-only view of a replica's local log that the rules consult (the broker's log and epoch cache answer it). */
export interface ReplicaLogView {
  logStartOffset(): number;
  logEndOffset(): number;
  /** The end of the durable prefix: every offset below it is fsynced. */
  flushedOffset(): number;
  /** The epoch of the latest leader-epoch-cache entry, -1 if none (Kafka's `log.latestEpoch`). */
  latestEpoch(): number;
  /** Kafka's LeaderEpochFileCache.endOffsetFor semantics (see EpochEndOffset). */
  endOffsetForEpoch(epoch: number): EpochEndOffset;
}
