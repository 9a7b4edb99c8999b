/**
 * Deterministic simulation of a KRaft quorum (1-5 voters, 0-3 observers), TigerBeetle-VOPR style: one seed
 * fixes everything (cluster shape, fault rates, every choice), so any failure replays exactly.
 *
 * Each step is one event: a global tick (every live node ticks, except one whose clock stalls), the delivery
 * of one due message (chosen at random among due ones: reordering), a client proposal at a random node, or a
 * fault: crash, restart, partition (split, isolate, one-way), heal, resign, snapshot. Readies go to a
 * simulated disk that takes 0..maxDiskLatencyTicks to make them durable; only then are their messages sent,
 * their committed entries applied and the node advanced. A crash loses the node's memory and the Ready in
 * flight, of which a random prefix of the writes may have reached the disk (never the messages).
 *
 * After every event the InvariantChecker runs (see invariants.ts). At the end comes the liveness phase:
 * heal the network, restart every node, stop dropping and duplicating, and require that within
 * `livenessTicks` a leader is elected and a fresh proposal commits, and then that every node applies it
 * within a catch-up budget proportional to how far behind it is.
 */
import { assert, seededRng, type Rng } from '@tributary/common';
import { describeMessage, describeRole, RaftNode, type Message, type Ready } from '@tributary/raft';
import { applyWriteOp, writeOps, type DurableStore, type WriteOp } from './durable-store.ts';
import { InvariantChecker, InvariantViolation } from './invariants.ts';
import { SimNetwork } from './network.ts';
import { decodeSnapshot, HashChainStateMachine } from './state-machine.ts';

export interface SimulationOptions {
  seed: number;
  steps: number;
  /** 1-5; drawn from the seed when absent. */
  voters?: number;
  /** 0-3; drawn from the seed when absent. */
  observers?: number;
  /** Lines of trace kept for a failure report. */
  traceLines?: number;
  /** Keep every trace line (for `--verbose`). */
  onTrace?: (line: string) => void;
}

export interface SimulationStats {
  ticks: number;
  events: number;
  messagesSent: number;
  messagesDropped: number;
  proposalsAccepted: number;
  committed: number;
  crashes: number;
  partitions: number;
  snapshots: number;
  snapshotInstalls: number;
  elections: number;
  maxEpoch: number;
  livenessTicks: number;
  /** Readies that truncated the log (diverging epochs). */
  truncations: number;
  checkQuorumResignations: number;
  preVotesLost: number;
  /** Elections started by an EndQuorumEpoch's first preferred successor. */
  handovers: number;
}

export interface SimulationResult {
  seed: number;
  ok: boolean;
  failure: string | null;
  /** The last lines of the trace (all lines up to the failure's tail when it failed). */
  traceTail: string[];
  stats: SimulationStats;
  config: string;
}

interface SimNode {
  id: number;
  isVoter: boolean;
  raft: RaftNode | null;
  store: DurableStore;
  incarnation: number;
  sm: HashChainStateMachine;
  inFlight: { ready: Ready; dueTick: number } | null;
  /** Probability this node's clock skips a tick (drift, pauses). */
  stallProbability: number;
}


export function runSimulation(options: SimulationOptions): SimulationResult {
  const sim = new Simulation(options);
  return sim.run();
}

class Simulation {
  readonly #seed: number;
  readonly #steps: number;
  readonly #rng: Rng;
  readonly #net: SimNetwork;
  readonly #nodes: SimNode[] = [];
  readonly #voterIds: number[];
  readonly #checker = new InvariantChecker();
  readonly #trace: string[] = [];
  readonly #traceLines: number;
  readonly #onTrace: ((line: string) => void) | undefined;
  readonly #weights: { crash: number; restart: number; partition: number; heal: number; resign: number; snapshot: number; propose: number };
  readonly #maxDiskLatencyTicks: number;
  readonly #partialWriteProbability: number;
  readonly #livenessTicks: number;
  readonly #roundTripTicks: number;
  /** Probability a new leader is crashed within a few round trips (provokes Raft's figure-8 interleavings). */
  readonly #leaderKillProbability: number;
  readonly #scheduledCrashes = new Map<number, number>();
  #inLiveness = false;
  readonly #limits: { maxFetchEntries: number; maxSnapshotChunkBytes: number; maxUncommittedEntries: number; maxObservers: number; maxCommittedPerReady: number };
  readonly #timing: { electionTimeoutTicks: number; fetchTimeoutTicks: number; fetchIntervalTicks: number; requestTimeoutTicks: number };
  #now = 0;
  #clientSeq = 0;
  readonly #stats: SimulationStats = {
    ticks: 0,
    events: 0,
    messagesSent: 0,
    messagesDropped: 0,
    proposalsAccepted: 0,
    committed: 0,
    crashes: 0,
    partitions: 0,
    snapshots: 0,
    snapshotInstalls: 0,
    elections: 0,
    maxEpoch: 0,
    livenessTicks: 0,
    truncations: 0,
    checkQuorumResignations: 0,
    preVotesLost: 0,
    handovers: 0,
  };
  readonly #config: string;

  constructor(options: SimulationOptions) {
    assert(Number.isInteger(options.seed), 'seed must be an integer');
    assert(Number.isInteger(options.steps) && options.steps > 0, 'steps must be a positive integer');
    this.#seed = options.seed;
    this.#steps = options.steps;
    this.#rng = seededRng(options.seed);
    const rng = this.#rng;
    // Swarm the shapes, favouring 3 voters: the smallest quorum with room for Raft's figure-8 interleavings.
    const voterChoices = [1, 2, 3, 3, 3, 4, 5, 5];
    const voters = options.voters ?? voterChoices[rng.int(voterChoices.length)]!;
    const observers = options.observers ?? rng.int(4);
    assert(voters >= 1 && voters <= 5 && observers >= 0 && observers <= 3, 'voters 1-5, observers 0-3');
    this.#traceLines = options.traceLines ?? 200;
    this.#onTrace = options.onTrace;

    // Fault profile, drawn from the seed: some seeds are calm, some are storms.
    const intensity = rng.next();
    const maxDelayTicks = 1 + rng.int(4);
    this.#net = new SimNetwork(seededRng(options.seed ^ 0x5eed), {
      dropProbability: rng.next() < 0.3 ? 0 : rng.next() * 0.15 * intensity,
      duplicateProbability: rng.next() < 0.5 ? 0 : rng.next() * 0.1,
      maxDelayTicks,
    });
    this.#maxDiskLatencyTicks = rng.int(3);
    this.#partialWriteProbability = rng.next();
    this.#weights = {
      crash: 0.6 * intensity,
      restart: 3,
      partition: 0.5 * intensity,
      heal: 1.5,
      resign: 0.15,
      snapshot: rng.next() < 0.2 ? 0 : 0.6,
      propose: 4 + rng.int(10),
    };
    // Timing, also from the seed, but always workable: the fetch timeout spans several round trips (a
    // timeout shorter than the network's round trip makes progress impossible, which is not a bug).
    const roundTripTicks = 2 * maxDelayTicks + 2 * (this.#maxDiskLatencyTicks + 1);
    const fetchIntervalTicks = 1 + rng.int(3);
    const fetchTimeoutTicks = 2 * roundTripTicks + fetchIntervalTicks + rng.int(2 * roundTripTicks);
    const electionTimeoutTicks = Math.max(roundTripTicks * 2, Math.round(fetchTimeoutTicks * (0.5 + rng.next())));
    this.#timing = { electionTimeoutTicks, fetchTimeoutTicks, fetchIntervalTicks, requestTimeoutTicks: roundTripTicks + 1 + rng.int(roundTripTicks) };
    this.#livenessTicks = 20 * Math.max(electionTimeoutTicks, fetchTimeoutTicks);
    this.#roundTripTicks = roundTripTicks;
    this.#leaderKillProbability = rng.next() < 0.5 ? 0 : 0.2 + 0.6 * rng.next();
    // Small bounds so they bind: one-entry fetches widen the windows where old-epoch entries sit on a
    // majority before the new leader's own record does; tiny chunks make snapshot transfers multi-step.
    this.#limits = { maxFetchEntries: 1 + rng.int(8), maxSnapshotChunkBytes: 256 + rng.int(512), maxUncommittedEntries: 16 + rng.int(64), maxObservers: 2, maxCommittedPerReady: 16 };

    this.#voterIds = Array.from({ length: voters }, (_, i) => i + 1);
    const ids = [...this.#voterIds, ...Array.from({ length: observers }, (_, i) => 101 + i)];
    for (const id of ids) {
      this.#nodes.push({
        id,
        isVoter: id <= voters,
        raft: null,
        store: { quorumState: null, snapshot: null, entries: [] },
        incarnation: 0,
        sm: new HashChainStateMachine(),
        inFlight: null,
        stallProbability: rng.next() < 0.5 ? 0 : rng.next() * 0.2,
      });
    }
    const f = this.#net.faults;
    const t = this.#timing;
    this.#config =
      `seed=${options.seed} steps=${options.steps} voters=${voters} observers=${observers} intensity=${intensity.toFixed(2)} ` +
      `drop=${f.dropProbability.toFixed(3)} dup=${f.duplicateProbability.toFixed(3)} delay<=${f.maxDelayTicks} disk<=${this.#maxDiskLatencyTicks} ` +
      `election=${t.electionTimeoutTicks} fetchTimeout=${t.fetchTimeoutTicks} fetchInterval=${t.fetchIntervalTicks} requestTimeout=${t.requestTimeoutTicks} ` +
      `maxFetchEntries=${this.#limits.maxFetchEntries} leaderKill=${this.#leaderKillProbability.toFixed(2)}`;
  }

  run(): SimulationResult {
    let failure: string | null = null;
    try {
      for (const n of this.#nodes) this.#start(n);
      this.#checkAll();
      for (let step = 0; step < this.#steps; step++) {
        this.#stats.events++;
        this.#event();
        this.#checkAll();
      }
      this.#liveness();
    } catch (err) {
      const e = err as Error;
      failure = `${e.name}: ${e.message}`;
      this.#log(`FAILURE at tick ${this.#now}: ${failure}`);
      if (!(err instanceof InvariantViolation) && e.stack) this.#log(e.stack.split('\n').slice(0, 8).join('\n'));
    }
    this.#stats.ticks = this.#now;
    this.#stats.committed = this.#checker.committedLength;
    this.#stats.messagesSent = this.#net.stats.sent;
    this.#stats.messagesDropped = this.#net.stats.dropped;
    return { seed: this.#seed, ok: failure === null, failure, traceTail: [...this.#trace], stats: this.#stats, config: this.#config };
  }

  #log(line: string): void {
    const text = `[t${this.#now}] ${line}`;
    this.#onTrace?.(text);
    this.#trace.push(text);
    if (this.#trace.length > this.#traceLines) this.#trace.shift();
  }

  // ---------------------------------------------------------------- events

  #event(): void {
    const rng = this.#rng;
    const w = this.#weights;
    const down = this.#nodes.filter((n) => !n.raft);
    const up = this.#nodes.filter((n) => n.raft);
    // Discrete-event time: the clock only ticks once every message due by now has been delivered, so each
    // message takes exactly the delay the network drew for it. Messages due at the same tick arrive in random
    // order, interleaved with proposals and faults.
    const hasDue = this.#net.hasDue(this.#now);
    const choices: [number, () => void][] = [
      [hasDue ? 100 : 0, () => this.#deliver()],
      [hasDue ? 0 : 30, () => this.#tick()],
      [w.propose, () => this.#propose()],
      [up.length > 0 ? w.crash : 0, () => this.#crash(up[rng.int(up.length)]!)],
      [down.length > 0 ? w.restart : 0, () => this.#restart(down[rng.int(down.length)]!)],
      [w.partition, () => this.#partition()],
      [this.#net.isPartitioned ? w.heal : 0, () => this.#heal()],
      [w.resign, () => this.#resign()],
      [w.snapshot, () => this.#snapshot()],
    ];
    let total = 0;
    for (const [weight] of choices) total += weight;
    let pick = rng.next() * total;
    for (const [weight, action] of choices) {
      if (pick < weight) {
        action();
        return;
      }
      pick -= weight;
    }
    if (hasDue) this.#deliver();
    else this.#tick();
  }

  #tick(): void {
    this.#now++;
    for (const [id, tick] of this.#scheduledCrashes) {
      if (tick > this.#now) continue;
      this.#scheduledCrashes.delete(id);
      const n = this.#nodes.find((x) => x.id === id)!;
      if (n.raft && !this.#inLiveness) this.#crash(n, 'leader killer');
    }
    for (const n of this.#nodes) {
      if (!n.raft) continue;
      if (n.stallProbability > 0 && this.#rng.next() < n.stallProbability) continue;
      n.raft.tick();
      this.#pump(n);
    }
    // Disks complete on their own clock.
    for (const n of this.#nodes) this.#pump(n);
  }

  #deliver(): void {
    const m = this.#net.takeDue(this.#now);
    if (!m) return;
    const dest = this.#nodes.find((n) => n.id === m.to)!;
    if (!dest.raft || !this.#net.canDeliver(m)) {
      this.#net.stats.blocked++;
      return;
    }
    this.#net.stats.delivered++;
    this.#log(`deliver ${describeMessage(m)}`);
    dest.raft.step(m);
    this.#pump(dest);
  }

  #propose(): void {
    const up = this.#nodes.filter((n) => n.raft);
    if (up.length === 0) return;
    const n = up[this.#rng.int(up.length)]!;
    const count = 1 + this.#rng.int(3);
    const records = Array.from({ length: count }, () => new TextEncoder().encode(`c${this.#clientSeq++}`));
    const result = n.raft!.propose(records);
    if (result.accepted) {
      this.#stats.proposalsAccepted += count;
      this.#log(`n${n.id} propose ${count} at ${result.offset}@${result.epoch}`);
      this.#pump(n);
    }
  }

  #crash(n: SimNode, why = ''): void {
    const inFlight = n.inFlight;
    let partial = '';
    if (inFlight && this.#rng.next() < this.#partialWriteProbability) {
      // Some of the Ready's writes reached the disk before the crash (in order); none of its messages left.
      const ops = writeOps(inFlight.ready);
      const count = this.#rng.int(ops.length + 1);
      for (let i = 0; i < count; i++) this.#applyOp(n, ops[i]!);
      partial = ` (${count}/${ops.length} writes of its Ready reached the disk)`;
    }
    n.raft = null;
    n.inFlight = null;
    this.#net.dropNode(n.id);
    this.#stats.crashes++;
    this.#log(`n${n.id} CRASH${why ? ` (${why})` : ''}${partial}`);
  }

  #restart(n: SimNode): void {
    this.#start(n);
    this.#log(`n${n.id} RESTART as ${describeRole(n.raft!.role)} log=[${n.raft!.log.startOffset},${n.raft!.log.endOffset}) hw=${n.raft!.highWatermark}`);
    this.#pump(n);
  }

  #partition(): void {
    const ids = this.#nodes.map((n) => n.id);
    const kind = this.#rng.int(3);
    this.#net.heal();
    if (kind === 0) {
      const groupOf = new Map(ids.map((id) => [id, this.#rng.int(2)]));
      const groups = [ids.filter((id) => groupOf.get(id) === 0), ids.filter((id) => groupOf.get(id) === 1)];
      this.#net.partition(groups);
    } else if (kind === 1) {
      const isolated = ids[this.#rng.int(ids.length)]!;
      this.#net.partition([[isolated], ids.filter((id) => id !== isolated)]);
    } else {
      for (let i = 0; i < 1 + this.#rng.int(3); i++) {
        const a = ids[this.#rng.int(ids.length)]!;
        const b = ids[this.#rng.int(ids.length)]!;
        if (a !== b) this.#net.block(a, b);
      }
    }
    this.#stats.partitions++;
    this.#log(`PARTITION blocked: ${this.#net.describePartition()}`);
  }

  #heal(): void {
    this.#net.heal();
    this.#log('HEAL');
  }

  #resign(): void {
    const leader = this.#nodes.find((n) => n.raft?.isLeader);
    if (!leader) return;
    this.#log(`n${leader.id} RESIGN`);
    leader.raft!.resign();
    this.#pump(leader);
  }

  #snapshot(): void {
    const candidates = this.#nodes.filter((n) => n.raft && !n.inFlight && n.sm.appliedTo > n.raft.log.startOffset);
    if (candidates.length === 0) return;
    const n = candidates[this.#rng.int(candidates.length)]!;
    const data = n.sm.snapshot(this.#rng.int(3000));
    const id = n.raft!.createSnapshot(n.sm.appliedTo, data);
    if (!id) return;
    this.#stats.snapshots++;
    this.#checker.onSnapshot(n.id, 'created', decodeSnapshot(data), id.endOffset);
    this.#log(`n${n.id} SNAPSHOT ${id.endOffset}@${id.epoch} (${data.byteLength}B)`);
    this.#pump(n);
  }

  // ---------------------------------------------------------------- nodes and disks

  #start(n: SimNode): void {
    n.incarnation++;
    const s = n.store;
    n.raft = new RaftNode({
      nodeId: n.id,
      voters: this.#voterIds,
      isObserver: !n.isVoter,
      ...this.#timing,
      rng: seededRng((this.#seed * 31 + n.id * 1009 + n.incarnation * 7919) >>> 0),
      limits: this.#limits,
      restored: { quorumState: s.quorumState, snapshot: s.snapshot, entries: [...s.entries] },
    });
    n.sm = new HashChainStateMachine();
    if (s.snapshot) n.sm.load(s.snapshot.data);
    n.inFlight = null;
    this.#checker.onStart(n.id, n.incarnation, n.raft, s.quorumState?.epoch ?? 0, s.snapshot?.id.endOffset ?? 0);
  }

  /** Move the node's Readies through the disk: take one, complete it when due, repeat. */
  #pump(n: SimNode): void {
    for (let guard = 0; guard < 1000; guard++) {
      const raft = n.raft;
      if (!raft) return;
      if (n.inFlight) {
        if (n.inFlight.dueTick > this.#now) return;
        this.#complete(n, n.inFlight.ready);
        n.inFlight = null;
        raft.advance();
        continue;
      }
      if (!raft.hasReady()) return;
      const ready = raft.ready();
      for (const c of ready.roleChanges) {
        this.#log(`n${n.id} ${describeRole(c.from)} -> ${describeRole(c.to)} (${c.reason})`);
        if (c.to.kind === 'leader') {
          this.#stats.elections++;
          this.#checker.onLeader(c.to.epoch);
          if (!this.#inLiveness && this.#rng.next() < this.#leaderKillProbability) {
            this.#scheduledCrashes.set(n.id, this.#now + this.#rng.int(2 * this.#roundTripTicks + 1));
          }
        }
        this.#stats.maxEpoch = Math.max(this.#stats.maxEpoch, c.to.epoch);
        if (c.reason.startsWith('check-quorum')) this.#stats.checkQuorumResignations++;
        if (c.reason === 'pre-vote lost') this.#stats.preVotesLost++;
        if (c.reason.includes('first preferred successor')) this.#stats.handovers++;
      }
      if (ready.truncateTo !== null) this.#stats.truncations++;
      n.inFlight = { ready, dueTick: this.#now + this.#rng.int(this.#maxDiskLatencyTicks + 1) };
    }
    assert(false, `n${n.id}: Ready loop did not settle`);
  }

  #complete(n: SimNode, rd: Ready): void {
    for (const op of writeOps(rd)) this.#applyOp(n, op);
    for (const m of rd.messages) {
      this.#checker.onSend(n.id, m.epoch, describeMessage(m));
      this.#net.send(m, this.#now);
    }
    if (rd.installSnapshot) {
      const content = n.sm.load(rd.installSnapshot.data);
      this.#stats.snapshotInstalls++;
      this.#checker.onSnapshot(n.id, 'installed', content, rd.installSnapshot.id.endOffset);
      this.#log(`n${n.id} installed snapshot ${rd.installSnapshot.id.endOffset}@${rd.installSnapshot.id.epoch}`);
    }
    for (const entry of rd.committed) {
      n.sm.apply(entry);
      this.#checker.onApply(n.id, entry, n.sm.chain);
    }
  }

  #applyOp(n: SimNode, op: WriteOp): void {
    applyWriteOp(n.store, op, `n${n.id}`, (epoch) => this.#checker.onDurableEpoch(n.id, epoch));
  }

  #checkAll(): void {
    for (const n of this.#nodes) if (n.raft) this.#checker.checkNode(n.id, n.raft);
  }

  // ---------------------------------------------------------------- liveness

  #liveness(): void {
    this.#log('LIVENESS: heal, restart all, no drops or duplicates');
    this.#inLiveness = true;
    this.#net.heal();
    this.#net.faults = { ...this.#net.faults, dropProbability: 0, duplicateProbability: 0 };
    for (const n of this.#nodes) if (!n.raft) this.#restart(n);
    this.#checkAll();
    const start = this.#now;
    const describeAll = (): string => this.#nodes.map((n) => `n${n.id}=${describeRole(n.raft!.role)} hw=${n.raft!.highWatermark} applied=${n.sm.appliedTo}`).join(', ');

    // Phase 1: within livenessTicks a leader is elected and a fresh proposal commits (its HW passes it).
    const marker = new TextEncoder().encode(`liveness-${this.#seed}`);
    let proposed: { offset: number; epoch: number } | null = null;
    let committed = false;
    while (!committed) {
      if (this.#now - start > this.#livenessTicks) {
        throw new InvariantViolation(`liveness: no leader committed a new proposal within ${this.#livenessTicks} ticks after healing (${proposed ? `proposed at ${proposed.offset}@${proposed.epoch}` : 'never proposed'}; ${describeAll()})`);
      }
      const leader = this.#nodes.find((n) => n.raft!.isLeader);
      if (proposed && this.#checker.committedLength > proposed.offset) {
        // Committed at that offset: ours, or another entry after a leader change lost ours (propose again).
        if (this.#checker.committed[proposed.offset]!.epoch === proposed.epoch) committed = true;
        else proposed = null;
        if (committed) break;
      }
      if (leader && (!proposed || proposed.epoch !== leader.raft!.epoch)) {
        const result = leader.raft!.propose([marker]);
        if (result.accepted) {
          proposed = { offset: result.offset, epoch: result.epoch };
          this.#log(`n${leader.id} propose liveness marker at ${result.offset}@${result.epoch}`);
          this.#pump(leader);
        }
      }
      this.#advanceLiveness();
    }
    this.#stats.livenessTicks = this.#now - start;
    this.#log(`LIVENESS: marker committed after ${this.#stats.livenessTicks} ticks`);

    // Phase 2: every node (observers too) applies it, within a budget for its lag: each fetch brings at most
    // maxFetchEntries entries per round trip, a snapshot transfer a chunk per round trip.
    const target = proposed!.offset;
    const lag = Math.max(...this.#nodes.map((n) => target + 1 - n.sm.appliedTo));
    const snapshotChunks = Math.ceil(4096 / this.#limits.maxSnapshotChunkBytes);
    const perFetchTicks = this.#roundTripTicks + this.#timing.fetchIntervalTicks + 1;
    const catchUpTicks = this.#livenessTicks + (Math.ceil(lag / this.#limits.maxFetchEntries) + snapshotChunks) * perFetchTicks;
    const phase2 = this.#now;
    while (!this.#nodes.every((n) => n.sm.appliedTo > target)) {
      if (this.#now - phase2 > catchUpTicks) {
        throw new InvariantViolation(`liveness: not every node applied the committed marker ${target} within ${catchUpTicks} ticks (lag ${lag}; ${describeAll()})`);
      }
      this.#advanceLiveness();
    }
    this.#log(`LIVENESS ok: every node applied the marker after ${this.#now - phase2} more ticks`);
  }

  #advanceLiveness(): void {
    if (this.#net.hasDue(this.#now)) this.#deliver();
    else this.#tick();
    this.#checkAll();
  }

}

export type { Message };
