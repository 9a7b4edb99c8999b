/**
 * QuorumDriver: the async shell around the pure RaftNode. It owns the only loop that talks to the core's Ready:
 *
 *   tick source   every `tickMs` (injected Timer): node.tick(), expire old proposals, kick the pump
 *   inputs        deliver(message) from the transport: stepped at once, except a Fetch whose entries are not in
 *                 memory, which waits in a bounded queue until the pump has loaded them
 *   proposals     propose(data) queues (bounded); the pump hands everything queued to node.propose() in one call
 *                 before taking a Ready, so all proposals that arrive while a Ready is being made durable become one
 *                 entry batch, one record batch and one fsync (group commit)
 *   the pump      one Ready at a time, in the order the Ready contract requires:
 *                   1. quorum-state.json (writeFileAtomic), snapshot files, then the log (reset / delete below the
 *                      snapshot / truncate / append + fsync): all durable before step 2;
 *                   2. send the messages, load an installed snapshot into the state machine, apply the committed
 *                      entries, resolve their proposals;
 *                   3. node.advance(); wake the transport's parked long-poll fetches if the log, the high watermark
 *                      or the role moved; take a snapshot if due.
 *                 Before ready() it loads the committed range the Ready will hand out into the log's read window.
 *
 * A failure of the pump (an I/O error, a broken invariant) is fatal: `onFatal` is called and the driver stops; the
 * process should exit and recover from disk (assertions stay on in production).
 */
import { assert, silentLogger, type Clock, type Logger, type Timer, type TimerHandle } from '@tributary/common';
import { describeRole, type Entry, type Message, type RaftNode, type Ready, type Snapshot, type SnapshotId } from '@tributary/raft';
import type { RaftTransport } from '@tributary/rpc';
import type { StateMachine } from './state-machine.ts';
import type { LogWrites } from './stored-log.ts';

/** What the driver needs from durable storage (StoredRaftLog + files.ts in production, memory in tests). */
export interface DriverStore {
  writeQuorumState(q: NonNullable<Ready['persistQuorumState']>): Promise<void>;
  writeSnapshot(s: Snapshot): Promise<void>;
  log: {
    readyTaken(): void;
    persist(w: LogWrites): Promise<void>;
    covers(from: number, to: number): boolean;
    load(from: number, to: number): Promise<void>;
  };
}

export type ProposalFailure = 'not-leader' | 'overloaded' | 'too-large' | 'timeout' | 'lost' | 'stopped';

export class ProposalError extends Error {
  override name = 'ProposalError';
  readonly reason: ProposalFailure;
  readonly leaderId: number | null;
  constructor(reason: ProposalFailure, leaderId: number | null, message: string) {
    super(message);
    this.reason = reason;
    this.leaderId = leaderId;
  }
}

export interface QuorumDriverOptions {
  node: RaftNode;
  store: DriverStore;
  transport: RaftTransport;
  stateMachine: StateMachine;
  timer: Timer;
  clock: Clock;
  logger?: Logger;
  tickMs: number;
  /** Queued plus uncommitted proposals; beyond it propose() fails with 'overloaded'. */
  maxPendingProposals?: number;
  /** A proposal not committed this long fails with 'timeout' (its outcome is then unknown). */
  proposalTimeoutMs?: number;
  /** Take a snapshot once this many entries were applied beyond the log start (0: only on request). */
  snapshotIntervalEntries?: number;
  /** The core's limits the driver must respect (records per propose, committed entries per Ready, fetch entries). */
  maxProposalEntries?: number;
  maxCommittedPerReady?: number;
  maxFetchEntries?: number;
  maxEntryBytes?: number;
  /** Fetches waiting for a load; beyond it they are stepped at once (and may be answered with no entries). */
  maxQueuedFetches?: number;
  onFatal?: (err: unknown) => void;
}

interface Queued {
  data: Uint8Array;
  enqueuedMs: number;
  resolve: (r: { offset: number; epoch: number }) => void;
  reject: (e: ProposalError) => void;
}

interface InFlight extends Queued {
  offset: number;
  epoch: number;
}

export interface DriverStats {
  ticks: number;
  readies: number;
  proposeCalls: number;
  proposalsAccepted: number;
  proposalsCommitted: number;
  proposalsFailed: number;
  entriesApplied: number;
  snapshotsCreated: number;
  snapshotsInstalled: number;
  fetchesQueued: number;
  wakes: number;
}

export class QuorumDriver {
  readonly stats: DriverStats = { ticks: 0, readies: 0, proposeCalls: 0, proposalsAccepted: 0, proposalsCommitted: 0, proposalsFailed: 0, entriesApplied: 0, snapshotsCreated: 0, snapshotsInstalled: 0, fetchesQueued: 0, wakes: 0 };
  readonly node: RaftNode;
  readonly #store: DriverStore;
  readonly #transport: RaftTransport;
  readonly #sm: StateMachine;
  readonly #timer: Timer;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #tickMs: number;
  readonly #maxPending: number;
  readonly #proposalTimeoutMs: number;
  readonly #snapshotInterval: number;
  readonly #maxProposalEntries: number;
  readonly #maxCommittedPerReady: number;
  readonly #maxFetchEntries: number;
  readonly #maxQueuedFetches: number;
  readonly #maxEntryBytesValue: number;
  readonly #onFatal: (err: unknown) => void;

  #queued: Queued[] = [];
  readonly #inFlight = new Map<number, InFlight>();
  #fetchQueue: Message[] = [];
  #applied: number;
  #running = false;
  /** The core refused proposals for too many uncommitted entries: retry on the next Ready or tick, not at once. */
  #backPressured = false;
  #started = false;
  #stopped = false;
  #failed: unknown = null;
  #tickHandle: TimerHandle | null = null;
  #nextTickMs = 0;
  #idle: Promise<void> = Promise.resolve();
  #resolveIdle: (() => void) | null = null;
  #snapshotWaiters: ((id: SnapshotId | null) => void)[] = [];
  #lastHighWatermark: number;

  constructor(opts: QuorumDriverOptions) {
    this.node = opts.node;
    this.#store = opts.store;
    this.#transport = opts.transport;
    this.#sm = opts.stateMachine;
    this.#timer = opts.timer;
    this.#clock = opts.clock;
    this.#logger = (opts.logger ?? silentLogger).child({ component: 'quorum-driver' });
    this.#tickMs = opts.tickMs;
    this.#maxPending = opts.maxPendingProposals ?? 50_000;
    this.#proposalTimeoutMs = opts.proposalTimeoutMs ?? 5000;
    this.#snapshotInterval = opts.snapshotIntervalEntries ?? 0;
    this.#maxProposalEntries = opts.maxProposalEntries ?? 1024;
    this.#maxCommittedPerReady = opts.maxCommittedPerReady ?? 4096;
    this.#maxFetchEntries = opts.maxFetchEntries ?? 1024;
    this.#maxQueuedFetches = opts.maxQueuedFetches ?? 64;
    this.#maxEntryBytesValue = opts.maxEntryBytes ?? 1024 * 1024;
    this.#onFatal = opts.onFatal ?? ((err) => this.#logger.error({ err: String(err) }, 'quorum driver failed'));
    assert(this.#tickMs > 0 && this.#maxPending > 0 && this.#proposalTimeoutMs > 0, 'driver settings must be positive');
    // The state machine holds the snapshot (restored by the caller); everything after it is re-applied.
    this.#applied = opts.node.log.startOffset;
    this.#lastHighWatermark = opts.node.highWatermark;
  }

  get appliedOffset(): number {
    return this.#applied;
  }

  get pendingProposals(): number {
    return this.#queued.length + this.#inFlight.size;
  }

  start(): void {
    assert(!this.#started, 'driver started twice');
    this.#started = true;
    this.#nextTickMs = this.#clock.monotonicMs() + this.#tickMs;
    this.#scheduleTick();
    this.#kick();
  }

  /** Stops ticking and waits for the Ready in progress; pending proposals fail with 'stopped'. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#tickHandle?.cancel();
    this.#tickHandle = null;
    await this.#idle;
    this.#failAll('stopped', 'the node is stopping');
    for (const w of this.#snapshotWaiters.splice(0)) w(null);
  }

  // ---------------------------------------------------------------- inputs

  /** Every message for this node (the transport's `deliver`). */
  deliver(message: Message): void {
    if (this.#stopped) return;
    if (message.type === 'FetchRequest' && this.node.isLeader && this.#fetchQueue.length < this.#maxQueuedFetches) {
      const log = this.node.log;
      const from = message.fetchOffset;
      if (from >= log.startOffset && from < log.endOffset && !this.#store.log.covers(from, from + this.#maxFetchEntries)) {
        // A lagging follower: its entries are on disk only. Load them first (in the pump), then step.
        this.stats.fetchesQueued++;
        this.#fetchQueue.push(message);
        this.#kick();
        return;
      }
    }
    this.node.step(message);
    this.#kick();
  }

  /** Resolves once `data` is committed and applied on this node. Fails fast when this node is not the leader. */
  propose(data: Uint8Array): Promise<{ offset: number; epoch: number }> {
    if (this.#stopped) return Promise.reject(new ProposalError('stopped', null, 'the node is stopping'));
    if (!this.node.isLeader) {
      const leaderId = this.node.role.leaderId;
      return Promise.reject(new ProposalError('not-leader', leaderId, `node ${this.node.nodeId} is not the leader${leaderId !== null ? ` (node ${leaderId} is)` : ''}`));
    }
    if (this.pendingProposals >= this.#maxPending) return Promise.reject(new ProposalError('overloaded', this.node.nodeId, `${this.pendingProposals} proposals pending`));
    return new Promise((resolve, reject) => {
      this.#queued.push({ data, enqueuedMs: this.#clock.monotonicMs(), resolve, reject });
      this.#kick();
    });
  }

  /**
   * Give up leadership now (the core's resign(): EndQuorumEpoch names the successors). False when not leading.
   * A state machine calls it when its leader-only state can no longer be trusted (a proposal with an unknown outcome).
   */
  resign(): boolean {
    if (this.#stopped || !this.node.resign()) return false;
    this.#kick();
    return true;
  }

  /** Snapshot the state machine at what it has applied (between two Readies). Null when nothing new is covered. */
  requestSnapshot(): Promise<SnapshotId | null> {
    if (this.#stopped) return Promise.resolve(null);
    return new Promise((resolve) => {
      this.#snapshotWaiters.push(resolve);
      this.#kick();
    });
  }

  // ---------------------------------------------------------------- tick source

  #scheduleTick(): void {
    if (this.#stopped) return;
    const delay = Math.max(0, this.#nextTickMs - this.#clock.monotonicMs());
    this.#tickHandle = this.#timer.after(delay, () => {
      if (this.#stopped) return;
      const now = this.#clock.monotonicMs();
      // One tick per firing; after a long stall do not burst ticks (that would fire every timeout at once).
      this.#nextTickMs = Math.max(this.#nextTickMs + this.#tickMs, now + 1);
      this.stats.ticks++;
      this.node.tick();
      this.#expireProposals(now);
      this.#kick();
      this.#scheduleTick();
    });
  }

  #expireProposals(now: number): void {
    const deadline = now - this.#proposalTimeoutMs;
    for (const [offset, p] of this.#inFlight) {
      if (p.enqueuedMs > deadline) break;
      this.#inFlight.delete(offset);
      this.stats.proposalsFailed++;
      p.reject(new ProposalError('timeout', this.node.role.leaderId, `not committed within ${this.#proposalTimeoutMs} ms (outcome unknown)`));
    }
    while (this.#queued.length > 0 && this.#queued[0]!.enqueuedMs <= deadline) {
      this.stats.proposalsFailed++;
      this.#queued.shift()!.reject(new ProposalError('timeout', this.node.role.leaderId, `not proposed within ${this.#proposalTimeoutMs} ms`));
    }
  }

  // ---------------------------------------------------------------- the pump

  #kick(): void {
    if (this.#running || this.#stopped || !this.#started || this.#failed !== null) return;
    this.#running = true;
    this.#idle = new Promise((resolve) => (this.#resolveIdle = resolve));
    queueMicrotask(() => void this.#run());
  }

  async #run(): Promise<void> {
    try {
      let misses = 0;
      // Bounded by the work available: every round either takes a Ready or loads entries a Ready needs.
      while (!this.#stopped) {
        this.#flushProposals();
        await this.#stepQueuedFetches();
        if (this.#snapshotWaiters.length > 0 || this.#snapshotDue()) await this.#snapshot();
        if (!(await this.#loadCommittedRange())) {
          assert(++misses < 100, 'the committed range does not load');
          continue;
        }
        misses = 0;
        if (!this.node.hasReady()) break;
        const rd = this.node.ready();
        this.#store.log.readyTaken();
        this.stats.readies++;
        this.#beforePersist(rd);
        await this.#persist(rd);
        this.#afterPersist(rd);
        this.node.advance();
        if (rd.appendEntries.length > 0 || rd.highWatermark !== this.#lastHighWatermark || rd.roleChanges.length > 0 || rd.truncateTo !== null || rd.installSnapshot !== null) {
          this.stats.wakes++;
          this.#transport.wake();
        }
        this.#lastHighWatermark = rd.highWatermark;
      }
    } catch (err) {
      this.#failed = err;
      this.#stopped = true;
      this.#tickHandle?.cancel();
      this.#failAll('stopped', `the node failed: ${String(err)}`);
      this.#logger.error({ err: err instanceof Error ? (err.stack ?? err.message) : String(err) }, 'quorum driver failed');
      this.#onFatal(err);
    } finally {
      this.#running = false;
      this.#resolveIdle?.();
      // Work that arrived after the last hasReady() check.
      if (!this.#stopped && (this.node.hasReady() || (this.#queued.length > 0 && !this.#backPressured) || this.#fetchQueue.length > 0)) this.#kick();
    }
  }

  #flushProposals(): void {
    this.#backPressured = false;
    if (this.#queued.length === 0) return;
    if (!this.node.isLeader) {
      this.#failQueued('not-leader', `node ${this.node.nodeId} is no longer the leader`);
      return;
    }
    // Bounded: each round takes up to maxProposalEntries off the queue or stops.
    while (this.#queued.length > 0) {
      const batch = this.#queued.slice(0, this.#maxProposalEntries);
      this.stats.proposeCalls++;
      const result = this.node.propose(batch.map((q) => q.data));
      if (!result.accepted) {
        if (result.reason === 'too-many-uncommitted') {
          this.#backPressured = true;
          return;
        }
        if (result.reason === 'record-too-large') {
          // Find the culprits; the others go again in the next round.
          this.#queued = this.#queued.filter((q, i) => {
            if (i >= batch.length || q.data.byteLength <= this.#maxEntryBytesValue) return true;
            this.stats.proposalsFailed++;
            q.reject(new ProposalError('too-large', this.node.nodeId, `${q.data.byteLength} bytes exceed the entry size limit`));
            return false;
          });
          continue;
        }
        this.#failQueued(result.reason === 'not-leader' ? 'not-leader' : 'overloaded', `propose rejected: ${result.reason}`);
        return;
      }
      this.#queued.splice(0, batch.length);
      this.stats.proposalsAccepted += batch.length;
      batch.forEach((q, i) => this.#inFlight.set(result.offset + i, { ...q, offset: result.offset + i, epoch: result.epoch }));
    }
  }

  async #stepQueuedFetches(): Promise<void> {
    if (this.#fetchQueue.length === 0) return;
    const queue = this.#fetchQueue;
    this.#fetchQueue = [];
    for (const m of queue) {
      assert(m.type === 'FetchRequest', 'only fetches are queued');
      await this.#store.log.load(m.fetchOffset, m.fetchOffset + this.#maxFetchEntries);
      if (this.#stopped) return;
      this.node.step(m);
    }
  }

  /** Makes sure the entries the next Ready hands out as committed are in memory; false if it had to load. */
  async #loadCommittedRange(): Promise<boolean> {
    const log = this.node.log;
    const from = this.#applied;
    const to = Math.min(this.node.highWatermark, log.endOffset, from + this.#maxCommittedPerReady);
    if (from >= to || this.#store.log.covers(from, to)) return true;
    await this.#store.log.load(from, to);
    return false;
  }

  #snapshotDue(): boolean {
    return this.#snapshotInterval > 0 && this.#applied - this.node.log.startOffset >= this.#snapshotInterval;
  }

  async #snapshot(): Promise<void> {
    const waiters = this.#snapshotWaiters.splice(0);
    let id: SnapshotId | null = null;
    const end = this.#applied;
    if (end > this.node.log.startOffset) {
      // createSnapshot reads the epoch of the last covered entry.
      await this.#store.log.load(end - 1, end);
      if (this.#applied === end && end > this.node.log.startOffset) {
        id = this.node.createSnapshot(end, this.#sm.snapshot());
        if (id) {
          this.stats.snapshotsCreated++;
          this.#logger.info({ endOffset: id.endOffset, epoch: id.epoch }, 'snapshot created');
        }
      }
    }
    for (const w of waiters) w(id);
  }

  #beforePersist(rd: Ready): void {
    for (const c of rd.roleChanges) this.#logger.info({ from: describeRole(c.from), to: describeRole(c.to), reason: c.reason }, 'role change');
    if (rd.truncateTo !== null) {
      // Entries at or above the truncation are gone: their proposals can never commit.
      for (const [offset, p] of this.#inFlight) {
        if (offset < rd.truncateTo) continue;
        this.#inFlight.delete(offset);
        this.stats.proposalsFailed++;
        p.reject(new ProposalError('lost', rd.role.leaderId, `entry ${offset} was truncated in a leader change`));
      }
    }
  }

  async #persist(rd: Ready): Promise<void> {
    if (rd.persistQuorumState) await this.#store.writeQuorumState(rd.persistQuorumState);
    if (rd.installSnapshot) await this.#store.writeSnapshot(rd.installSnapshot);
    if (rd.persistSnapshot) await this.#store.writeSnapshot(rd.persistSnapshot);
    await this.#store.log.persist({
      installSnapshot: rd.installSnapshot?.id ?? null,
      persistSnapshot: rd.persistSnapshot?.id ?? null,
      truncateTo: rd.truncateTo,
      appendEntries: rd.appendEntries,
    });
  }

  #afterPersist(rd: Ready): void {
    for (const m of rd.messages) this.#transport.send(m);
    if (rd.roleChanges.length > 0) this.#sm.roleChanged?.(rd.role);
    if (rd.installSnapshot) {
      const id = rd.installSnapshot.id;
      this.#sm.restore(rd.installSnapshot);
      this.#applied = id.endOffset;
      this.stats.snapshotsInstalled++;
      this.#logger.info({ endOffset: id.endOffset, epoch: id.epoch }, 'snapshot installed');
      for (const [offset, p] of this.#inFlight) {
        if (offset >= id.endOffset) continue;
        this.#inFlight.delete(offset);
        this.stats.proposalsFailed++;
        p.reject(new ProposalError('timeout', rd.role.leaderId, `entry ${offset} was replaced by a snapshot (outcome unknown)`));
      }
    }
    if (rd.committed.length > 0) this.#apply(rd.committed);
  }

  #apply(entries: readonly Entry[]): void {
    assert(entries[0]!.offset === this.#applied, () => `applying ${entries[0]!.offset}, applied up to ${this.#applied}`);
    this.#sm.apply(entries);
    this.#applied = entries[entries.length - 1]!.offset + 1;
    this.stats.entriesApplied += entries.length;
    for (const entry of entries) {
      const p = this.#inFlight.get(entry.offset);
      if (!p) continue;
      this.#inFlight.delete(entry.offset);
      if (p.epoch === entry.epoch) {
        this.stats.proposalsCommitted++;
        p.resolve({ offset: entry.offset, epoch: entry.epoch });
      } else {
        this.stats.proposalsFailed++;
        p.reject(new ProposalError('lost', this.node.role.leaderId, `entry ${entry.offset} committed in epoch ${entry.epoch}, not ours (${p.epoch})`));
      }
    }
  }

  #failQueued(reason: ProposalFailure, message: string): void {
    const leaderId = this.node.role.leaderId;
    for (const q of this.#queued.splice(0)) {
      this.stats.proposalsFailed++;
      q.reject(new ProposalError(reason, leaderId, message));
    }
  }

  #failAll(reason: ProposalFailure, message: string): void {
    this.#failQueued(reason, message);
    for (const p of this.#inFlight.values()) {
      this.stats.proposalsFailed++;
      p.reject(new ProposalError(reason, null, message));
    }
    this.#inFlight.clear();
  }
}
