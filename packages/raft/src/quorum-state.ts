/**
 * The one place a node changes role. Every transition below is asserted; anything else crashes the node.
 *
 * Voters:
 *   Unattached  -> Unattached   on learning of a higher epoch
 *               -> Voted        on granting a binding vote in its epoch
 *               -> Prospective  on election timeout
 *               -> Follower     on discovering a leader of an equal or higher epoch
 *   Voted       -> Unattached   on learning of a higher epoch
 *               -> Prospective  on election timeout
 *               -> Follower     on discovering a leader of an equal or higher epoch
 *   Prospective -> Unattached   on learning of a higher epoch; or, same epoch, on losing/timing out the pre-vote
 *                               with no known leader (it keeps its vote, if any)
 *               -> Voted        on granting a binding vote in its epoch (it had neither vote nor leader)
 *               -> Candidate    on a majority of pre-votes (epoch + 1, votes for itself)
 *               -> Follower     on discovering a leader of an equal or higher epoch; or, same epoch, on
 *                               losing/timing out the pre-vote while it knew a leader
 *   Candidate   -> Unattached   on learning of a higher epoch
 *               -> Prospective  on election timeout (same epoch; it stays voted for itself)
 *               -> Leader       on a majority of votes
 *               -> Follower     on discovering a leader of an equal (another node won) or higher epoch
 *   Leader      -> Unattached   on learning of a higher epoch
 *               -> Follower     on discovering a leader of a higher epoch
 *               -> Resigned     on resign() or a failed check-quorum
 *   Follower    -> Unattached   on learning of a higher epoch
 *               -> Follower     on discovering a leader of a higher epoch
 *               -> Prospective  on fetch timeout
 *   Resigned    -> Unattached   on learning of a higher epoch, or on its election timeout (epoch + 1)
 *               -> Follower     on discovering a leader of a higher epoch
 *
 * Observers only ever are Unattached or Follower:
 *   Unattached  -> Unattached (higher epoch), Follower (leader of an equal or higher epoch)
 *   Follower    -> Unattached (higher epoch), Follower (leader of a higher epoch)
 *
 * Start-up (from the persisted QuorumStateData and the log's last epoch), as Kafka does:
 *   nothing persisted -> Unattached(0); persisted epoch < last log epoch -> Unattached(last log epoch);
 *   we were leader -> Resigned (so we never write a second, different log in that epoch, nor vote in it);
 *   we voted for ourselves -> Candidate; a known leader -> Follower; a vote -> Voted; else Unattached.
 *
 * Durability: `pendingPersist` holds the latest election data whenever it differs from what was last handed
 * to the driver; the node puts it in the next Ready, and no message leaves before it is durable, so a vote
 * granted or an epoch announced is never forgotten by a crash.
 */
import { assert, type Rng } from '@tributary/common';
import {
  CandidateState,
  Election,
  FollowerState,
  LeaderState,
  ProspectiveState,
  ResignedState,
  UnattachedState,
  VotedState,
  describeRole,
  roleInfo,
  type AnyState,
} from './roles.ts';
import { sameQuorumState, type QuorumStateData, type RoleChange, type RoleKind } from './types.ts';

const VOTER_TRANSITIONS: Record<RoleKind, readonly RoleKind[]> = {
  unattached: ['unattached', 'voted', 'prospective', 'follower'],
  voted: ['unattached', 'prospective', 'follower'],
  prospective: ['unattached', 'voted', 'candidate', 'follower'],
  candidate: ['unattached', 'prospective', 'leader', 'follower'],
  leader: ['unattached', 'follower', 'resigned'],
  follower: ['unattached', 'follower', 'prospective'],
  resigned: ['unattached', 'follower'],
};

const OBSERVER_TRANSITIONS: Record<RoleKind, readonly RoleKind[]> = {
  unattached: ['unattached', 'follower'],
  voted: [],
  prospective: [],
  candidate: [],
  leader: [],
  follower: ['unattached', 'follower'],
  resigned: [],
};

export interface QuorumStateOptions {
  localId: number;
  voters: readonly number[];
  rng: Rng;
  electionTimeoutTicks: number;
  fetchTimeoutTicks: number;
  /** The node's tick counter. */
  now: () => number;
  restored: QuorumStateData | null;
  logLastEpoch: number;
}

export class QuorumState {
  readonly localId: number;
  readonly voters: readonly number[];
  readonly isVoter: boolean;
  readonly #rng: Rng;
  readonly #electionTimeoutTicks: number;
  readonly #fetchTimeoutTicks: number;
  readonly #now: () => number;
  #state: AnyState;
  /** Election data last handed out to persist (or restored). */
  #persisted: QuorumStateData;
  #pendingPersist: QuorumStateData | null = null;
  #roleChanges: RoleChange[] = [];

  constructor(opts: QuorumStateOptions) {
    assert(Number.isInteger(opts.localId) && opts.localId >= 0, `bad node id ${opts.localId}`);
    assert(opts.voters.length > 0, 'at least one voter');
    assert(new Set(opts.voters).size === opts.voters.length, 'voters must be distinct');
    assert(opts.electionTimeoutTicks > 0 && opts.fetchTimeoutTicks > 0, 'timeouts must be positive');
    this.localId = opts.localId;
    this.voters = [...opts.voters].sort((a, b) => a - b);
    this.isVoter = this.voters.includes(opts.localId);
    this.#rng = opts.rng;
    this.#electionTimeoutTicks = opts.electionTimeoutTicks;
    this.#fetchTimeoutTicks = opts.fetchTimeoutTicks;
    this.#now = opts.now;

    const restored = opts.restored ?? { epoch: 0, votedFor: null, leaderId: null };
    assert(restored.epoch >= 0, 'persisted epoch must be >= 0');
    this.#persisted = restored;
    const now = this.#now();
    let initial: AnyState;
    if (restored.epoch < opts.logLastEpoch) {
      initial = new UnattachedState(opts.logLastEpoch, this.#electionDeadline());
    } else if (restored.leaderId === this.localId) {
      assert(this.isVoter, 'an observer cannot have been leader');
      initial = new ResignedState(restored.epoch, this.localId, [], this.#electionDeadline());
    } else if (restored.votedFor === this.localId && restored.leaderId === null) {
      assert(this.isVoter, 'an observer cannot have stood for election');
      initial = new CandidateState(restored.epoch, this.localId, new Election(this.voters, this.localId), this.#electionDeadline());
    } else if (restored.leaderId !== null) {
      initial = new FollowerState(restored.epoch, restored.leaderId, restored.votedFor, now, this.#fetchTimeoutTicks);
    } else if (restored.votedFor !== null) {
      assert(this.isVoter, 'an observer cannot have voted');
      initial = new VotedState(restored.epoch, restored.votedFor, this.#electionDeadline());
    } else {
      initial = new UnattachedState(restored.epoch, this.#electionDeadline());
    }
    this.#state = initial;
    this.#notePersist();
  }

  get state(): AnyState {
    return this.#state;
  }

  get epoch(): number {
    return this.#state.epoch;
  }

  get majority(): number {
    return Math.floor(this.voters.length / 2) + 1;
  }

  isVoterId(nodeId: number): boolean {
    return this.voters.includes(nodeId);
  }

  /** Election data the driver must make durable before the next messages go out; null if unchanged. */
  takePendingPersist(): QuorumStateData | null {
    const pending = this.#pendingPersist;
    this.#pendingPersist = null;
    return pending;
  }

  hasPendingPersist(): boolean {
    return this.#pendingPersist !== null;
  }

  takeRoleChanges(): RoleChange[] {
    const changes = this.#roleChanges;
    this.#roleChanges = [];
    return changes;
  }

  hasRoleChanges(): boolean {
    return this.#roleChanges.length > 0;
  }

  /** A randomised election timeout in [electionTimeout, 2 * electionTimeout), so voters rarely stand together. */
  randomElectionTimeoutTicks(): number {
    return this.#electionTimeoutTicks + this.#rng.int(this.#electionTimeoutTicks);
  }

  #electionDeadline(): number {
    return this.isVoter ? this.#now() + this.randomElectionTimeoutTicks() : Number.POSITIVE_INFINITY;
  }

  transitionToUnattached(epoch: number, reason: string): void {
    const current = this.#state;
    // Same epoch only from Prospective (lost pre-vote, it keeps its vote: that is a Voted state then).
    assert(epoch > current.epoch || (epoch === current.epoch && current.kind === 'prospective'), () => `Unattached(e${epoch}) from ${describeRole(roleInfo(current))}`);
    if (epoch === current.epoch && current.votedFor !== null) {
      // The vote (possibly for itself, when it was candidate in this epoch) stays binding.
      this.#transition(new VotedState(epoch, current.votedFor, this.#electionDeadline()), reason);
      return;
    }
    this.#transition(new UnattachedState(epoch, this.#electionDeadline()), reason);
  }

  transitionToVoted(epoch: number, candidateId: number, reason: string): void {
    const current = this.#state;
    assert(this.isVoter, 'observers do not vote');
    assert(candidateId !== this.localId, 'a node votes for itself only as a candidate');
    assert(this.isVoterId(candidateId), () => `vote for non-voter ${candidateId}`);
    assert(epoch === current.epoch, () => `Voted(e${epoch}) from ${describeRole(roleInfo(current))}: move to the epoch first`);
    assert(current.votedFor === null && current.leaderId === null, () => `second vote in e${epoch} from ${describeRole(roleInfo(current))}`);
    this.#transition(new VotedState(epoch, candidateId, this.#electionDeadline()), reason);
  }

  transitionToProspective(reason: string): ProspectiveState {
    const current = this.#state;
    assert(this.isVoter, 'observers do not stand');
    const next = new ProspectiveState(
      current.epoch,
      current.kind === 'candidate' ? null : current.leaderId,
      current.votedFor,
      new Election(this.voters, this.localId),
      this.#now() + this.randomElectionTimeoutTicks(),
    );
    this.#transition(next, reason);
    return next;
  }

  transitionToCandidate(reason: string): CandidateState {
    const current = this.#state;
    assert(current.kind === 'prospective', () => `Candidate from ${current.kind}`);
    assert(current.election.isWon(), 'candidate without a majority of pre-votes');
    const next = new CandidateState(current.epoch + 1, this.localId, new Election(this.voters, this.localId), this.#now() + this.randomElectionTimeoutTicks());
    this.#transition(next, reason);
    return next;
  }

  transitionToLeader(epochStartOffset: number, reason: string): LeaderState {
    const current = this.#state;
    assert(current.kind === 'candidate', () => `Leader from ${current.kind}`);
    assert(current.election.isWon(), 'leader without a majority of votes');
    const next = new LeaderState(current.epoch, this.localId, this.voters, epochStartOffset, this.#now() + this.#fetchTimeoutTicks);
    this.#transition(next, reason);
    return next;
  }

  transitionToFollower(epoch: number, leaderId: number, reason: string): FollowerState {
    const current = this.#state;
    assert(leaderId !== this.localId, () => `Follower of itself in e${epoch}`);
    assert(this.isVoterId(leaderId), () => `leader ${leaderId} is not a voter`);
    assert(epoch >= current.epoch, () => `Follower(e${epoch}) from ${describeRole(roleInfo(current))}`);
    if (epoch === current.epoch) {
      assert(current.kind !== 'follower' && current.kind !== 'leader' && current.kind !== 'resigned', () => `Follower of ${leaderId} in e${epoch} from ${describeRole(roleInfo(current))}`);
      assert(current.leaderId === null || current.leaderId === leaderId, () => `two leaders in e${epoch}: ${current.leaderId} and ${leaderId}`);
    }
    const votedFor = epoch === current.epoch ? current.votedFor : null;
    const next = new FollowerState(epoch, leaderId, votedFor, this.#now(), this.#fetchTimeoutTicks);
    this.#transition(next, reason);
    return next;
  }

  transitionToResigned(preferredSuccessors: readonly number[], reason: string): ResignedState {
    const current = this.#state;
    assert(current.kind === 'leader', () => `Resigned from ${current.kind}`);
    const next = new ResignedState(current.epoch, this.localId, preferredSuccessors, this.#now() + this.randomElectionTimeoutTicks());
    this.#transition(next, reason);
    return next;
  }

  #transition(next: AnyState, reason: string): void {
    const from = this.#state;
    const legal = (this.isVoter ? VOTER_TRANSITIONS : OBSERVER_TRANSITIONS)[from.kind];
    assert(legal.includes(next.kind), () => `illegal transition ${describeRole(roleInfo(from))} -> ${describeRole(roleInfo(next))} (${reason})`);
    assert(next.epoch >= from.epoch, 'epochs never go back');
    this.#state = next;
    this.#roleChanges.push({ from: roleInfo(from), to: roleInfo(next), reason });
    this.#notePersist();
  }

  #notePersist(): void {
    const s = this.#state;
    const data: QuorumStateData = { epoch: s.epoch, votedFor: s.votedFor, leaderId: s.leaderId };
    if (!sameQuorumState(data, this.#persisted)) {
      this.#persisted = data;
      this.#pendingPersist = data;
    }
  }
}
