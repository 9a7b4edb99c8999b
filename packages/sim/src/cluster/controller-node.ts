/**
 * One simulated controller voter: a RaftNode with a simulated disk (as in ../simulation.ts: a Ready is durable
 * after a seeded latency, a crash keeps a random prefix of its writes and none of its messages), the real
 * QuorumController from @tributary/controller as its state machine, and SimDriver, the part of QuorumDriver the
 * controller uses (node, propose, resign) with QuorumDriver's rules: proposals resolve when their entry is applied
 * in their epoch, fail when truncated, committed in another epoch, replaced by a snapshot, or not committed within
 * the proposal timeout; role changes reach the controller after the Ready's writes and before its applies.
 */
import { assert, seededRng, type Clock, type Rng, type Timer } from '@tributary/common';
import { QuorumController, type QuorumControllerOptions } from '@tributary/controller';
import { RaftNode, type Entry, type Message, type Ready, type RoleInfo, type Snapshot } from '@tributary/raft';
import { applyWriteOp, writeOps, type DurableStore, type WriteOp } from '../durable-store.ts';
import { HashChainStateMachine } from '../state-machine.ts';

/** What a controller node needs from the simulation around it. */
export interface ControllerHost {
  readonly rng: Rng;
  nowTick(): number;
  nowMs(): number;
  maxDiskLatencyTicks: number;
  proposalTimeoutMs: number;
  send(message: Message): void;
  log(line: string): void;
  /** Raft safety hooks (the quorum InvariantChecker). */
  onDurableEpoch(nodeId: number, epoch: number): void;
  onSend(nodeId: number, message: Message): void;
  /** Before the controller applies `entries` (the checker records the committed log and its images first). */
  onCommitted(nodeId: number, entries: readonly Entry[], chain: HashChainStateMachine): void;
  /** Right after the controller applied committed entries (where it may have become active). */
  onApplied(nodeId: number): void;
  onRoleChanges(nodeId: number, ready: Ready): void;
  onSnapshotInstalled(nodeId: number, snapshot: Snapshot): void;
  /** The committed log's hash chain up to `endOffset` (a snapshot's state for the hash-chain check). */
  chainAt(endOffset: number): number;
  /** The planted bug hook: may rewrite a proposal's bytes (identity normally). */
  rewriteProposal(data: Uint8Array): Uint8Array;
}

interface PendingProposal {
  readonly data: Uint8Array;
  readonly enqueuedMs: number;
  readonly resolve: (r: { offset: number; epoch: number }) => void;
  readonly reject: (e: Error) => void;
  offset: number;
  epoch: number;
}

/** Proposals queued plus in flight at one controller (QuorumDriver's maxPendingProposals, scaled down). */
export const MAX_PENDING_PROPOSALS = 10_000;

/** The QuorumDriver surface QuorumController uses, over a RaftNode the simulation pumps. */
export class SimDriver {
  readonly node: RaftNode;
  readonly #host: ControllerHost;
  readonly #nodeId: number;
  #queued: PendingProposal[] = [];
  readonly #inFlight = new Map<number, PendingProposal>();
  readonly stats = { proposed: 0, committed: 0, failed: 0 };

  constructor(nodeId: number, node: RaftNode, host: ControllerHost) {
    this.#nodeId = nodeId;
    this.node = node;
    this.#host = host;
  }

  propose(data: Uint8Array): Promise<{ offset: number; epoch: number }> {
    if (!this.node.isLeader) return Promise.reject(new Error(`node ${this.#nodeId} is not the leader`));
    if (this.#queued.length + this.#inFlight.size >= MAX_PENDING_PROPOSALS) return Promise.reject(new Error(`${MAX_PENDING_PROPOSALS} proposals pending`));
    return new Promise((resolve, reject) => {
      this.#queued.push({ data: this.#host.rewriteProposal(data), enqueuedMs: this.#host.nowMs(), resolve, reject, offset: -1, epoch: -1 });
    });
  }

  resign(): boolean {
    return this.node.resign();
  }

  /** Hands queued proposals to the core (the driver's pump does this before taking a Ready). */
  flush(): void {
    if (this.#queued.length === 0) return;
    if (!this.node.isLeader) {
      this.#failQueued(`node ${this.#nodeId} is no longer the leader`);
      return;
    }
    // Bounded by the queue; the core's back-pressure (too many uncommitted entries) leaves the rest queued.
    while (this.#queued.length > 0) {
      const p = this.#queued[0]!;
      const result = this.node.propose([p.data]);
      if (!result.accepted) {
        if (result.reason === 'too-many-uncommitted') return;
        this.#queued.shift();
        this.stats.failed++;
        p.reject(new Error(`propose rejected: ${result.reason}`));
        continue;
      }
      this.#queued.shift();
      this.stats.proposed++;
      p.offset = result.offset;
      p.epoch = result.epoch;
      this.#inFlight.set(result.offset, p);
    }
  }

  get queuedCount(): number {
    return this.#queued.length;
  }

  expire(nowMs: number): void {
    const deadline = nowMs - this.#host.proposalTimeoutMs;
    for (const [offset, p] of this.#inFlight) {
      if (p.enqueuedMs > deadline) continue;
      this.#inFlight.delete(offset);
      this.stats.failed++;
      p.reject(new Error(`entry ${offset} not committed within ${this.#host.proposalTimeoutMs} ms (outcome unknown)`));
    }
    while (this.#queued.length > 0 && this.#queued[0]!.enqueuedMs <= deadline) {
      this.stats.failed++;
      this.#queued.shift()!.reject(new Error(`not proposed within ${this.#host.proposalTimeoutMs} ms`));
    }
  }

  truncated(from: number): void {
    for (const [offset, p] of this.#inFlight) {
      if (offset < from) continue;
      this.#inFlight.delete(offset);
      this.stats.failed++;
      p.reject(new Error(`entry ${offset} was truncated in a leader change`));
    }
  }

  snapshotInstalled(endOffset: number): void {
    for (const [offset, p] of this.#inFlight) {
      if (offset >= endOffset) continue;
      this.#inFlight.delete(offset);
      this.stats.failed++;
      p.reject(new Error(`entry ${offset} was replaced by a snapshot (outcome unknown)`));
    }
  }

  applied(entries: readonly Entry[]): void {
    for (const entry of entries) {
      const p = this.#inFlight.get(entry.offset);
      if (!p) continue;
      this.#inFlight.delete(entry.offset);
      if (p.epoch === entry.epoch) {
        this.stats.committed++;
        p.resolve({ offset: entry.offset, epoch: entry.epoch });
      } else {
        this.stats.failed++;
        p.reject(new Error(`entry ${entry.offset} committed in epoch ${entry.epoch}, not ours (${p.epoch})`));
      }
    }
  }

  #failQueued(why: string): void {
    for (const q of this.#queued.splice(0)) {
      this.stats.failed++;
      q.reject(new Error(why));
    }
  }
}

export interface ControllerNodeConfig {
  readonly id: number;
  readonly voters: readonly number[];
  readonly raftTiming: { electionTimeoutTicks: number; fetchTimeoutTicks: number; fetchIntervalTicks: number; requestTimeoutTicks: number };
  readonly raftLimits: { maxFetchEntries: number; maxSnapshotChunkBytes: number; maxUncommittedEntries: number; maxCommittedPerReady: number };
  readonly seed: number;
  /** Everything QuorumController needs but its clock, timer and rng (fresh per incarnation). */
  readonly controller: Omit<QuorumControllerOptions, 'nodeId' | 'clock' | 'timer' | 'rng'>;
}

export class ControllerNode {
  readonly id: number;
  readonly config: ControllerNodeConfig;
  readonly store: DurableStore = { quorumState: null, snapshot: null, entries: [] };
  incarnation = 0;
  raft: RaftNode | null = null;
  driver: SimDriver | null = null;
  controller: QuorumController | null = null;
  /** Hash chain of applied entries, for the quorum InvariantChecker. */
  chain = new HashChainStateMachine();
  inFlight: { ready: Ready; dueTick: number } | null = null;
  /** Epoch in which this incarnation's controller became active (-1: not active). */
  activeEpoch = -1;
  stallProbability: number;

  constructor(config: ControllerNodeConfig, stallProbability: number) {
    this.id = config.id;
    this.config = config;
    this.stallProbability = stallProbability;
  }

  get alive(): boolean {
    return this.raft !== null;
  }

  /** Owner key of this incarnation's timers. */
  get timerOwner(): number {
    return this.id * 100_000 + this.incarnation;
  }

  /** (Re)starts from the durable store; `timerFor` gives this incarnation's timers (they die with it). */
  start(host: ControllerHost, clock: Clock, timerFor: (owner: number) => Timer): void {
    this.incarnation++;
    const s = this.store;
    const rngSeed = (this.config.seed * 31 + this.id * 1009 + this.incarnation * 7919) >>> 0;
    const raft = new RaftNode({
      nodeId: this.id,
      voters: this.config.voters,
      ...this.config.raftTiming,
      rng: seededRng(rngSeed),
      limits: this.config.raftLimits,
      restored: { quorumState: s.quorumState, snapshot: s.snapshot, entries: [...s.entries] },
    });
    const controller = new QuorumController({ ...this.config.controller, nodeId: this.id, clock, timer: timerFor(this.timerOwner), rng: seededRng((rngSeed ^ 0xc0ffee) >>> 0) });
    // The caller restores the state machine from the snapshot; the log after it is applied again as it commits.
    controller.restore(s.snapshot);
    const driver = new SimDriver(this.id, raft, host);
    // SimDriver has what QuorumController uses of QuorumDriver (node, propose, resign).
    controller.bind(driver as unknown as Parameters<QuorumController['bind']>[0]);
    this.raft = raft;
    this.driver = driver;
    this.controller = controller;
    this.chain = new HashChainStateMachine();
    const end = s.snapshot?.id.endOffset ?? 0;
    this.chain.appliedTo = end;
    this.chain.chain = host.chainAt(end);
    this.inFlight = null;
    this.activeEpoch = -1;
  }

  /** Loses memory, the Ready in flight and its messages; a random prefix of its writes may have reached the disk. */
  crash(host: ControllerHost, partialWriteProbability: number): string {
    const inFlight = this.inFlight;
    let partial = '';
    if (inFlight && host.rng.next() < partialWriteProbability) {
      const ops = writeOps(inFlight.ready);
      const count = host.rng.int(ops.length + 1);
      for (let i = 0; i < count; i++) this.applyOp(host, ops[i]!);
      partial = ` (${count}/${ops.length} writes of its Ready reached the disk)`;
    }
    this.raft = null;
    this.driver = null;
    this.controller = null;
    this.inFlight = null;
    this.activeEpoch = -1;
    return partial;
  }

  /** Moves Readies through the disk: take one, complete it when due, repeat. */
  pump(host: ControllerHost): void {
    for (let guard = 0; guard < 1000; guard++) {
      const raft = this.raft;
      if (!raft) return;
      if (this.inFlight) {
        if (this.inFlight.dueTick > host.nowTick()) return;
        const ready = this.inFlight.ready;
        this.inFlight = null;
        this.#complete(host, ready);
        // The controller may have been crashed by a failure hook; a live node advances.
        if (this.raft !== raft) return;
        raft.advance();
        continue;
      }
      this.driver!.flush();
      if (!raft.hasReady()) return;
      const ready = raft.ready();
      host.onRoleChanges(this.id, ready);
      if (ready.truncateTo !== null) this.driver!.truncated(ready.truncateTo);
      this.inFlight = { ready, dueTick: host.nowTick() + host.rng.int(host.maxDiskLatencyTicks + 1) };
    }
    assert(false, `controller ${this.id}: Ready loop did not settle`);
  }

  #complete(host: ControllerHost, rd: Ready): void {
    for (const op of writeOps(rd)) this.applyOp(host, op);
    for (const m of rd.messages) {
      host.onSend(this.id, m);
      host.send(m);
    }
    const controller = this.controller!;
    if (rd.roleChanges.length > 0) controller.roleChanged(rd.role as RoleInfo);
    if (rd.installSnapshot) {
      const snap = rd.installSnapshot;
      host.onSnapshotInstalled(this.id, snap);
      controller.restore(snap);
      this.chain = new HashChainStateMachine();
      this.chain.appliedTo = snap.id.endOffset;
      this.chain.chain = host.chainAt(snap.id.endOffset);
      this.driver!.snapshotInstalled(snap.id.endOffset);
    }
    if (rd.committed.length > 0) {
      host.onCommitted(this.id, rd.committed, this.chain);
      controller.apply(rd.committed);
      host.onApplied(this.id);
      this.driver!.applied(rd.committed);
    }
  }

  applyOp(host: ControllerHost, op: WriteOp): void {
    applyWriteOp(this.store, op, `controller ${this.id}`, (epoch) => host.onDurableEpoch(this.id, epoch));
  }
}
