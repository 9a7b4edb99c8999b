/**
 * RaftNode: the pure, deterministic KRaft-style consensus core (KIP-595 pull replication, KIP-630 snapshots,
 * KIP-996 pre-vote, check-quorum). No I/O, no timers, no clock: time is `tick()`, randomness an injected Rng.
 *
 * Drive it the etcd way:
 *
 *   node.tick()            every tick (the driver picks the tick length, e.g. 50 ms)
 *   node.step(message)     for every message received
 *   node.propose(records)  on the leader
 *   if (node.hasReady()) {
 *     const rd = node.ready();
 *     persist rd.persistQuorumState, rd.installSnapshot, rd.persistSnapshot, rd.truncateTo, rd.appendEntries
 *       (in that order) and make them durable;
 *     then send rd.messages, and apply rd.committed (load rd.installSnapshot into the state machine first);
 *     node.advance();
 *   }
 *
 * Replication is pull: followers and observers send Fetch(fetchOffset = their log end, lastFetchedEpoch); the
 * leader answers with entries, a diverging epoch (truncate, then fetch again), or a snapshot id (FetchSnapshot
 * it). The high watermark is the largest offset durable on a majority of voters, and only moves once it
 * passes the leader's own leader-change record (the first record of its epoch). A leader that hears no fetch
 * from a majority within the fetch timeout resigns (check-quorum); a follower that heard from its leader within
 * the fetch timeout rejects (pre-)votes, so a partitioned node cannot disrupt a healthy quorum.
 *
 * Bounds: fetch responses (maxFetchEntries/maxFetchBytes), snapshot chunks, proposals (records per call, bytes
 * per record, uncommitted entries on the leader), committed entries per Ready, tracked observers, outbox size,
 * message size. Invariants are asserted where they live; a broken one throws AssertionError (crash the node).
 */
import { assert, type Rng } from '@tributary/common';
import { MemoryRaftLog, type RaftLog } from './log.ts';
import {
  entrySizeBytes,
  messageSizeBytes,
  type BeginQuorumEpochRequest,
  type BeginQuorumEpochResponse,
  type EndQuorumEpochRequest,
  type EndQuorumEpochResponse,
  type FetchRequest,
  type FetchResponse,
  type FetchSnapshotRequest,
  type FetchSnapshotResponse,
  type Message,
  type VoteRequest,
  type VoteResponse,
} from './messages.ts';
import { QuorumState } from './quorum-state.ts';
import { ReplicaProgress, RequestSlot, SnapshotTransfer, roleInfo, type FollowerState, type LeaderState, type ProspectiveState } from './roles.ts';
import { compareOffsetAndEpoch, type Entry, type QuorumStateData, type RoleChange, type RoleInfo, type Snapshot, type SnapshotId } from './types.ts';

export interface RaftLimits {
  /** Entries per fetch response. */
  maxFetchEntries: number;
  /** Bytes of entries per fetch response (at least one entry is always sent). */
  maxFetchBytes: number;
  /** Bytes per record. */
  maxEntryBytes: number;
  /** Records per propose() call. */
  maxProposalEntries: number;
  /** Entries above the high watermark on the leader; propose() refuses beyond it (back-pressure). */
  maxUncommittedEntries: number;
  /** Entries handed to the state machine per Ready. */
  maxCommittedPerReady: number;
  maxSnapshotBytes: number;
  maxSnapshotChunkBytes: number;
  /** Observers the leader tracks for DescribeQuorum; the least recently fetching one is forgotten. */
  maxObservers: number;
  /** Messages waiting for the next Ready; beyond it responses are dropped (the protocol tolerates loss). */
  maxOutboxMessages: number;
  /** Incoming messages estimated larger than this are dropped; outgoing ones are asserted below it. */
  maxMessageBytes: number;
}

export const defaultRaftLimits: Readonly<RaftLimits> = Object.freeze({
  maxFetchEntries: 1024,
  maxFetchBytes: 1024 * 1024,
  maxEntryBytes: 1024 * 1024,
  maxProposalEntries: 1024,
  maxUncommittedEntries: 16_384,
  maxCommittedPerReady: 4096,
  maxSnapshotBytes: 1024 * 1024 * 1024,
  maxSnapshotChunkBytes: 1024 * 1024,
  maxObservers: 64,
  maxOutboxMessages: 4096,
  maxMessageBytes: 2 * 1024 * 1024 + 4096,
});

export interface RestoredState {
  /** The persisted quorum state; null on first start. */
  quorumState: QuorumStateData | null;
  /** The latest durable snapshot (the state machine loads it itself). */
  snapshot?: Snapshot | null;
  /** The durable log entries, contiguous from the snapshot's end offset (or 0). Ignored if `log` is given. */
  entries?: readonly Entry[];
  /** A log view already holding the restored log (e.g. storage-backed); its snapshot id must match `snapshot`. */
  log?: RaftLog;
}

export interface RaftNodeOptions {
  nodeId: number;
  /** The static voter set (controller.quorum.voters). */
  voters: readonly number[];
  /** Must agree with `voters` (an observer is not in it); given for clarity at call sites. */
  isObserver?: boolean;
  /** Base election timeout; each wait is uniform in [base, 2 * base). */
  electionTimeoutTicks: number;
  /** A follower without a successful fetch this long stands (voters); a leader without fetches from a majority this long resigns. */
  fetchTimeoutTicks: number;
  /**
   * A caught-up follower polls the leader this often. 0: it fetches again as soon as an answer arrives; only for a
   * transport whose leader side long-polls (holds an answer with nothing new, like Kafka's MaxWaitMs), else it spins.
   * Error answers always wait at least one tick.
   */
  fetchIntervalTicks: number;
  /** An unanswered request (vote, fetch, begin/end epoch) is re-sent after this; default 2 * fetchIntervalTicks + 2. */
  requestTimeoutTicks?: number;
  /** After EndQuorumEpoch, the n-th preferred successor waits n * this before standing; default electionTimeoutTicks / 2. */
  endQuorumBackoffTicks?: number;
  rng: Rng;
  limits?: Partial<RaftLimits>;
  restored?: RestoredState;
}

export type ProposeRejection = 'not-leader' | 'empty' | 'too-many-records' | 'record-too-large' | 'too-many-uncommitted';

export type ProposeResult =
  /** `offset` is the first record's; the records occupy [offset, offset + records.length) in `epoch`. */
  | { readonly accepted: true; readonly offset: number; readonly epoch: number }
  | { readonly accepted: false; readonly reason: ProposeRejection; readonly leaderId: number | null };

/**
 * What the core wants done. ORDERING RULE: make `persistQuorumState`, `installSnapshot`, `persistSnapshot`,
 * `truncateTo` and `appendEntries` durable, in that order, BEFORE sending any of `messages` and before applying
 * `committed`; then call `advance()`. (A vote or an epoch must be on disk before anyone hears of it, and the
 * leader counts only its own durable entries toward the high watermark.)
 */
export interface Ready {
  /** Write the quorum-state file. */
  readonly persistQuorumState: QuorumStateData | null;
  /** A snapshot fetched from the leader: store it, drop the WHOLE log (it restarts at id.endOffset), and load it into the state machine. */
  readonly installSnapshot: Snapshot | null;
  /** A snapshot this node created (createSnapshot): store it; the log below id.endOffset may be deleted. */
  readonly persistSnapshot: Snapshot | null;
  /** Drop every durable entry at or above this offset. */
  readonly truncateTo: number | null;
  /** Append these, contiguous, after the truncation. */
  readonly appendEntries: readonly Entry[];
  /** Send only after the persists above are durable. */
  readonly messages: readonly Message[];
  /** Entries newly below the high watermark, in order, to apply (after installSnapshot, if any). */
  readonly committed: readonly Entry[];
  readonly highWatermark: number;
  readonly roleChanges: readonly RoleChange[];
  readonly role: RoleInfo;
}

export interface ReplicaDescription {
  readonly nodeId: number;
  /** From the replica's last valid fetch in this epoch (the leader's own log end for itself); null if none yet. */
  readonly logEndOffset: number | null;
  /** Tick of its last fetch in this epoch (the leader's current tick for itself); null if none yet. */
  readonly lastFetchTick: number | null;
}

/** Kafka's DescribeQuorum answer; only the leader has one. */
export interface QuorumDescription {
  readonly leaderId: number;
  readonly epoch: number;
  readonly highWatermark: number;
  readonly voters: readonly ReplicaDescription[];
  readonly observers: readonly ReplicaDescription[];
}

type FetchValidation = { kind: 'valid' } | { kind: 'diverging'; epoch: number; endOffset: number } | { kind: 'snapshot' };

export interface LeaderChangeRecord {
  leaderId: number;
  epoch: number;
  voters: number[];
}

export function encodeLeaderChange(record: LeaderChangeRecord): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(record));
}

export function decodeLeaderChange(data: Uint8Array): LeaderChangeRecord {
  return JSON.parse(new TextDecoder().decode(data)) as LeaderChangeRecord;
}

export class RaftNode {
  readonly nodeId: number;
  readonly #quorum: QuorumState;
  readonly #log: RaftLog;
  readonly #rng: Rng;
  readonly #limits: RaftLimits;
  readonly #fetchTimeoutTicks: number;
  readonly #fetchIntervalTicks: number;
  /** Wait after an error answer to a fetch (at least one tick, even when fetchIntervalTicks is 0). */
  readonly #fetchErrorBackoffTicks: number;
  readonly #requestTimeoutTicks: number;
  readonly #endQuorumBackoffTicks: number;

  #now = 0;
  #nextCorrelationId: number;
  /** Latest snapshot (created or installed); the leader serves FetchSnapshot from it. */
  #snapshot: Snapshot | null;
  #highWatermark: number;
  /** Exclusive end of entries handed out in `committed` (or covered by an installed snapshot). */
  #committedEmitted: number;
  /** Same, but only counting Readies the driver has advanced: the state machine has applied these. */
  #committedApplied: number;
  /** Log end offset known durable (and still part of the in-memory log). The leader counts only this for itself. */
  #stableEndOffset: number;
  #outstanding: { endOffset: number; committedTo: number } | null = null;
  #lastReadyHighWatermark: number;

  // Pending effects for the next Ready.
  #outbox: Message[] = [];
  #droppedMessages = 0;
  #droppedInput = 0;
  #appends: Entry[] = [];
  #truncateTo: number | null = null;
  #installSnapshot: Snapshot | null = null;
  #persistSnapshot: Snapshot | null = null;

  constructor(opts: RaftNodeOptions) {
    assert(Number.isInteger(opts.fetchIntervalTicks) && opts.fetchIntervalTicks >= 0, 'fetchIntervalTicks must be a non-negative integer');
    assert(opts.fetchTimeoutTicks > opts.fetchIntervalTicks, 'fetchTimeoutTicks must exceed fetchIntervalTicks');
    const isVoter = opts.voters.includes(opts.nodeId);
    if (opts.isObserver !== undefined) assert(opts.isObserver === !isVoter, () => `node ${opts.nodeId}: isObserver=${opts.isObserver} disagrees with voters [${opts.voters.join(',')}]`);
    this.nodeId = opts.nodeId;
    this.#rng = opts.rng;
    // Each incarnation numbers its requests from a random point, so an answer addressed to a previous
    // incarnation (still in flight across a restart) does not match a new request by accident.
    this.#nextCorrelationId = opts.rng.int(2 ** 30) * 2 ** 20 + 1;
    this.#limits = { ...defaultRaftLimits, ...opts.limits };
    for (const [key, value] of Object.entries(this.#limits)) assert(Number.isInteger(value) && value > 0, `limit ${key} must be a positive integer`);
    this.#fetchTimeoutTicks = opts.fetchTimeoutTicks;
    this.#fetchIntervalTicks = opts.fetchIntervalTicks;
    this.#fetchErrorBackoffTicks = Math.max(1, opts.fetchIntervalTicks);
    this.#requestTimeoutTicks = opts.requestTimeoutTicks ?? 2 * opts.fetchIntervalTicks + 2;
    this.#endQuorumBackoffTicks = opts.endQuorumBackoffTicks ?? Math.max(1, Math.floor(opts.electionTimeoutTicks / 2));
    assert(this.#requestTimeoutTicks > 0 && this.#endQuorumBackoffTicks > 0, 'request timeout and end-quorum backoff must be positive');

    const restored = opts.restored ?? { quorumState: null };
    this.#snapshot = restored.snapshot ?? null;
    this.#log = restored.log ?? new MemoryRaftLog(this.#snapshot?.id ?? null, restored.entries ?? []);
    const logSnapshot = this.#log.snapshotId;
    assert(
      (logSnapshot === null && this.#snapshot === null) ||
        (logSnapshot !== null && this.#snapshot !== null && logSnapshot.endOffset === this.#snapshot.id.endOffset && logSnapshot.epoch === this.#snapshot.id.epoch),
      'restored log and snapshot disagree',
    );
    // A restarted node knows nothing committed beyond its snapshot until a leader tells it.
    this.#highWatermark = this.#log.startOffset;
    this.#committedEmitted = this.#log.startOffset;
    this.#committedApplied = this.#log.startOffset;
    this.#stableEndOffset = this.#log.endOffset;
    this.#lastReadyHighWatermark = this.#highWatermark;

    this.#quorum = new QuorumState({
      localId: opts.nodeId,
      voters: opts.voters,
      rng: opts.rng,
      electionTimeoutTicks: opts.electionTimeoutTicks,
      fetchTimeoutTicks: opts.fetchTimeoutTicks,
      now: () => this.#now,
      restored: restored.quorumState,
      logLastEpoch: this.#log.lastEpoch(),
    });
    // A restored Candidate asks for votes again at once; other roles start from their timers.
    this.#poll();
  }

  // ---------------------------------------------------------------- status

  get role(): RoleInfo {
    return roleInfo(this.#quorum.state);
  }

  get epoch(): number {
    return this.#quorum.epoch;
  }

  get isLeader(): boolean {
    return this.#quorum.state.kind === 'leader';
  }

  get isVoter(): boolean {
    return this.#quorum.isVoter;
  }

  get voters(): readonly number[] {
    return this.#quorum.voters;
  }

  get highWatermark(): number {
    return this.#highWatermark;
  }

  /** The node's tick counter (ticks since this incarnation started). */
  get currentTick(): number {
    return this.#now;
  }

  /** Read-only use only: the core owns mutations. */
  get log(): Pick<RaftLog, 'startOffset' | 'endOffset' | 'snapshotId' | 'lastEpoch' | 'entryAt' | 'read' | 'endOffsetForEpoch'> {
    return this.#log;
  }

  get snapshot(): Snapshot | null {
    return this.#snapshot;
  }

  /** Responses dropped because the outbox was full (the driver did not call ready() for too long). */
  get droppedMessages(): number {
    return this.#droppedMessages;
  }

  /** Incoming messages dropped as malformed or oversized. */
  get droppedInput(): number {
    return this.#droppedInput;
  }

  describeQuorum(): QuorumDescription | null {
    const s = this.#quorum.state;
    if (s.kind !== 'leader') return null;
    const describe = (p: ReplicaProgress): ReplicaDescription => ({ nodeId: p.nodeId, logEndOffset: p.endOffset, lastFetchTick: p.lastFetchTick });
    const voters: ReplicaDescription[] = this.#quorum.voters.map((id) =>
      id === this.nodeId ? { nodeId: id, logEndOffset: this.#log.endOffset, lastFetchTick: this.#now } : describe(s.voters.get(id)!),
    );
    const observers = [...s.observers.values()].sort((a, b) => a.nodeId - b.nodeId).map(describe);
    return { leaderId: this.nodeId, epoch: s.epoch, highWatermark: this.#highWatermark, voters, observers };
  }

  // ---------------------------------------------------------------- inputs

  tick(): void {
    this.#now++;
    const s = this.#quorum.state;
    switch (s.kind) {
      case 'unattached':
      case 'voted':
        if (this.#quorum.isVoter && this.#now >= s.electionDeadline) this.#startProspective('election timeout');
        break;
      case 'prospective':
        if (this.#now >= s.electionDeadline) this.#prospectiveLost(s, 'pre-vote timed out');
        break;
      case 'candidate':
        if (this.#now >= s.electionDeadline) this.#startProspective('election timed out');
        break;
      case 'follower':
        if (this.#now >= s.fetchDeadline) {
          if (this.#quorum.isVoter) {
            this.#startProspective(s.leaderResigned ? 'leader resigned' : 'fetch timeout');
          } else {
            // An observer cannot stand: it asks the voters who leads (a higher epoch moves it on).
            s.fetchDeadline = this.#now + this.#fetchTimeoutTicks;
            this.#sendDiscoveryFetch(s.epoch);
          }
        }
        break;
      case 'leader':
        if (this.#now >= s.checkQuorumDeadline) {
          if (s.fetchedVoters.size + 1 < this.#quorum.majority) {
            this.#resign('check-quorum: no fetch from a majority');
            break;
          }
          s.fetchedVoters.clear();
          s.checkQuorumDeadline = this.#now + this.#fetchTimeoutTicks;
        }
        break;
      case 'resigned':
        if (this.#now >= s.electionDeadline) this.#quorum.transitionToUnattached(s.epoch + 1, 'resigned: election timeout');
        break;
    }
    this.#poll();
  }

  step(message: Message): void {
    // Routing is the driver's job (a mistake there is a bug: crash); malformed input is dropped.
    assert(message.to === this.nodeId, () => `message for ${message.to} stepped into node ${this.nodeId}`);
    assert(message.from !== this.nodeId, 'a node never messages itself');
    if (!isWellFormed(message) || messageSizeBytes(message) > this.#limits.maxMessageBytes) {
      this.#droppedInput++;
      return;
    }
    switch (message.type) {
      case 'VoteRequest':
        this.#onVoteRequest(message);
        break;
      case 'VoteResponse':
        this.#onVoteResponse(message);
        break;
      case 'BeginQuorumEpochRequest':
        this.#onBeginQuorumEpochRequest(message);
        break;
      case 'BeginQuorumEpochResponse':
        this.#onBeginQuorumEpochResponse(message);
        break;
      case 'EndQuorumEpochRequest':
        this.#onEndQuorumEpochRequest(message);
        break;
      case 'EndQuorumEpochResponse':
        this.#onEndQuorumEpochResponse(message);
        break;
      case 'FetchRequest':
        this.#onFetchRequest(message);
        break;
      case 'FetchResponse':
        this.#onFetchResponse(message);
        break;
      case 'FetchSnapshotRequest':
        this.#onFetchSnapshotRequest(message);
        break;
      case 'FetchSnapshotResponse':
        this.#onFetchSnapshotResponse(message);
        break;
    }
    this.#poll();
  }

  propose(records: readonly Uint8Array[]): ProposeResult {
    const s = this.#quorum.state;
    if (s.kind !== 'leader') return { accepted: false, reason: 'not-leader', leaderId: this.#advertisedLeader() };
    const reject = (reason: ProposeRejection): ProposeResult => ({ accepted: false, reason, leaderId: this.nodeId });
    if (records.length === 0) return reject('empty');
    if (records.length > this.#limits.maxProposalEntries) return reject('too-many-records');
    for (const record of records) if (record.byteLength > this.#limits.maxEntryBytes) return reject('record-too-large');
    if (this.#log.endOffset - this.#highWatermark + records.length > this.#limits.maxUncommittedEntries) return reject('too-many-uncommitted');
    const offset = this.#log.endOffset;
    // Not counted toward the high watermark until durable: advance() does that.
    this.#appendLocal(records.map((data, i) => ({ offset: offset + i, epoch: s.epoch, data, kind: 'data' as const })));
    return { accepted: true, offset, epoch: s.epoch };
  }

  /** Give up leadership, handing over to the most caught-up voters (EndQuorumEpoch). False if not leader. */
  resign(): boolean {
    if (this.#quorum.state.kind !== 'leader') return false;
    this.#resign('resign()');
    this.#poll();
    return true;
  }

  /** Stand for election now (pre-vote first), as if the election timeout expired. False if not possible. */
  campaign(): boolean {
    const kind = this.#quorum.state.kind;
    if (!this.#quorum.isVoter || kind === 'leader' || kind === 'resigned' || kind === 'prospective' || kind === 'candidate') return false;
    this.#startProspective('campaign');
    this.#poll();
    return true;
  }

  /**
   * The state machine has a snapshot of everything below `endOffset` (it has applied those entries from an
   * advanced Ready). The log prefix below it is dropped; the next Ready asks to persist the snapshot.
   * Returns the snapshot id, or null if it would not cover anything new.
   */
  createSnapshot(endOffset: number, data: Uint8Array): SnapshotId | null {
    assert(endOffset <= this.#committedApplied, () => `snapshot at ${endOffset} beyond applied entries (${this.#committedApplied})`);
    assert(data.byteLength <= this.#limits.maxSnapshotBytes, () => `snapshot of ${data.byteLength} bytes exceeds maxSnapshotBytes`);
    if (endOffset <= this.#log.startOffset) return null;
    const id: SnapshotId = { endOffset, epoch: this.#log.entryAt(endOffset - 1).epoch };
    this.#log.compact(id);
    this.#snapshot = { id, data };
    this.#persistSnapshot = this.#snapshot;
    return id;
  }

  // ---------------------------------------------------------------- Ready

  hasReady(): boolean {
    return (
      this.#quorum.hasPendingPersist() ||
      this.#quorum.hasRoleChanges() ||
      this.#installSnapshot !== null ||
      this.#persistSnapshot !== null ||
      this.#truncateTo !== null ||
      this.#appends.length > 0 ||
      this.#outbox.length > 0 ||
      this.#committedEmitted < this.#commitLimit() ||
      this.#highWatermark !== this.#lastReadyHighWatermark
    );
  }

  ready(): Ready {
    assert(this.#outstanding === null, 'advance() the previous Ready before asking for another');
    const committed: Entry[] = [];
    const limit = Math.min(this.#commitLimit(), this.#committedEmitted + this.#limits.maxCommittedPerReady);
    assert(this.#committedEmitted >= this.#log.startOffset, 'committed entries below the log start were never handed out');
    for (let offset = this.#committedEmitted; offset < limit; offset++) committed.push(this.#log.entryAt(offset));
    this.#committedEmitted = Math.max(this.#committedEmitted, limit);
    const rd: Ready = {
      persistQuorumState: this.#quorum.takePendingPersist(),
      installSnapshot: this.#installSnapshot,
      persistSnapshot: this.#persistSnapshot,
      truncateTo: this.#truncateTo,
      appendEntries: this.#appends,
      messages: this.#outbox,
      committed,
      highWatermark: this.#highWatermark,
      roleChanges: this.#quorum.takeRoleChanges(),
      role: this.role,
    };
    this.#installSnapshot = null;
    this.#persistSnapshot = null;
    this.#truncateTo = null;
    this.#appends = [];
    this.#outbox = [];
    this.#lastReadyHighWatermark = this.#highWatermark;
    this.#outstanding = { endOffset: this.#log.endOffset, committedTo: this.#committedEmitted };
    return rd;
  }

  /** The last Ready's persists are durable, its messages sent and its committed entries applied. */
  advance(): void {
    const outstanding = this.#outstanding;
    assert(outstanding !== null, 'advance() without a Ready');
    this.#stableEndOffset = outstanding.endOffset;
    assert(this.#stableEndOffset <= this.#log.endOffset, 'stable end offset beyond the log');
    this.#committedApplied = outstanding.committedTo;
    this.#outstanding = null;
    const s = this.#quorum.state;
    if (s.kind === 'leader') this.#maybeAdvanceLeaderHighWatermark(s);
  }

  #commitLimit(): number {
    return Math.min(this.#highWatermark, this.#log.endOffset);
  }

  // ---------------------------------------------------------------- log mutations (mirrored into the Ready)

  #appendLocal(entries: readonly Entry[]): void {
    this.#log.append(entries);
    for (const entry of entries) this.#appends.push(entry);
  }

  #truncateLocal(offset: number): void {
    assert(offset >= this.#highWatermark, () => `truncation to ${offset} below the high watermark ${this.#highWatermark}`);
    assert(offset >= this.#committedEmitted, 'truncation below applied entries');
    if (offset >= this.#log.endOffset) return;
    this.#log.truncateTo(offset);
    this.#truncateTo = this.#truncateTo === null ? offset : Math.min(this.#truncateTo, offset);
    this.#appends = this.#appends.filter((e) => e.offset < offset);
    this.#stableEndOffset = Math.min(this.#stableEndOffset, offset);
    if (this.#outstanding) this.#outstanding.endOffset = Math.min(this.#outstanding.endOffset, offset);
  }

  #installFetchedSnapshot(s: FollowerState, transfer: SnapshotTransfer): void {
    const id = transfer.id;
    assert(this.#highWatermark <= id.endOffset, () => `installing snapshot ${id.endOffset} below the high watermark ${this.#highWatermark}`);
    assert(transfer.received === transfer.size, 'incomplete snapshot');
    const data = new Uint8Array(transfer.received);
    let position = 0;
    for (const chunk of transfer.chunks) {
      data.set(chunk, position);
      position += chunk.byteLength;
    }
    this.#log.resetTo(id);
    this.#snapshot = { id, data };
    this.#installSnapshot = this.#snapshot;
    this.#persistSnapshot = null;
    this.#truncateTo = null;
    this.#appends = [];
    this.#stableEndOffset = id.endOffset;
    if (this.#outstanding) this.#outstanding.endOffset = Math.min(this.#outstanding.endOffset, id.endOffset);
    this.#highWatermark = id.endOffset;
    this.#committedEmitted = id.endOffset;
    s.snapshot = null;
    s.nextFetchTick = this.#now;
  }

  // ---------------------------------------------------------------- elections

  #startProspective(reason: string): void {
    const p = this.#quorum.transitionToProspective(reason);
    if (p.election.isWon()) this.#becomeCandidate();
  }

  #prospectiveLost(s: ProspectiveState, reason: string): void {
    if (s.leaderId !== null) this.#quorum.transitionToFollower(s.epoch, s.leaderId, reason);
    else this.#quorum.transitionToUnattached(s.epoch, reason);
  }

  #becomeCandidate(): void {
    const c = this.#quorum.transitionToCandidate('won pre-vote');
    if (c.election.isWon()) this.#becomeLeader();
  }

  #becomeLeader(): void {
    const epochStartOffset = this.#log.endOffset;
    const leader = this.#quorum.transitionToLeader(epochStartOffset, 'won election');
    // KRaft: the leader's first record in its epoch; the high watermark may only move once it commits.
    this.#appendLocal([
      { offset: epochStartOffset, epoch: leader.epoch, kind: 'leader-change', data: encodeLeaderChange({ leaderId: this.nodeId, epoch: leader.epoch, voters: [...this.#quorum.voters] }) },
    ]);
  }

  #resign(reason: string): void {
    const s = this.#quorum.state;
    assert(s.kind === 'leader', 'only a leader resigns');
    const successors = [...s.voters.values()]
      .sort((a, b) => (b.endOffset ?? -1) - (a.endOffset ?? -1) || a.nodeId - b.nodeId)
      .map((p) => p.nodeId);
    this.#quorum.transitionToResigned(successors, reason);
  }

  /** Any message revealing a higher epoch moves us to it (following its leader if known). */
  #moveToHigherEpoch(epoch: number, leaderId: number | null, reason: string): void {
    assert(epoch > this.#quorum.epoch, 'not a higher epoch');
    if (leaderId !== null && leaderId !== this.nodeId && this.#quorum.isVoterId(leaderId)) this.#quorum.transitionToFollower(epoch, leaderId, reason);
    else this.#quorum.transitionToUnattached(epoch, reason);
  }

  /** A response in our epoch naming a leader we did not know: follow it. */
  #maybeLearnLeader(epoch: number, leaderId: number | null, reason: string): boolean {
    const s = this.#quorum.state;
    if (epoch !== s.epoch || leaderId === null || leaderId === this.nodeId || s.leaderId !== null) return false;
    if (s.kind !== 'unattached' && s.kind !== 'voted' && s.kind !== 'prospective' && s.kind !== 'candidate') return false;
    if (!this.#quorum.isVoterId(leaderId)) return false;
    this.#quorum.transitionToFollower(epoch, leaderId, reason);
    return true;
  }

  /** The leader we name in answers: a resigned leader names nobody, so nobody keeps fetching from it. */
  #advertisedLeader(): number | null {
    const s = this.#quorum.state;
    return s.kind === 'resigned' ? null : s.leaderId;
  }

  /** A follower that heard from a live leader within the fetch timeout protects it from (pre-)votes. */
  #inLeaderLease(): boolean {
    const s = this.#quorum.state;
    return s.kind === 'follower' && !s.leaderResigned && this.#now - s.lastLeaderContactTick < this.#fetchTimeoutTicks;
  }

  #onVoteRequest(m: VoteRequest): void {
    const granted = this.#decideVote(m);
    const s = this.#quorum.state;
    this.#send({
      type: 'VoteResponse',
      from: this.nodeId,
      to: m.from,
      epoch: s.epoch,
      requestEpoch: m.epoch,
      preVote: m.preVote,
      voteGranted: granted,
      leaderId: this.#advertisedLeader(),
      correlationId: m.correlationId,
    });
  }

  #decideVote(m: VoteRequest): boolean {
    if (!this.#quorum.isVoter || !this.#quorum.isVoterId(m.from)) return false;
    if (m.epoch < this.#quorum.epoch) return false;
    if (this.#inLeaderLease()) return false;
    // A pre-vote never moves the receiver's epoch (KIP-996); a real vote in a higher epoch does.
    if (!m.preVote && m.epoch > this.#quorum.epoch) this.#moveToHigherEpoch(m.epoch, null, `vote request from ${m.from}`);
    const upToDate = compareOffsetAndEpoch({ epoch: m.lastOffsetEpoch, offset: m.lastOffset }, { epoch: this.#log.lastEpoch(), offset: this.#log.endOffset }) >= 0;
    const s = this.#quorum.state;
    if (m.preVote) return upToDate && s.kind !== 'leader';
    assert(m.epoch === s.epoch, 'vote evaluated in its epoch');
    switch (s.kind) {
      case 'unattached':
        if (upToDate) this.#quorum.transitionToVoted(s.epoch, m.from, `granted vote to ${m.from}`);
        return upToDate;
      case 'prospective':
        if (s.votedFor !== null) return s.votedFor === m.from;
        if (s.leaderId !== null || !upToDate) return false;
        this.#quorum.transitionToVoted(s.epoch, m.from, `granted vote to ${m.from}`);
        return true;
      case 'voted':
      case 'follower':
        // Idempotent: a retried request from the candidate we already voted for.
        return s.votedFor === m.from;
      case 'candidate':
      case 'leader':
      case 'resigned':
        return false;
    }
  }

  #onVoteResponse(m: VoteResponse): void {
    if (m.epoch > this.#quorum.epoch) {
      this.#moveToHigherEpoch(m.epoch, m.leaderId, `vote response from ${m.from}`);
      return;
    }
    const s = this.#quorum.state;
    if (s.kind !== 'prospective' && s.kind !== 'candidate') {
      this.#maybeLearnLeader(m.epoch, m.leaderId, `vote response from ${m.from} names the leader`);
      return;
    }
    if (m.requestEpoch !== s.epoch || m.preVote !== (s.kind === 'prospective')) return;
    if (!s.requests.get(m.from)?.complete(m.correlationId)) return;
    if (this.#maybeLearnLeader(m.epoch, m.leaderId, `vote response from ${m.from} names the leader`)) return;
    s.election.record(m.from, m.voteGranted);
    if (s.election.isWon()) {
      if (s.kind === 'prospective') this.#becomeCandidate();
      else this.#becomeLeader();
    } else if (s.election.isLost() && s.kind === 'prospective') {
      this.#prospectiveLost(s, 'pre-vote lost');
    }
    // A candidate that lost waits out its election timeout before standing again (a backoff).
  }

  #onBeginQuorumEpochRequest(m: BeginQuorumEpochRequest): void {
    let error: 'none' | 'fenced-epoch' = 'none';
    if (m.epoch < this.#quorum.epoch) {
      error = 'fenced-epoch';
    } else {
      if (m.epoch > this.#quorum.epoch) this.#quorum.transitionToFollower(m.epoch, m.leaderId, `BeginQuorumEpoch from ${m.from}`);
      const s = this.#quorum.state;
      if (s.kind === 'leader' || s.kind === 'resigned') {
        assert(m.leaderId === this.nodeId, () => `two leaders in e${m.epoch}: ${this.nodeId} and ${m.leaderId}`);
      } else if (s.kind === 'follower') {
        assert(s.leaderId === m.leaderId, () => `two leaders in e${m.epoch}: ${s.leaderId} and ${m.leaderId}`);
        this.#leaderContact(s);
      } else {
        this.#leaderContact(this.#quorum.transitionToFollower(m.epoch, m.leaderId, `BeginQuorumEpoch from ${m.from}`));
      }
    }
    const s = this.#quorum.state;
    this.#send({ type: 'BeginQuorumEpochResponse', from: this.nodeId, to: m.from, epoch: s.epoch, leaderId: this.#advertisedLeader(), error, correlationId: m.correlationId });
  }

  #onBeginQuorumEpochResponse(m: BeginQuorumEpochResponse): void {
    if (m.epoch > this.#quorum.epoch) {
      this.#moveToHigherEpoch(m.epoch, m.leaderId, `BeginQuorumEpoch response from ${m.from}`);
      return;
    }
    const s = this.#quorum.state;
    if (s.kind !== 'leader' || m.epoch !== s.epoch || m.error !== 'none') return;
    const progress = s.voters.get(m.from);
    if (progress?.beginEpoch.complete(m.correlationId)) progress.knowsLeader = true;
  }

  #onEndQuorumEpochRequest(m: EndQuorumEpochRequest): void {
    let error: 'none' | 'fenced-epoch' = 'none';
    if (m.epoch < this.#quorum.epoch) {
      error = 'fenced-epoch';
    } else {
      if (m.epoch > this.#quorum.epoch) this.#quorum.transitionToFollower(m.epoch, m.leaderId, `EndQuorumEpoch from ${m.from}`);
      const s = this.#quorum.state;
      if (s.kind === 'follower' && s.leaderId === m.leaderId && !s.leaderResigned) {
        s.leaderResigned = true;
        const position = m.preferredSuccessors.indexOf(this.nodeId);
        if (position === 0 && this.#quorum.isVoter) {
          this.#startProspective(`EndQuorumEpoch from ${m.from}: first preferred successor`);
        } else {
          const backoff = position > 0 ? position * this.#endQuorumBackoffTicks : this.#quorum.randomElectionTimeoutTicks();
          s.fetchDeadline = Math.min(s.fetchDeadline, this.#now + backoff);
        }
      }
    }
    const s = this.#quorum.state;
    this.#send({ type: 'EndQuorumEpochResponse', from: this.nodeId, to: m.from, epoch: s.epoch, leaderId: this.#advertisedLeader(), error, correlationId: m.correlationId });
  }

  #onEndQuorumEpochResponse(m: EndQuorumEpochResponse): void {
    if (m.epoch > this.#quorum.epoch) {
      this.#moveToHigherEpoch(m.epoch, m.leaderId, `EndQuorumEpoch response from ${m.from}`);
      return;
    }
    const s = this.#quorum.state;
    if (s.kind !== 'resigned' || m.epoch !== s.epoch) return;
    if (s.endEpoch.get(m.from)?.complete(m.correlationId)) s.acknowledged.add(m.from);
  }

  // ---------------------------------------------------------------- replication: leader side

  #onFetchRequest(m: FetchRequest): void {
    const s = this.#quorum.state;
    const base = { type: 'FetchResponse' as const, from: this.nodeId, to: m.from, correlationId: m.correlationId, entries: [], divergingEpoch: null, snapshotId: null };
    if (s.kind !== 'leader') {
      this.#send({ ...base, epoch: s.epoch, leaderId: this.#advertisedLeader(), error: 'not-leader', highWatermark: this.#highWatermark });
      return;
    }
    if (m.epoch !== s.epoch) {
      this.#send({ ...base, epoch: s.epoch, leaderId: this.nodeId, error: m.epoch < s.epoch ? 'fenced-epoch' : 'unknown-epoch', highWatermark: this.#highWatermark });
      return;
    }
    const progress = this.#recordReplicaFetch(s, m.from);
    const validation = this.#validateFetch(m.fetchOffset, m.lastFetchedEpoch);
    let entries: Entry[] = [];
    if (validation.kind === 'valid') {
      // A valid (offset, epoch) means the replica's log equals ours below fetchOffset, durably (it sends
      // only after persisting). Stale duplicates must not move it back.
      progress.endOffset = Math.max(progress.endOffset ?? 0, m.fetchOffset);
      if (this.#quorum.isVoterId(m.from)) this.#maybeAdvanceLeaderHighWatermark(s);
      if (m.fetchOffset < this.#log.endOffset) entries = this.#log.read(m.fetchOffset, this.#limits.maxFetchEntries, this.#limits.maxFetchBytes);
    }
    assert(validation.kind !== 'snapshot' || this.#log.snapshotId !== null, 'snapshot answer without a snapshot');
    this.#send({
      ...base,
      epoch: s.epoch,
      leaderId: this.nodeId,
      error: 'none',
      highWatermark: this.#highWatermark,
      entries,
      divergingEpoch: validation.kind === 'diverging' ? { epoch: validation.epoch, endOffset: validation.endOffset } : null,
      snapshotId: validation.kind === 'snapshot' ? this.#log.snapshotId : null,
    });
  }

  /** Kafka's validateOffsetAndEpoch. */
  #validateFetch(fetchOffset: number, lastFetchedEpoch: number): FetchValidation {
    assert(fetchOffset >= 0 && lastFetchedEpoch >= 0, 'bad fetch position');
    if (fetchOffset < this.#log.startOffset) return { kind: 'snapshot' };
    if (fetchOffset === this.#log.startOffset && lastFetchedEpoch === (this.#log.snapshotId?.epoch ?? 0)) return { kind: 'valid' };
    const end = this.#log.endOffsetForEpoch(lastFetchedEpoch);
    if (end === null) return { kind: 'snapshot' };
    if (end.epoch !== lastFetchedEpoch || fetchOffset > end.offset) return { kind: 'diverging', epoch: end.epoch, endOffset: end.offset };
    return { kind: 'valid' };
  }

  #recordReplicaFetch(s: LeaderState, nodeId: number): ReplicaProgress {
    let progress = s.voters.get(nodeId);
    if (progress) {
      s.fetchedVoters.add(nodeId);
    } else {
      progress = s.observers.get(nodeId);
      if (!progress) {
        if (s.observers.size >= this.#limits.maxObservers) {
          let oldest: ReplicaProgress | null = null;
          for (const p of s.observers.values()) if (oldest === null || (p.lastFetchTick ?? -1) < (oldest.lastFetchTick ?? -1)) oldest = p;
          s.observers.delete(oldest!.nodeId);
        }
        progress = new ReplicaProgress(nodeId);
        s.observers.set(nodeId, progress);
      }
    }
    progress.lastFetchTick = this.#now;
    progress.knowsLeader = true;
    return progress;
  }

  #maybeAdvanceLeaderHighWatermark(s: LeaderState): void {
    const offsets = [this.#stableEndOffset];
    for (const p of s.voters.values()) offsets.push(p.endOffset ?? 0);
    offsets.sort((a, b) => b - a);
    // The value at index floor(n/2) is reached by floor(n/2) + 1 voters: a majority.
    const candidate = offsets[Math.floor(offsets.length / 2)]!;
    assert(candidate <= this.#log.endOffset, 'a majority cannot be ahead of the leader');
    if (candidate > s.epochStartOffset && candidate > this.#highWatermark) this.#highWatermark = candidate;
  }

  #onFetchSnapshotRequest(m: FetchSnapshotRequest): void {
    const s = this.#quorum.state;
    const base = { type: 'FetchSnapshotResponse' as const, from: this.nodeId, to: m.from, correlationId: m.correlationId, snapshotId: m.snapshotId, size: 0, position: m.position, chunk: new Uint8Array(0) };
    if (s.kind !== 'leader') {
      this.#send({ ...base, epoch: s.epoch, leaderId: this.#advertisedLeader(), error: 'not-leader' });
      return;
    }
    if (m.epoch !== s.epoch) {
      this.#send({ ...base, epoch: s.epoch, leaderId: this.nodeId, error: m.epoch < s.epoch ? 'fenced-epoch' : 'unknown-epoch' });
      return;
    }
    this.#recordReplicaFetch(s, m.from);
    const snap = this.#snapshot;
    if (snap === null || snap.id.endOffset !== m.snapshotId.endOffset || snap.id.epoch !== m.snapshotId.epoch) {
      this.#send({ ...base, epoch: s.epoch, leaderId: this.nodeId, error: 'snapshot-not-found' });
      return;
    }
    const size = snap.data.byteLength;
    if (m.position < 0 || (m.position >= size && !(m.position === 0 && size === 0))) {
      this.#send({ ...base, epoch: s.epoch, leaderId: this.nodeId, error: 'position-out-of-range', size });
      return;
    }
    const chunk = snap.data.subarray(m.position, Math.min(size, m.position + this.#limits.maxSnapshotChunkBytes));
    this.#send({ ...base, epoch: s.epoch, leaderId: this.nodeId, error: 'none', size, chunk });
  }

  // ---------------------------------------------------------------- replication: follower side

  #leaderContact(s: FollowerState): void {
    if (s.leaderResigned) return;
    s.lastLeaderContactTick = this.#now;
    s.fetchDeadline = this.#now + this.#fetchTimeoutTicks;
  }

  #onFetchResponse(m: FetchResponse): void {
    if (m.epoch > this.#quorum.epoch) {
      this.#moveToHigherEpoch(m.epoch, m.leaderId, `fetch response from ${m.from}`);
      return;
    }
    const s = this.#quorum.state;
    if (s.kind === 'unattached') s.discovery.complete(m.correlationId);
    if (s.kind !== 'follower' || !s.fetch.complete(m.correlationId)) {
      this.#maybeLearnLeader(m.epoch, m.leaderId, `fetch response from ${m.from} names the leader`);
      return;
    }
    if (m.epoch < s.epoch || m.from !== s.leaderId || m.error !== 'none') {
      s.nextFetchTick = this.#now + this.#fetchErrorBackoffTicks;
      return;
    }
    // The answer must be about our log as it is now (the leader's log in this epoch only grows, so then it
    // is right whichever request it answers); anything else is stale and dropped.
    if (s.fetchedFrom === null || s.fetchedFrom.offset !== this.#log.endOffset || s.fetchedFrom.epoch !== this.#log.lastEpoch()) {
      s.nextFetchTick = this.#now;
      return;
    }
    this.#leaderContact(s);
    if (m.divergingEpoch) {
      this.#truncateToDivergence(m.divergingEpoch.epoch, m.divergingEpoch.endOffset);
      s.nextFetchTick = this.#now;
      return;
    }
    if (m.snapshotId) {
      assert(s.snapshot === null, 'one snapshot transfer at a time');
      s.snapshot = new SnapshotTransfer(m.snapshotId);
      s.nextFetchTick = this.#now;
      return;
    }
    // Valid fetch: our log equals the leader's below the fetch offset, which is our log end (checked above).
    if (m.entries.length > 0) {
      assert(m.entries[0]!.offset === this.#log.endOffset, () => `fetched entries start at ${m.entries[0]!.offset}, log ends at ${this.#log.endOffset}`);
      let bytes = 0;
      for (const entry of m.entries) {
        assert(entry.epoch <= s.epoch, 'entry from a future epoch');
        bytes += entrySizeBytes(entry);
      }
      assert(bytes <= this.#limits.maxMessageBytes, 'fetch response too large');
      this.#appendLocal(m.entries);
    }
    // Only a valid fetch proves our log matches the leader's; then everything below min(hw, our end) is committed.
    const highWatermark = Math.min(m.highWatermark, this.#log.endOffset);
    if (highWatermark > this.#highWatermark) this.#highWatermark = highWatermark;
    s.nextFetchTick = m.entries.length > 0 ? this.#now : this.#now + this.#fetchIntervalTicks;
  }

  /** Kafka's truncateToEndOffset: cut at the first offset where our log may differ from the leader's. */
  #truncateToDivergence(leaderEpoch: number, leaderEndOffset: number): void {
    let offset: number;
    if (leaderEpoch === 0) {
      offset = Math.min(leaderEndOffset, this.#log.endOffset);
    } else {
      const local = this.#log.endOffsetForEpoch(leaderEpoch);
      assert(local !== null, () => `diverging epoch ${leaderEpoch} precedes our snapshot`);
      offset = local.epoch === leaderEpoch ? Math.min(local.offset, leaderEndOffset) : local.offset;
    }
    assert(offset < this.#log.endOffset || offset === this.#log.endOffset, 'truncation beyond the log end');
    this.#truncateLocal(Math.max(offset, this.#log.startOffset));
  }

  #onFetchSnapshotResponse(m: FetchSnapshotResponse): void {
    if (m.epoch > this.#quorum.epoch) {
      this.#moveToHigherEpoch(m.epoch, m.leaderId, `fetch-snapshot response from ${m.from}`);
      return;
    }
    const s = this.#quorum.state;
    if (s.kind !== 'follower' || s.snapshot === null || !s.fetch.complete(m.correlationId)) return;
    const transfer = s.snapshot;
    if (m.epoch < s.epoch || m.from !== s.leaderId || m.error !== 'none') {
      // The leader moved on (a newer snapshot, a new epoch): start over with a plain fetch.
      s.snapshot = null;
      s.nextFetchTick = this.#now + this.#fetchErrorBackoffTicks;
      return;
    }
    this.#leaderContact(s);
    assert(m.snapshotId.endOffset === transfer.id.endOffset && m.snapshotId.epoch === transfer.id.epoch, 'snapshot id changed mid-transfer');
    if (transfer.size === null) {
      assert(m.size <= this.#limits.maxSnapshotBytes, () => `snapshot of ${m.size} bytes exceeds maxSnapshotBytes`);
      transfer.size = m.size;
    }
    // A chunk for another position (a stale answer) is dropped; the next poll asks for the right one.
    if (m.size !== transfer.size || m.position !== transfer.received || (m.chunk.byteLength === 0 && m.size > 0)) return;
    assert(transfer.received + m.chunk.byteLength <= transfer.size, 'snapshot chunk beyond its size');
    transfer.chunks.push(m.chunk);
    transfer.received += m.chunk.byteLength;
    if (transfer.received === transfer.size) this.#installFetchedSnapshot(s, transfer);
    else s.nextFetchTick = this.#now;
  }

  // ---------------------------------------------------------------- outgoing requests

  /** After every input: send whatever requests are due for the current role (Kafka's poll). */
  #poll(): void {
    const s = this.#quorum.state;
    const now = this.#now;
    switch (s.kind) {
      case 'prospective':
      case 'candidate':
        for (const voterId of s.election.unrecorded()) {
          if (voterId === this.nodeId) continue;
          let slot = s.requests.get(voterId);
          if (!slot) s.requests.set(voterId, (slot = new RequestSlot()));
          if (slot.isWaiting(now, this.#requestTimeoutTicks)) continue;
          const correlationId = this.#nextCorrelationId++;
          slot.start(correlationId, now);
          this.#send({
            type: 'VoteRequest',
            from: this.nodeId,
            to: voterId,
            epoch: s.epoch,
            preVote: s.kind === 'prospective',
            lastOffsetEpoch: this.#log.lastEpoch(),
            lastOffset: this.#log.endOffset,
            correlationId,
          });
        }
        break;
      case 'leader':
        for (const progress of s.voters.values()) {
          if (progress.knowsLeader || progress.beginEpoch.isWaiting(now, this.#requestTimeoutTicks)) continue;
          const correlationId = this.#nextCorrelationId++;
          progress.beginEpoch.start(correlationId, now);
          this.#send({ type: 'BeginQuorumEpochRequest', from: this.nodeId, to: progress.nodeId, epoch: s.epoch, leaderId: this.nodeId, correlationId });
        }
        break;
      case 'resigned':
        for (const voterId of this.#quorum.voters) {
          if (voterId === this.nodeId || s.acknowledged.has(voterId)) continue;
          let slot = s.endEpoch.get(voterId);
          if (!slot) s.endEpoch.set(voterId, (slot = new RequestSlot()));
          if (slot.isWaiting(now, this.#requestTimeoutTicks)) continue;
          const correlationId = this.#nextCorrelationId++;
          slot.start(correlationId, now);
          this.#send({ type: 'EndQuorumEpochRequest', from: this.nodeId, to: voterId, epoch: s.epoch, leaderId: this.nodeId, preferredSuccessors: s.preferredSuccessors, correlationId });
        }
        break;
      case 'follower':
        if (s.fetch.isWaiting(now, this.#requestTimeoutTicks)) break;
        if (s.snapshot !== null) {
          const correlationId = this.#nextCorrelationId++;
          s.fetch.start(correlationId, now);
          this.#send({ type: 'FetchSnapshotRequest', from: this.nodeId, to: s.leaderId, epoch: s.epoch, snapshotId: s.snapshot.id, position: s.snapshot.received, correlationId });
        } else if (now >= s.nextFetchTick || s.fetch.correlationId !== null) {
          // (A timed-out fetch is retried at once.)
          const correlationId = this.#nextCorrelationId++;
          s.fetch.start(correlationId, now);
          s.fetchedFrom = { offset: this.#log.endOffset, epoch: this.#log.lastEpoch() };
          this.#send(this.#fetchRequest(s.leaderId, s.epoch, correlationId));
        }
        break;
      case 'unattached':
        if (!this.#quorum.isVoter && !s.discovery.isWaiting(now, this.#requestTimeoutTicks)) this.#sendDiscoveryFetch(s.epoch);
        break;
      case 'voted':
        break;
    }
  }

  #fetchRequest(to: number, epoch: number, correlationId: number): FetchRequest {
    return { type: 'FetchRequest', from: this.nodeId, to, epoch, fetchOffset: this.#log.endOffset, lastFetchedEpoch: this.#log.lastEpoch(), correlationId };
  }

  /** Observers find the leader by fetching from a random voter, which answers with what it knows. */
  #sendDiscoveryFetch(epoch: number): void {
    const s = this.#quorum.state;
    const peers = this.#quorum.voters.filter((id) => id !== this.nodeId);
    if (peers.length === 0) return;
    const to = peers[this.#rng.int(peers.length)]!;
    const correlationId = this.#nextCorrelationId++;
    if (s.kind === 'unattached') {
      s.discovery.start(correlationId, this.#now);
    } else if (s.kind === 'follower') {
      // A plain fetch replaces whatever was outstanding, including a snapshot transfer (restarted later).
      s.fetch.start(correlationId, this.#now);
      s.fetchedFrom = { offset: this.#log.endOffset, epoch: this.#log.lastEpoch() };
      s.snapshot = null;
    } else {
      return;
    }
    this.#send(this.#fetchRequest(to, epoch, correlationId));
  }

  #send(message: Message): void {
    assert(message.from === this.nodeId && message.to !== this.nodeId, 'bad message addressing');
    assert(messageSizeBytes(message) <= this.#limits.maxMessageBytes, () => `${message.type} exceeds maxMessageBytes`);
    if (this.#outbox.length >= this.#limits.maxOutboxMessages) {
      this.#droppedMessages++;
      return;
    }
    this.#outbox.push(message);
  }
}

const isCount = (n: number): boolean => Number.isSafeInteger(n) && n >= 0;
const isNodeId = (n: number | null): boolean => n === null || isCount(n);

/** Shape checks on network input, so a malformed message is dropped instead of tripping an assertion. */
function isWellFormed(m: Message): boolean {
  if (!isCount(m.from) || !isCount(m.to) || !isCount(m.epoch) || !Number.isSafeInteger(m.correlationId)) return false;
  switch (m.type) {
    case 'VoteRequest':
      return isCount(m.lastOffset) && isCount(m.lastOffsetEpoch) && m.lastOffsetEpoch <= m.epoch;
    case 'VoteResponse':
      return isCount(m.requestEpoch) && isNodeId(m.leaderId);
    case 'BeginQuorumEpochRequest':
    case 'EndQuorumEpochRequest':
      // Only the leader announces or ends its own epoch.
      return m.leaderId === m.from;
    case 'BeginQuorumEpochResponse':
    case 'EndQuorumEpochResponse':
      return isNodeId(m.leaderId);
    case 'FetchRequest':
      return isCount(m.fetchOffset) && isCount(m.lastFetchedEpoch) && m.lastFetchedEpoch <= m.epoch;
    case 'FetchResponse': {
      if (!isNodeId(m.leaderId) || !isCount(m.highWatermark)) return false;
      for (let i = 0; i < m.entries.length; i++) {
        const e = m.entries[i]!;
        if (!isCount(e.offset) || !isCount(e.epoch) || e.epoch > m.epoch || (i > 0 && e.offset !== m.entries[i - 1]!.offset + 1)) return false;
      }
      if (m.divergingEpoch && (!isCount(m.divergingEpoch.epoch) || !isCount(m.divergingEpoch.endOffset))) return false;
      return !m.snapshotId || (isCount(m.snapshotId.endOffset) && isCount(m.snapshotId.epoch));
    }
    case 'FetchSnapshotRequest':
      return isCount(m.position) && isCount(m.snapshotId.endOffset) && isCount(m.snapshotId.epoch);
    case 'FetchSnapshotResponse':
      return isNodeId(m.leaderId) && isCount(m.position) && isCount(m.size) && m.position + m.chunk.byteLength <= m.size;
  }
}
