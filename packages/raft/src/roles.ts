/**
 * One class per role, behind the small `EpochState` interface (Kafka's UnattachedState, FollowerState, ...).
 * A role object holds only what that role needs (election tallies, replica progress, fetch bookkeeping) and
 * its own deadlines in ticks. Roles never change role themselves: `QuorumState` does, and only it constructs
 * them. Deadlines are absolute tick numbers from the node's tick counter.
 */
import { assert } from '@tributary/common';
import type { OffsetAndEpoch, RoleInfo, RoleKind, SnapshotId } from './types.ts';

export interface EpochState {
  readonly kind: RoleKind;
  readonly epoch: number;
  /** The leader of this epoch, if known. */
  readonly leaderId: number | null;
  /** The candidate this node voted for in this epoch, if any (itself when it stood). */
  readonly votedFor: number | null;
}

export function roleInfo(state: EpochState): RoleInfo {
  return { kind: state.kind, epoch: state.epoch, leaderId: state.leaderId, votedFor: state.votedFor };
}

export function describeRole(info: RoleInfo): string {
  const parts = [`e${info.epoch}`];
  if (info.leaderId !== null) parts.push(`leader=${info.leaderId}`);
  if (info.votedFor !== null) parts.push(`voted=${info.votedFor}`);
  const name = info.kind[0]!.toUpperCase() + info.kind.slice(1);
  return `${name}(${parts.join(' ')})`;
}

/** A node that knows the epoch but neither a leader nor its own vote in it. Voters wait out the election timeout. */
export class UnattachedState implements EpochState {
  readonly kind = 'unattached' as const;
  readonly epoch: number;
  readonly leaderId = null;
  readonly votedFor = null;
  /** Infinity for observers: they never stand. */
  readonly electionDeadline: number;
  /** Observers without a leader ask random voters who leads (Kafka's bootstrap fetch). */
  discovery: RequestSlot = new RequestSlot();

  constructor(epoch: number, electionDeadline: number) {
    this.epoch = epoch;
    this.electionDeadline = electionDeadline;
  }
}

/** Granted a binding vote in `epoch`; waits for that candidate (or any leader) until the election timeout. */
export class VotedState implements EpochState {
  readonly kind = 'voted' as const;
  readonly epoch: number;
  readonly leaderId = null;
  readonly votedFor: number;
  readonly electionDeadline: number;

  constructor(epoch: number, votedFor: number, electionDeadline: number) {
    this.epoch = epoch;
    this.votedFor = votedFor;
    this.electionDeadline = electionDeadline;
  }
}

/** A tally of votes from a fixed voter set; the local node votes for itself. */
export class Election {
  readonly #voters: readonly number[];
  readonly granted = new Set<number>();
  readonly rejected = new Set<number>();

  constructor(voters: readonly number[], localId: number) {
    assert(voters.includes(localId), 'only a voter stands for election');
    this.#voters = voters;
    this.granted.add(localId);
  }

  get majority(): number {
    return Math.floor(this.#voters.length / 2) + 1;
  }

  record(voterId: number, granted: boolean): void {
    if (!this.#voters.includes(voterId)) return;
    // A voter's first answer in this tally counts; a later different answer for the same tally is ignored.
    if (this.granted.has(voterId) || this.rejected.has(voterId)) return;
    (granted ? this.granted : this.rejected).add(voterId);
  }

  isWon(): boolean {
    return this.granted.size >= this.majority;
  }

  isLost(): boolean {
    return this.rejected.size > this.#voters.length - this.majority;
  }

  unrecorded(): number[] {
    return this.#voters.filter((id) => !this.granted.has(id) && !this.rejected.has(id));
  }
}

/** Tracks one outstanding request to a peer, so unanswered requests are retried after the request timeout. */
export class RequestSlot {
  correlationId: number | null = null;
  sentTick = Number.NEGATIVE_INFINITY;

  isWaiting(now: number, timeoutTicks: number): boolean {
    return this.correlationId !== null && now - this.sentTick < timeoutTicks;
  }

  start(correlationId: number, now: number): void {
    this.correlationId = correlationId;
    this.sentTick = now;
  }

  /** True (and clears the slot) when `correlationId` answers the outstanding request. */
  complete(correlationId: number): boolean {
    if (this.correlationId !== correlationId) return false;
    this.correlationId = null;
    return true;
  }
}

/** KIP-996: asks for pre-votes in the current epoch; only a majority of them lets it become a candidate. */
export class ProspectiveState implements EpochState {
  readonly kind = 'prospective' as const;
  readonly epoch: number;
  /** Retained from the state it left, so losing the pre-vote returns there and it never votes twice. */
  readonly leaderId: number | null;
  readonly votedFor: number | null;
  readonly electionDeadline: number;
  readonly election: Election;
  readonly requests = new Map<number, RequestSlot>();

  constructor(epoch: number, leaderId: number | null, votedFor: number | null, election: Election, electionDeadline: number) {
    this.epoch = epoch;
    this.leaderId = leaderId;
    this.votedFor = votedFor;
    this.election = election;
    this.electionDeadline = electionDeadline;
  }
}

export class CandidateState implements EpochState {
  readonly kind = 'candidate' as const;
  readonly epoch: number;
  readonly leaderId = null;
  readonly votedFor: number;
  readonly electionDeadline: number;
  readonly election: Election;
  readonly requests = new Map<number, RequestSlot>();

  constructor(epoch: number, localId: number, election: Election, electionDeadline: number) {
    this.epoch = epoch;
    this.votedFor = localId;
    this.election = election;
    this.electionDeadline = electionDeadline;
  }
}

/** The leader's view of one replica (voter or observer), from the fetches it receives. */
export class ReplicaProgress {
  readonly nodeId: number;
  /** The replica's log end offset as of its last *valid* fetch in this epoch; null until then. */
  endOffset: number | null = null;
  lastFetchTick: number | null = null;
  /** Has the replica acknowledged BeginQuorumEpoch or fetched in this epoch? Then stop re-announcing. */
  knowsLeader = false;
  readonly beginEpoch = new RequestSlot();

  constructor(nodeId: number) {
    this.nodeId = nodeId;
  }
}

export class LeaderState implements EpochState {
  readonly kind = 'leader' as const;
  readonly epoch: number;
  readonly leaderId: number;
  readonly votedFor: number;
  /** Offset of this epoch's leader-change record; the high watermark must pass it before it moves. */
  readonly epochStartOffset: number;
  readonly voters = new Map<number, ReplicaProgress>();
  /** Bounded by maxObservers; the least recently fetching observer is evicted. */
  readonly observers = new Map<number, ReplicaProgress>();
  /** Check-quorum: voters that fetched since the window started; a majority (with us) must, before the deadline. */
  readonly fetchedVoters = new Set<number>();
  checkQuorumDeadline: number;

  constructor(epoch: number, localId: number, voters: readonly number[], epochStartOffset: number, checkQuorumDeadline: number) {
    this.epoch = epoch;
    this.leaderId = localId;
    this.votedFor = localId;
    this.epochStartOffset = epochStartOffset;
    this.checkQuorumDeadline = checkQuorumDeadline;
    for (const id of voters) if (id !== localId) this.voters.set(id, new ReplicaProgress(id));
  }
}

/** A snapshot being fetched chunk by chunk. */
export class SnapshotTransfer {
  readonly id: SnapshotId;
  size: number | null = null;
  readonly chunks: Uint8Array[] = [];
  received = 0;

  constructor(id: SnapshotId) {
    this.id = id;
  }
}

export class FollowerState implements EpochState {
  readonly kind = 'follower' as const;
  readonly epoch: number;
  readonly leaderId: number;
  readonly votedFor: number | null;
  /** No successful answer from the leader by then: voters go prospective, observers ask other voters. */
  fetchDeadline: number;
  /** Last tick a fetch to the leader succeeded; within fetchTimeout of it, this voter rejects (pre-)votes. */
  lastLeaderContactTick: number;
  /** The leader announced its resignation (EndQuorumEpoch): the lease is void. */
  leaderResigned = false;
  readonly fetch = new RequestSlot();
  /** The (log end, last epoch) the outstanding Fetch was sent from; its answer must match our log still. */
  fetchedFrom: OffsetAndEpoch | null = null;
  /** Next tick a caught-up follower polls again. */
  nextFetchTick: number;
  snapshot: SnapshotTransfer | null = null;

  constructor(epoch: number, leaderId: number, votedFor: number | null, now: number, fetchTimeoutTicks: number) {
    this.epoch = epoch;
    this.leaderId = leaderId;
    this.votedFor = votedFor;
    this.fetchDeadline = now + fetchTimeoutTicks;
    // The lease starts only with evidence from the leader itself (a BeginQuorumEpoch or a successful fetch),
    // not with hearsay such as another voter naming it, nor a leader id restored from disk.
    this.lastLeaderContactTick = Number.NEGATIVE_INFINITY;
    this.nextFetchTick = now;
  }
}

/** A leader that gave up its epoch (resign() or check-quorum). Soft: restarts as Resigned, never persisted. */
export class ResignedState implements EpochState {
  readonly kind = 'resigned' as const;
  readonly epoch: number;
  readonly leaderId: number;
  readonly votedFor: number;
  readonly preferredSuccessors: readonly number[];
  readonly electionDeadline: number;
  readonly endEpoch = new Map<number, RequestSlot>();
  readonly acknowledged = new Set<number>();

  constructor(epoch: number, localId: number, preferredSuccessors: readonly number[], electionDeadline: number) {
    this.epoch = epoch;
    this.leaderId = localId;
    this.votedFor = localId;
    this.preferredSuccessors = preferredSuccessors;
    this.electionDeadline = electionDeadline;
  }
}

export type AnyState = UnattachedState | VotedState | ProspectiveState | CandidateState | LeaderState | FollowerState | ResignedState;
