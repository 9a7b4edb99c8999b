/**
 * Deterministic simulation of a controller + broker cluster: 3 controller voters (RaftNode + the real
 * QuorumController from @tributary/controller on a simulated disk), 3-5 simulated brokers (register, heartbeat,
 * follow committed metadata, AlterPartition, controlled shutdown) and an admin client (create/delete topics,
 * create partitions, preferred elections), under seeded faults: message drop/delay/duplicate/reorder on both
 * networks, partitions (controller-controller, broker-controller, one-way), controller crash/restart (losing
 * unsynced Raft writes), broker crash/pause/restart, Raft resignations and snapshots.
 *
 * Determinism: every choice comes from the seed; all time is the simulated clock (QuorumController's Clock and
 * Timer are SimScheduler's); after each event the microtask queue is drained (promise continuations of the
 * controller run before the next event) and the controllers are pumped until nothing moves.
 *
 * After every event ClusterChecker runs (checker.ts). At the end comes the liveness phase: heal, restart everything,
 * stop dropping and the workload; within a budget an active controller must exist and every broker be registered,
 * unfenced (in the committed image and in its own view) and caught up, every controller at the same offset.
 */
import { assert, seededRng, type Rng } from '@tributary/common';
import type { QuorumControllerOptions } from '@tributary/controller';
import { decodeRecordBatch, ElectionType, encodeRecordBatch, ErrorCode, type CreateTopicsResponse } from '@tributary/metadata';
import { describeMessage, describeRole, type Entry, type Message, type Ready, type Snapshot } from '@tributary/raft';
import { InvariantViolation } from '../invariants.ts';
import { SimNetwork } from '../network.ts';
import type { HashChainStateMachine } from '../state-machine.ts';
import { SimBroker, type BrokerHost, type BrokerTiming } from './broker.ts';
import { ClusterChecker } from './checker.ts';
import { ControllerNode, type ControllerHost } from './controller-node.ts';
import { serve, SimRpcClient, type RpcMessage, type RpcOutcome } from './rpc.ts';
import { SimScheduler } from './time.ts';

/** A bug planted on purpose, to show the checker catches it. */
export type PlantedBug = 'none' | 'keep-fenced-leader';

export interface ClusterSimulationOptions {
  seed: number;
  steps: number;
  /** 3-5; drawn from the seed when absent. */
  brokers?: number;
  plantedBug?: PlantedBug;
  /** Lines of trace kept for a failure report. */
  traceLines?: number;
  onTrace?: (line: string) => void;
}

export interface ClusterSimulationStats {
  ticks: number;
  events: number;
  committedEntries: number;
  elections: number;
  activations: number;
  maxEpoch: number;
  controllerCrashes: number;
  brokerCrashes: number;
  brokerPauses: number;
  controlledShutdowns: number;
  partitions: number;
  raftSnapshots: number;
  raftSnapshotInstalls: number;
  brokerSnapshotInstalls: number;
  registrations: number;
  heartbeats: number;
  /** Unfenced -> fenced transitions in the committed log (session expiry, re-registration, controlled shutdown). */
  fences: number;
  unfences: number;
  /** Partitions that became leaderless in the committed log. */
  leaderlessPartitions: number;
  alterPartitions: number;
  alterPartitionsOk: number;
  workloadCalls: number;
  workloadOk: number;
  topicsCreated: number;
  imagesCompared: number;
  livenessTicks: number;
}

export interface ClusterSimulationResult {
  seed: number;
  ok: boolean;
  failure: string | null;
  traceTail: string[];
  stats: ClusterSimulationStats;
  config: string;
}

export function runClusterSimulation(options: ClusterSimulationOptions): Promise<ClusterSimulationResult> {
  return new ClusterSimulation(options).run();
}

const CONTROLLER_IDS = [1, 2, 3] as const;
const CLIENT_NET_ID = 200;
const brokerNetId = (brokerId: number): number => 100 + brokerId;
/** Rounds of "drain microtasks, pump controllers" after one event before it counts as a livelock. */
const MAX_SETTLE_ROUNDS = 200;

/** Lets every pending promise continuation run (a macrotask turn comes only after the microtask queue is empty). */
function drainMicrotasks(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

class ClusterSimulation {
  readonly #seed: number;
  readonly #steps: number;
  readonly #rng: Rng;
  readonly #plantedBug: PlantedBug;
  readonly #time: SimScheduler;
  readonly #raftNet: SimNetwork<Message>;
  readonly #rpcNet: SimNetwork<RpcMessage>;
  readonly #controllers: ControllerNode[] = [];
  readonly #brokers: SimBroker[] = [];
  readonly #client: SimRpcClient;
  readonly #checker = new ClusterChecker();
  readonly #trace: string[] = [];
  readonly #traceLines: number;
  readonly #onTrace: ((line: string) => void) | undefined;
  readonly #host: ControllerHost;
  readonly #brokerHost: BrokerHost;
  readonly #weights: Record<string, number>;
  readonly #partialWriteProbability: number;
  readonly #livenessTicks: number;
  readonly #roundTripTicks: number;
  /** Probability a newly elected controller is crashed within two round trips (mid-activation, ops in flight). */
  readonly #leaderKillProbability: number;
  readonly #scheduledCrashes = new Map<number, number>();
  readonly #config: string;
  #tick = 0;
  #inLiveness = false;
  #failure: Error | null = null;
  readonly #stats: ClusterSimulationStats = {
    ticks: 0, events: 0, committedEntries: 0, elections: 0, activations: 0, maxEpoch: 0, controllerCrashes: 0, brokerCrashes: 0, brokerPauses: 0,
    controlledShutdowns: 0, partitions: 0, raftSnapshots: 0, raftSnapshotInstalls: 0, brokerSnapshotInstalls: 0, registrations: 0, heartbeats: 0,
    fences: 0, unfences: 0, leaderlessPartitions: 0, alterPartitions: 0, alterPartitionsOk: 0, workloadCalls: 0, workloadOk: 0, topicsCreated: 0, imagesCompared: 0, livenessTicks: 0,
  };

  constructor(options: ClusterSimulationOptions) {
    assert(Number.isInteger(options.seed), 'seed must be an integer');
    assert(Number.isInteger(options.steps) && options.steps > 0, 'steps must be a positive integer');
    this.#seed = options.seed;
    this.#steps = options.steps;
    this.#plantedBug = options.plantedBug ?? 'none';
    this.#traceLines = options.traceLines ?? 200;
    this.#onTrace = options.onTrace;
    const rng = (this.#rng = seededRng(options.seed));
    const brokerCount = options.brokers ?? 3 + rng.int(3);
    assert(brokerCount >= 1 && brokerCount <= 9, 'brokers 1-9');

    // Fault profile from the seed: calm seeds and storms.
    const intensity = rng.next();
    const maxDelayTicks = 1 + rng.int(3);
    const drop = rng.next() < 0.3 ? 0 : rng.next() * 0.1 * intensity;
    const dup = rng.next() < 0.5 ? 0 : rng.next() * 0.05;
    this.#raftNet = new SimNetwork<Message>(seededRng(options.seed ^ 0x5eed), { dropProbability: drop, duplicateProbability: dup, maxDelayTicks });
    this.#rpcNet = new SimNetwork<RpcMessage>(seededRng(options.seed ^ 0x29c), { dropProbability: drop, duplicateProbability: dup, maxDelayTicks });
    const maxDiskLatencyTicks = rng.int(3);
    this.#partialWriteProbability = rng.next();
    this.#weights = {
      workload: 3 + rng.int(6),
      controllerCrash: 0.25 * intensity,
      controllerRestart: 2,
      brokerCrash: 0.2 * intensity,
      brokerPause: 0.2 * intensity,
      brokerResume: 1.5,
      brokerRestart: 1.5,
      controlledShutdown: 0.1,
      partition: 0.4 * intensity,
      heal: 1.2,
      resign: 0.1,
      snapshot: rng.next() < 0.3 ? 0 : 0.3,
    };

    // Timing in ticks, always workable: timeouts span several round trips.
    const tickMs = 10;
    this.#time = new SimScheduler(tickMs);
    const roundTripTicks = 2 * maxDelayTicks + 2 * (maxDiskLatencyTicks + 1);
    this.#roundTripTicks = roundTripTicks;
    this.#leaderKillProbability = rng.next() < 0.6 ? 0 : 0.1 + 0.4 * rng.next();
    const fetchIntervalTicks = 1 + rng.int(3);
    const fetchTimeoutTicks = 2 * roundTripTicks + fetchIntervalTicks + rng.int(2 * roundTripTicks);
    const electionTimeoutTicks = Math.max(roundTripTicks * 2, Math.round(fetchTimeoutTicks * (0.5 + rng.next())));
    const raftTiming = { electionTimeoutTicks, fetchTimeoutTicks, fetchIntervalTicks, requestTimeoutTicks: roundTripTicks + 1 + rng.int(roundTripTicks) };
    const raftLimits = { maxFetchEntries: 1 + rng.int(8), maxSnapshotChunkBytes: 256 + rng.int(1024), maxUncommittedEntries: 64 + rng.int(64), maxCommittedPerReady: 16 };
    const brokerTiming: BrokerTiming = {
      heartbeatIntervalMs: tickMs * (roundTripTicks + rng.int(2 * roundTripTicks)),
      fastHeartbeatIntervalMs: tickMs * Math.max(1, Math.ceil(roundTripTicks / 2)),
      requestTimeoutMs: tickMs * (3 * roundTripTicks + electionTimeoutTicks),
      fetchWaitMs: tickMs * roundTripTicks,
      fetchMaxBytes: 512 + rng.int(4096),
      alterPartitionProbability: 0.01 + 0.05 * rng.next(),
    };
    const sessionTimeoutMs = brokerTiming.heartbeatIntervalMs * (3 + rng.int(4)) + brokerTiming.requestTimeoutMs;
    const proposalTimeoutMs = tickMs * 20 * Math.max(electionTimeoutTicks, fetchTimeoutTicks);
    // A tail of a few entries makes FetchMetadata fall back to snapshot chunks for brokers that lag.
    const tailEntries = rng.next() < 0.5 ? 100_000 : 4 + rng.int(60);
    const controllerOptions: Omit<QuorumControllerOptions, 'nodeId' | 'clock' | 'timer' | 'rng'> = {
      voters: new Map(CONTROLLER_IDS.map((id) => [id, `controller-${id}:9093`])),
      settings: { brokerSessionTimeoutMs: sessionTimeoutMs, defaultNumPartitions: 1, defaultReplicationFactor: 1 },
      tickMs,
      limits: { tail: { maxEntries: tailEntries, maxBytes: 64 * 1024 * 1024 }, snapshotChunkBytes: 256 + rng.int(2048), maxFetchWaitMs: brokerTiming.fetchWaitMs },
      onFatal: (err) => this.#fatal(err),
    };
    for (const id of CONTROLLER_IDS) {
      this.#controllers.push(new ControllerNode({ id, voters: [...CONTROLLER_IDS], raftTiming, raftLimits, seed: options.seed, controller: controllerOptions }, rng.next() < 0.5 ? 0 : rng.next() * 0.15));
    }
    const sendRpc = (m: RpcMessage): void => this.#rpcNet.send(m, this.#tick);
    for (let id = 1; id <= brokerCount; id++) {
      this.#brokers.push(new SimBroker(id, brokerNetId(id), new SimRpcClient(brokerNetId(id), CONTROLLER_IDS, CONTROLLER_IDS[rng.int(3)]!, sendRpc), brokerTiming));
    }
    this.#client = new SimRpcClient(CLIENT_NET_ID, CONTROLLER_IDS, CONTROLLER_IDS[rng.int(3)]!, sendRpc);
    this.#livenessTicks = 30 * Math.max(electionTimeoutTicks, fetchTimeoutTicks) + Math.ceil((3 * sessionTimeoutMs + 4 * brokerTiming.requestTimeoutMs) / tickMs);

    this.#host = {
      rng,
      nowTick: () => this.#tick,
      nowMs: () => this.#time.nowMs(),
      maxDiskLatencyTicks,
      proposalTimeoutMs,
      send: (m) => this.#raftNet.send(m, this.#tick),
      log: (line) => this.#log(line),
      onDurableEpoch: (nodeId, epoch) => this.#checker.quorum.onDurableEpoch(nodeId, epoch),
      onSend: (nodeId, m) => this.#checker.quorum.onSend(nodeId, m.epoch, describeMessage(m)),
      onCommitted: (nodeId: number, entries: readonly Entry[], chain: HashChainStateMachine) => this.#checker.onCommitted(nodeId, entries, chain),
      onApplied: (nodeId: number) => this.#afterApply(nodeId),
      onRoleChanges: (nodeId: number, ready: Ready) => this.#roleChanges(nodeId, ready),
      onSnapshotInstalled: (nodeId: number, snapshot: Snapshot) => {
        this.#stats.raftSnapshotInstalls++;
        this.#checker.onSnapshot(nodeId, 'installed', snapshot);
        this.#log(`c${nodeId} installed snapshot ${snapshot.id.endOffset}@${snapshot.id.epoch}`);
      },
      chainAt: (endOffset) => this.#checker.quorum.chainAt(endOffset),
      rewriteProposal: (data) => this.#rewriteProposal(data),
    };
    this.#brokerHost = { rng, nowMs: () => this.#time.nowMs(), log: (line) => this.#log(line) };

    const f = this.#raftNet.faults;
    this.#config =
      `seed=${options.seed} steps=${options.steps} brokers=${brokerCount} intensity=${intensity.toFixed(2)} drop=${f.dropProbability.toFixed(3)} ` +
      `dup=${f.duplicateProbability.toFixed(3)} delay<=${maxDelayTicks} disk<=${maxDiskLatencyTicks} election=${electionTimeoutTicks} ` +
      `fetchTimeout=${fetchTimeoutTicks} session=${sessionTimeoutMs}ms heartbeat=${brokerTiming.heartbeatIntervalMs}ms tail=${tailEntries} ` +
      `leaderKill=${this.#leaderKillProbability.toFixed(2)}` +
      (this.#plantedBug !== 'none' ? ` planted=${this.#plantedBug}` : '');
  }

  async run(): Promise<ClusterSimulationResult> {
    let failure: string | null = null;
    try {
      for (const c of this.#controllers) this.#startController(c);
      for (const b of this.#brokers) b.start(this.#brokerHost);
      await this.#settle();
      this.#checkAll();
      for (let step = 0; step < this.#steps; step++) {
        this.#stats.events++;
        this.#event();
        await this.#settle();
        this.#checkAll();
      }
      await this.#liveness();
    } catch (err) {
      const e = this.#failure ?? (err as Error);
      failure = `${e.name}: ${e.message}`;
      this.#log(`FAILURE at tick ${this.#tick}: ${failure}`);
      if (!(e instanceof InvariantViolation) && e.stack) this.#log(e.stack.split('\n').slice(0, 8).join('\n'));
    }
    const s = this.#stats;
    s.ticks = this.#tick;
    s.committedEntries = this.#checker.quorum.committedLength;
    s.activations = this.#checker.stats.activations;
    s.imagesCompared = this.#checker.stats.imagesCompared;
    s.fences = this.#checker.stats.fences;
    s.unfences = this.#checker.stats.unfences;
    s.leaderlessPartitions = this.#checker.stats.leaderlessPartitions;
    for (const b of this.#brokers) {
      s.registrations += b.stats.registrations;
      s.heartbeats += b.stats.heartbeats;
      s.brokerSnapshotInstalls += b.stats.snapshotsInstalled;
      s.alterPartitions += b.stats.alterPartitions;
      s.alterPartitionsOk += b.stats.alterPartitionOk;
    }
    return { seed: this.#seed, ok: failure === null, failure, traceTail: [...this.#trace], stats: s, config: this.#config };
  }

  #log(line: string): void {
    const text = `[t${this.#tick}] ${line}`;
    this.#onTrace?.(text);
    this.#trace.push(text);
    if (this.#trace.length > this.#traceLines) this.#trace.shift();
  }

  /** A controller invariant broke inside a promise continuation: remember it, the next settle throws it. */
  #fatal(err: unknown): void {
    this.#failure ??= err instanceof Error ? err : new Error(String(err));
  }

  // ---------------------------------------------------------------- settling and checks

  /** Drain microtasks and pump the controllers until nothing moves (proposals reach Raft, Readies complete). */
  async #settle(): Promise<void> {
    for (let round = 0; round < MAX_SETTLE_ROUNDS; round++) {
      await drainMicrotasks();
      if (this.#failure) throw this.#failure;
      let moved = false;
      for (const c of this.#controllers) {
        if (!c.raft) continue;
        // Movement = a Ready taken or completed, or proposals handed to Raft; a Ready waiting for its disk is not.
        const inFlight = c.inFlight;
        const queued = c.driver!.queuedCount;
        c.pump(this.#host);
        if (c.inFlight !== inFlight || (c.driver !== null && c.driver.queuedCount !== queued)) moved = true;
      }
      if (!moved) return;
    }
    throw new InvariantViolation(`the cluster did not settle within ${MAX_SETTLE_ROUNDS} rounds of microtasks and Readies after one event`);
  }

  #checkAll(): void {
    for (const c of this.#controllers) {
      if (!c.raft) continue;
      this.#afterApply(c.id);
      this.#checker.checkController(c.id, c.incarnation, c.raft, c.controller!.committedImage, c.controller!.appliedOffset);
    }
    for (const b of this.#brokers) {
      if (!b.alive) continue;
      this.#checker.checkBroker(b.brokerId, b.incarnation, b.image, b.nextOffset);
    }
  }

  #afterApply(nodeId: number): void {
    const c = this.#controllers[nodeId - 1]!;
    if (!c.controller || !c.raft) return;
    if (c.controller.isActive) {
      if (c.activeEpoch === -1) {
        c.activeEpoch = c.raft.epoch;
        this.#log(`c${c.id} ACTIVE in epoch ${c.activeEpoch}`);
      }
      this.#checker.onActive(c.id, c.activeEpoch);
    } else {
      c.activeEpoch = -1;
    }
  }

  #roleChanges(nodeId: number, ready: Ready): void {
    for (const change of ready.roleChanges) {
      this.#log(`c${nodeId} ${describeRole(change.from)} -> ${describeRole(change.to)} (${change.reason})`);
      if (change.to.kind === 'leader') {
        this.#stats.elections++;
        this.#checker.quorum.onLeader(change.to.epoch);
        if (!this.#inLiveness && this.#rng.next() < this.#leaderKillProbability) this.#scheduledCrashes.set(nodeId, this.#tick + this.#rng.int(2 * this.#roundTripTicks + 1));
      }
      this.#stats.maxEpoch = Math.max(this.#stats.maxEpoch, change.to.epoch);
    }
  }

  #rewriteProposal(data: Uint8Array): Uint8Array {
    if (this.#plantedBug !== 'keep-fenced-leader') return data;
    // The planted bug: a fence commits without its leadership moves, so the fenced broker keeps leading.
    const records = decodeRecordBatch(data);
    if (!records.some((r) => r.type === 'fence-broker')) return data;
    return encodeRecordBatch(records.filter((r) => r.type !== 'partition-change'));
  }

  // ---------------------------------------------------------------- events

  #event(): void {
    const rng = this.#rng;
    const w = this.#weights;
    const up = this.#controllers.filter((c) => c.raft);
    const down = this.#controllers.filter((c) => !c.raft);
    const running = this.#brokers.filter((b) => b.alive && !b.paused);
    const paused = this.#brokers.filter((b) => b.alive && b.paused);
    const stopped = this.#brokers.filter((b) => !b.alive);
    const raftDue = this.#raftNet.hasDue(this.#tick);
    const rpcDue = this.#rpcNet.hasDue(this.#tick);
    const pick = <T>(list: readonly T[]): T => list[rng.int(list.length)]!;
    const choices: [number, () => void][] = [
      [raftDue ? 60 : 0, () => this.#deliverRaft()],
      [rpcDue ? 60 : 0, () => this.#deliverRpc()],
      [raftDue || rpcDue ? 0 : 30, () => this.#advanceTick()],
      [w.workload!, () => this.#workload()],
      // Keep a majority most of the time: a crash that would leave one voter is rarer.
      [up.length > 0 ? w.controllerCrash! * (up.length === 3 ? 1 : 0.3) : 0, () => this.#crashController(pick(up))],
      [down.length > 0 ? w.controllerRestart! : 0, () => this.#restartController(pick(down))],
      [running.length > 0 ? w.brokerCrash! : 0, () => this.#crashBroker(pick(running))],
      [running.length > 0 ? w.brokerPause! : 0, () => this.#pauseBroker(pick(running))],
      [paused.length > 0 ? w.brokerResume! : 0, () => this.#resumeBroker(pick(paused))],
      [stopped.length > 0 ? w.brokerRestart! : 0, () => this.#restartBroker(pick(stopped))],
      [running.length > 0 ? w.controlledShutdown! : 0, () => this.#controlledShutdown(pick(running))],
      [w.partition!, () => this.#partition()],
      [this.#raftNet.isPartitioned || this.#rpcNet.isPartitioned ? w.heal! : 0, () => this.#heal()],
      [w.resign!, () => this.#resign()],
      [w.snapshot!, () => this.#snapshot()],
    ];
    let total = 0;
    for (const [weight] of choices) total += weight;
    let at = rng.next() * total;
    for (const [weight, action] of choices) {
      if (at < weight) {
        action();
        return;
      }
      at -= weight;
    }
    this.#advanceTick();
  }

  #advanceTick(): void {
    this.#tick++;
    for (const [id, tick] of this.#scheduledCrashes) {
      if (tick > this.#tick) continue;
      this.#scheduledCrashes.delete(id);
      const c = this.#controllers[id - 1]!;
      if (c.raft && !this.#inLiveness) this.#crashController(c, ' (leader killer)');
    }
    // Timers first (controller timeouts, session checks, long-poll wakeups), then Raft ticks and broker schedules.
    for (const run of this.#time.tick()) run();
    const nowMs = this.#time.nowMs();
    for (const c of this.#controllers) {
      if (!c.raft) continue;
      c.driver!.expire(nowMs);
      if (c.stallProbability > 0 && this.#rng.next() < c.stallProbability) continue;
      c.raft.tick();
      c.pump(this.#host);
    }
    for (const c of this.#controllers) c.pump(this.#host);
    this.#client.expire(nowMs);
    for (const b of this.#brokers) b.onTick(this.#brokerHost);
  }

  #deliverRaft(): void {
    const m = this.#raftNet.takeDue(this.#tick);
    if (!m) return;
    const dest = this.#controllers[m.to - 1];
    if (!dest?.raft || !this.#raftNet.canDeliver(m)) {
      this.#raftNet.stats.blocked++;
      return;
    }
    this.#raftNet.stats.delivered++;
    dest.raft.step(m);
    dest.pump(this.#host);
  }

  #deliverRpc(): void {
    const m = this.#rpcNet.takeDue(this.#tick);
    if (!m) return;
    if (!this.#rpcNet.canDeliver(m)) {
      this.#rpcNet.stats.blocked++;
      return;
    }
    if (m.kind === 'request') {
      const c = this.#controllers[m.to - 1];
      if (!c?.controller) return;
      const incarnation = c.incarnation;
      void serve(c.controller, m).then((outcome: RpcOutcome) => {
        // A crashed controller's answers never leave.
        if (c.incarnation !== incarnation || !c.controller) return;
        this.#rpcNet.send({ kind: 'response', from: m.to, to: m.from, callId: m.callId, ...outcome }, this.#tick);
      });
      return;
    }
    if (m.to === CLIENT_NET_ID) {
      this.#client.onResponse(m);
      return;
    }
    const b = this.#brokers[m.to - 101];
    if (!b || !b.alive || b.paused) {
      this.#rpcNet.stats.blocked++;
      return;
    }
    b.client.onResponse(m);
  }

  #startController(c: ControllerNode): void {
    c.start(this.#host, this.#time, (owner) => this.#time.timerFor(owner));
    this.#checker.quorum.onStart(c.id, c.incarnation, c.raft!, c.store.quorumState?.epoch ?? 0, c.store.snapshot?.id.endOffset ?? 0);
  }

  #crashController(c: ControllerNode, why = ''): void {
    this.#time.cancelOwner(c.timerOwner);
    const partial = c.crash(this.#host, this.#partialWriteProbability);
    this.#raftNet.dropNode(c.id);
    this.#rpcNet.dropNode(c.id);
    this.#stats.controllerCrashes++;
    this.#log(`c${c.id} CRASH${why}${partial}`);
  }

  #restartController(c: ControllerNode): void {
    this.#startController(c);
    this.#log(`c${c.id} RESTART as ${describeRole(c.raft!.role)} log=[${c.raft!.log.startOffset},${c.raft!.log.endOffset})`);
    c.pump(this.#host);
  }

  #crashBroker(b: SimBroker): void {
    b.crash();
    this.#rpcNet.dropNode(b.netId);
    this.#stats.brokerCrashes++;
    this.#log(`b${b.brokerId} CRASH`);
  }

  #pauseBroker(b: SimBroker): void {
    b.paused = true;
    this.#stats.brokerPauses++;
    this.#log(`b${b.brokerId} PAUSE`);
  }

  #resumeBroker(b: SimBroker): void {
    b.paused = false;
    this.#log(`b${b.brokerId} RESUME`);
  }

  #restartBroker(b: SimBroker): void {
    b.start(this.#brokerHost);
  }

  #controlledShutdown(b: SimBroker): void {
    if (b.wantShutDown || b.brokerEpoch < 0) return;
    this.#stats.controlledShutdowns++;
    this.#log(`b${b.brokerId} CONTROLLED SHUTDOWN requested`);
    b.requestControlledShutdown();
  }

  #partition(): void {
    const rng = this.#rng;
    const kind = rng.int(4);
    if (kind === 0) {
      // Controller-controller: isolate one voter from the other two.
      const isolated = CONTROLLER_IDS[rng.int(3)]!;
      this.#raftNet.heal();
      this.#raftNet.partition([[isolated], CONTROLLER_IDS.filter((id) => id !== isolated)]);
    } else if (kind === 1) {
      // Broker-controller: a broker cut off from one or all controllers.
      const b = this.#brokers[rng.int(this.#brokers.length)]!;
      const cut = rng.next() < 0.5 ? [...CONTROLLER_IDS] : [CONTROLLER_IDS[rng.int(3)]!];
      for (const c of cut) {
        this.#rpcNet.block(b.netId, c);
        this.#rpcNet.block(c, b.netId);
      }
    } else if (kind === 2) {
      // One-way links anywhere.
      for (let i = 0; i < 1 + rng.int(3); i++) {
        const a = CONTROLLER_IDS[rng.int(3)]!;
        const bId = CONTROLLER_IDS[rng.int(3)]!;
        if (a !== bId) this.#raftNet.block(a, bId);
      }
    } else {
      // The active controller loses its clients but keeps the quorum (or the reverse, by symmetry of the draw).
      const c = CONTROLLER_IDS[rng.int(3)]!;
      for (const b of this.#brokers) {
        this.#rpcNet.block(b.netId, c);
        this.#rpcNet.block(c, b.netId);
      }
    }
    this.#stats.partitions++;
    this.#log(`PARTITION raft: ${this.#raftNet.describePartition()} | rpc: ${this.#rpcNet.describePartition()}`);
  }

  #heal(): void {
    this.#raftNet.heal();
    this.#rpcNet.heal();
    this.#log('HEAL');
  }

  #resign(): void {
    const leader = this.#controllers.find((c) => c.raft?.isLeader);
    if (!leader) return;
    this.#log(`c${leader.id} RESIGN`);
    leader.raft!.resign();
    leader.pump(this.#host);
  }

  #snapshot(): void {
    const candidates = this.#controllers.filter((c) => c.raft && !c.inFlight && c.controller!.appliedOffset > c.raft.log.startOffset);
    if (candidates.length === 0) return;
    const c = candidates[this.#rng.int(candidates.length)]!;
    const end = c.controller!.appliedOffset;
    const data = c.controller!.snapshot();
    const id = c.raft!.createSnapshot(end, data);
    if (!id) return;
    this.#stats.raftSnapshots++;
    this.#checker.onSnapshot(c.id, 'created', { id, data });
    this.#log(`c${c.id} SNAPSHOT ${id.endOffset}@${id.epoch} (${data.byteLength}B)`);
    c.pump(this.#host);
  }

  // ---------------------------------------------------------------- workload

  #workload(): void {
    if (this.#inLiveness || this.#client.pendingCalls >= 4) return;
    const rng = this.#rng;
    const image = this.#checker.latestImage; // the client's metadata cache: the latest committed image
    const name = `topic-${rng.int(12)}`;
    const nowMs = this.#time.nowMs();
    const timeoutMs = 40 * this.#time.tickMs * 10;
    const done = (what: string) => (outcome: RpcOutcome): void => {
      if (outcome.ok) this.#stats.workloadOk++;
      this.#log(`client ${what}: ${outcome.ok ? summarize(outcome.body) : `${outcome.reason} (${outcome.message})`}`);
    };
    this.#stats.workloadCalls++;
    const kind = rng.int(10);
    if (kind < 4) {
      const topic = { name, numPartitions: 1 + rng.int(4), replicationFactor: 1 + rng.int(this.#brokers.length), assignments: [], configs: [] };
      this.#client.call('createTopics', { topics: [topic], validateOnly: false }, timeoutMs, nowMs, (outcome) => {
        const created = outcome.ok ? (outcome.body as CreateTopicsResponse).topics[0] : undefined;
        if (created?.errorCode === ErrorCode.NONE) {
          this.#stats.topicsCreated++;
          this.#checker.onTopicAcknowledged(created.name, created.topicId);
        }
        done(`createTopics ${name} x${topic.numPartitions} rf${topic.replicationFactor}`)(outcome);
      });
    } else if (kind < 6) {
      const existing = image.sortedTopics();
      const t = existing.length > 0 ? existing[rng.int(existing.length)]! : null;
      const topicName = t?.name ?? name;
      const count = (t?.partitions.length ?? 1) + 1 + rng.int(2);
      this.#client.call('createPartitions', { topics: [{ name: topicName, count, assignments: null }], validateOnly: false }, timeoutMs, nowMs, done(`createPartitions ${topicName} -> ${count}`));
    } else if (kind < 8) {
      this.#client.call('deleteTopics', { topics: [{ name, topicId: null }] }, timeoutMs, nowMs, done(`deleteTopics ${name}`));
    } else {
      const existing = image.sortedTopics();
      const topicPartitions = existing.length === 0 || rng.next() < 0.5 ? null : [{ topic: existing[rng.int(existing.length)]!.name, partitions: [0] }];
      this.#client.call('electLeaders', { electionType: ElectionType.PREFERRED, topicPartitions }, timeoutMs, nowMs, done(`electLeaders ${topicPartitions === null ? 'all' : topicPartitions[0]!.topic}`));
    }
  }

  // ---------------------------------------------------------------- liveness

  async #liveness(): Promise<void> {
    this.#log('LIVENESS: heal, restart everything, no drops or duplicates, no workload');
    this.#inLiveness = true;
    this.#raftNet.heal();
    this.#rpcNet.heal();
    for (const net of [this.#raftNet, this.#rpcNet] as SimNetwork<{ from: number; to: number }>[]) net.faults = { ...net.faults, dropProbability: 0, duplicateProbability: 0 };
    for (const c of this.#controllers) if (!c.raft) this.#restartController(c);
    for (const b of this.#brokers) {
      if (b.paused) this.#resumeBroker(b);
      if (!b.alive) this.#restartBroker(b);
    }
    await this.#settle();
    this.#checkAll();
    const start = this.#tick;
    for (;;) {
      const problem = this.#livenessProblem();
      if (problem === null) break;
      for (const b of this.#brokers) if (!b.alive) this.#restartBroker(b); // a controlled shutdown finished meanwhile
      if (this.#tick - start > this.#livenessTicks) throw new InvariantViolation(`liveness: not converged within ${this.#livenessTicks} ticks after healing: ${problem}`);
      if (this.#raftNet.hasDue(this.#tick)) this.#deliverRaft();
      else if (this.#rpcNet.hasDue(this.#tick)) this.#deliverRpc();
      else this.#advanceTick();
      await this.#settle();
      this.#checkAll();
    }
    this.#stats.livenessTicks = this.#tick - start;
    this.#log(`LIVENESS ok after ${this.#stats.livenessTicks} ticks`);
  }

  /** Null once the cluster has converged; else what is still missing. */
  #livenessProblem(): string | null {
    const active = this.#controllers.filter((c) => c.controller?.isActive);
    if (active.length !== 1) return `${active.length} active controllers`;
    const a = active[0]!.controller!;
    const image = a.committedImage;
    for (const c of this.#controllers) {
      if (c.controller!.appliedOffset !== a.appliedOffset) return `c${c.id} applied ${c.controller!.appliedOffset}, active c${a.nodeId} ${a.appliedOffset}`;
    }
    for (const b of this.#brokers) {
      const reg = image.broker(b.brokerId);
      if (!b.alive) return `b${b.brokerId} is ${b.state}`;
      if (reg === undefined || reg.brokerEpoch !== b.brokerEpoch) return `b${b.brokerId} not registered at its epoch ${b.brokerEpoch} (image: ${reg?.brokerEpoch ?? 'none'})`;
      if (reg.fenced || b.state !== 'unfenced') return `b${b.brokerId} fenced (image ${reg.fenced}, own state ${b.state})`;
      if (b.nextOffset < a.appliedOffset) return `b${b.brokerId} at offset ${b.nextOffset}, active controller at ${a.appliedOffset}`;
    }
    return null;
  }
}

function summarize(body: unknown): string {
  const text = JSON.stringify(body);
  return text.length > 160 ? `${text.slice(0, 157)}...` : text;
}
