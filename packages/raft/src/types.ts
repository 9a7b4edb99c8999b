/**
 * Value types shared by the core, its log view and the messages.
 *
 * Offsets follow Kafka: an entry's `offset` is its position in the log; "end offsets" are exclusive
 * (the next offset to be written). Epochs start at 1 for the first leader; epoch 0 means "no leader yet",
 * so a log whose last epoch is 0 is empty.
 */

export type EntryKind = 'data' | 'leader-change';

/** One log record. `leader-change` is the control record a new leader writes at the start of its epoch. */
export interface Entry {
  readonly offset: number;
  readonly epoch: number;
  readonly data: Uint8Array;
  readonly kind: EntryKind;
}

export interface OffsetAndEpoch {
  readonly offset: number;
  readonly epoch: number;
}

/** A snapshot is identified like in KIP-630: `endOffset` is exclusive, `epoch` is that of the last contained entry. */
export interface SnapshotId {
  readonly endOffset: number;
  readonly epoch: number;
}

export interface Snapshot {
  readonly id: SnapshotId;
  /** Opaque state-machine bytes. */
  readonly data: Uint8Array;
}

/**
 * What must survive a crash about elections (Kafka's quorum-state file).
 * `votedFor` is the candidate this node voted for in `epoch` (itself when it stood), `leaderId` the known leader.
 */
export interface QuorumStateData {
  readonly epoch: number;
  readonly votedFor: number | null;
  readonly leaderId: number | null;
}

export const RoleKind = {
  unattached: 'unattached',
  voted: 'voted',
  prospective: 'prospective',
  candidate: 'candidate',
  leader: 'leader',
  follower: 'follower',
  resigned: 'resigned',
} as const;
export type RoleKind = (typeof RoleKind)[keyof typeof RoleKind];

export interface RoleInfo {
  readonly kind: RoleKind;
  readonly epoch: number;
  readonly leaderId: number | null;
  readonly votedFor: number | null;
}

export interface RoleChange {
  readonly from: RoleInfo;
  readonly to: RoleInfo;
  /** Why, in a few words (for traces and logs). */
  readonly reason: string;
}

export function sameQuorumState(a: QuorumStateData, b: QuorumStateData): boolean {
  return a.epoch === b.epoch && a.votedFor === b.votedFor && a.leaderId === b.leaderId;
}

/** Compare (epoch, offset) pairs: epoch first, then offset. Negative if a < b. */
export function compareOffsetAndEpoch(a: OffsetAndEpoch, b: OffsetAndEpoch): number {
  if (a.epoch !== b.epoch) return a.epoch - b.epoch;
  return a.offset - b.offset;
}
