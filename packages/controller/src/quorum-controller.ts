/**
 * QuorumController: the metadata state machine on the Raft quorum, and the active controller's operation queue.
 *
 * Two images (the metadata README's "Putting it on Raft"):
 *   committed  built only by applying committed entries (apply / restore); every controller has it.
 *   working    on the active controller only: committed + the records of every proposed, not yet committed
 *              operation. Operations run against it, one at a time, in arrival order.
 *
 * Active = the Raft leader whose own leader-change entry has been applied: everything before it is committed and in
 * the committed image, so working := committed is complete. Leadership lost (a Ready reports another role, or the
 * periodic check sees it) = not active: the working image and the sessions are dropped and every queued, in-flight
 * or waiting operation fails with NOT_CONTROLLER naming the leader this node knows.
 *
 * One operation (the queue, `#drain`):
 *   run the pure function (@tributary/metadata) on the working image -> { records, response, sessions }
 *   no records  -> answered once every earlier proposal has committed (so the answer never shows uncommitted state)
 *   records     -> encodeRecordBatch as ONE entry (Raft may commit a prefix of a multi-entry proposal), appended to
 *                  the working image at once, proposed, answered when the entry commits
 * A proposal that fails after its records went into the working image (lost in a leader change, not committed in
 * time, refused) leaves the working image ahead of anything that will commit: the controller renounces (drops its
 * leader state and resigns Raft leadership), as Kafka's QuorumController does. The next leader starts from the log.
 *
 * Broker sessions (last heartbeat, registration offset) are the active controller's soft state (BrokerSessions);
 * registration offsets are also collected while applying, so a new active controller starts them with
 * BrokerSessions.forNewLeader. fenceStaleBrokers runs through the same queue on a timer, and so does the automatic
 * preferred-leader rebalance (auto.leader.rebalance.enable; the rule is in leader-balance.ts).
 *
 * FetchMetadata (brokers' metadata propagation) is served from CommittedTail (committed entries only, so a broker
 * never sees anything above the high watermark) or, below the tail, from a snapshot of the committed image.
 */
import { AssertionError, assert, silentLogger, type Clock, type Logger, type Rng, type Timer, type TimerHandle } from '@tributary/common';
import {
  BrokerSessions,
  MetadataDelta,
  MetadataImage,
  allocateProducerIds,
  alterConfigs,
  alterPartition,
  applyAll,
  brokerHeartbeat,
  controllerContext,
  defaultControllerLimits,
  createPartitions,
  createTopics,
  decodeRecordBatch,
  decodeSnapshot,
  deleteTopics,
  electLeaders,
  alterPartitionReassignments,
  listPartitionReassignments,
  ElectionType,
  encodeRecordBatch,
  encodeSnapshot,
  fenceStaleBrokers,
  imagesEqual,
  incrementalAlterConfigs,
  registerBroker,
  unregisterBroker,
  type AllocateProducerIdsRequest,
  type AllocateProducerIdsResponse,
  type AlterConfigsRequest,
  type AlterConfigsResponse,
  type AlterPartitionRequest,
  type AlterPartitionResponse,
  type BrokerHeartbeatRequest,
  type BrokerHeartbeatResponse,
  type BrokerRegistrationRequest,
  type BrokerRegistrationResponse,
  type ConfigSchema,
  type ControllerContext,
  type ControllerLimits,
  type CreatePartitionsRequest,
  type CreatePartitionsResponse,
  type CreateTopicsRequest,
  type CreateTopicsResponse,
  type DeleteTopicsRequest,
  type DeleteTopicsResponse,
  type ElectLeadersRequest,
  type ElectLeadersResponse,
  type AlterPartitionReassignmentsRequest,
  type AlterPartitionReassignmentsResponse,
  type ListPartitionReassignmentsRequest,
  type ListPartitionReassignmentsResponse,
  type IncrementalAlterConfigsRequest,
  type MetadataRecord,
  type UnregisterBrokerRequest,
  type UnregisterBrokerResponse,
} from '@tributary/metadata';
import type { QuorumDriver, StateMachine } from '@tributary/quorum';
import { decodeLeaderChange, type Entry, type RoleInfo, type Snapshot } from '@tributary/raft';
import type { CallOptions, ControllerApi, ControllerStatus, DescribeQuorumResponse, FetchMetadataRequest, FetchMetadataResponse, SnapshotPosition } from './api.ts';
import { CommittedTail, defaultTailLimits, type TailLimits } from './committed-tail.ts';
import { permissiveConfigSchema } from './config-schema.ts';
import { ControllerError } from './errors.ts';
import { leaderImbalance } from './leader-balance.ts';

export interface QuorumControllerLimits {
  /** Operations waiting to run; beyond it calls fail with `overloaded`. */
  maxQueuedOperations: number;
  /** Operations proposed and not yet committed; the queue waits beyond it. */
  maxInFlightOperations: number;
  defaultOperationTimeoutMs: number;
  maxOperationTimeoutMs: number;
  /** One operation's records must encode within this (Raft's maxEntryBytes). */
  maxEntryBytes: number;
  /** Upper bound on FetchMetadata's maxBytes. */
  maxFetchBytes: number;
  /** Upper bound on FetchMetadata's long-poll wait. */
  maxFetchWaitMs: number;
  /** Long-polling fetches held at once; beyond it they are answered at once (empty). */
  maxParkedFetches: number;
  /** Largest snapshot chunk per FetchMetadata answer. */
  snapshotChunkBytes: number;
  tail: TailLimits;
}

export const defaultQuorumControllerLimits: Readonly<QuorumControllerLimits> = Object.freeze({
  maxQueuedOperations: 10_000,
  maxInFlightOperations: 4_096,
  defaultOperationTimeoutMs: 30_000,
  maxOperationTimeoutMs: 120_000,
  maxEntryBytes: 1024 * 1024,
  maxFetchBytes: 4 * 1024 * 1024,
  maxFetchWaitMs: 10_000,
  maxParkedFetches: 4_096,
  snapshotChunkBytes: 1024 * 1024,
  tail: defaultTailLimits,
});

/** server.properties values the operations use (Kafka's defaults when left out). */
export interface ControllerSettings {
  /** num.partitions */
  defaultNumPartitions?: number;
  /** default.replication.factor */
  defaultReplicationFactor?: number;
  /** delete.topic.enable */
  deleteTopicEnable?: boolean;
  /** unclean.leader.election.enable */
  uncleanLeaderElectionEnable?: boolean;
  /** broker.session.timeout.ms (default 9000) */
  brokerSessionTimeoutMs?: number;
  /** auto.leader.rebalance.enable (default true): the active controller moves leaderships back to preferred replicas. */
  autoLeaderRebalanceEnable?: boolean;
  /** leader.imbalance.check.interval.seconds × 1000 (default 300 000): how often the imbalance is checked. */
  leaderImbalanceCheckIntervalMs?: number;
  /** leader.imbalance.per.broker.percentage (default 10): a broker's share of non-preferred leaders that triggers a rebalance. */
  leaderImbalancePerBrokerPercentage?: number;
  limits?: Partial<ControllerLimits>;
}

export interface QuorumControllerOptions {
  nodeId: number;
  /** Every voter's host:port, to name the active controller in NOT_CONTROLLER answers. */
  voters: ReadonlyMap<number, string>;
  /** Topic and broker config validation; default permissiveConfigSchema. */
  configSchema?: ConfigSchema;
  settings?: ControllerSettings;
  /** How often sessions are checked for expiry (default: a quarter of the session timeout, at most 1 s). */
  fenceCheckIntervalMs?: number;
  /** The Raft tick (for DescribeQuorum's lastFetchMsAgo). */
  tickMs?: number;
  limits?: Partial<QuorumControllerLimits>;
  clock: Clock;
  timer: Timer;
  rng: Rng;
  logger?: Logger;
  /** Test aid: whenever nothing is in flight, assert the working image equals the committed one. */
  verifyImages?: boolean;
  /** A broken invariant (records an operation built do not replay): the process should exit. Default: log it. */
  onFatal?: (err: unknown) => void;
}

interface Outcome {
  readonly records: readonly MetadataRecord[];
  readonly response: unknown;
  readonly sessions?: BrokerSessions;
  /** Runs with the entry's offset once it has committed, before the answer leaves. */
  readonly committed?: (offset: number) => void;
}

interface Operation {
  readonly name: string;
  readonly run: (image: MetadataImage, sessions: BrokerSessions, nowMs: number) => Outcome;
  readonly resolve: (value: unknown) => void;
  readonly reject: (err: ControllerError) => void;
  done: boolean;
  timer: TimerHandle | null;
}

interface InFlight {
  readonly op: Operation;
  readonly outcome: Outcome;
}

interface Waiter {
  /** Answer once the proposal with this sequence number has committed. */
  readonly afterSeq: number;
  readonly op: Operation;
  readonly response: unknown;
}

interface ParkedFetch {
  readonly wake: () => void;
}

export interface QuorumControllerStats {
  operations: number;
  proposals: number;
  recordsProposed: number;
  activations: number;
  renounces: number;
  snapshotsServed: number;
  fetches: number;
}

export class QuorumController implements StateMachine, ControllerApi {
  readonly nodeId: number;
  readonly stats: QuorumControllerStats = { operations: 0, proposals: 0, recordsProposed: 0, activations: 0, renounces: 0, snapshotsServed: 0, fetches: 0 };
  readonly #voters: ReadonlyMap<number, string>;
  readonly #ctx: ControllerContext;
  readonly #limits: QuorumControllerLimits;
  readonly #clock: Clock;
  readonly #timer: Timer;
  readonly #logger: Logger;
  readonly #fenceCheckIntervalMs: number;
  readonly #rebalance: { readonly enabled: boolean; readonly intervalMs: number; readonly percentage: number };
  readonly #tickMs: number;
  readonly #verifyImages: boolean;
  readonly #onFatal: (err: unknown) => void;
  #driver: QuorumDriver | null = null;

  // ---- every controller: the committed state ----
  #committed: MetadataImage = MetadataImage.EMPTY;
  /** Exclusive end offset of what has been applied (or restored). */
  #appliedOffset = 0;
  /** Offset of the entry holding each registered broker's registration (for caught-up checks). */
  #registrationOffsets = new Map<number, number>();
  readonly #tail: CommittedTail;
  #snapshotCache: { nextOffset: number; bytes: Uint8Array } | null = null;
  readonly #parked = new Set<ParkedFetch>();

  // ---- the active controller ----
  #active = false;
  #activeEpoch = -1;
  /** Bumped on every activation and deactivation: callbacks of an older generation are ignored. */
  #generation = 0;
  #working: MetadataImage | null = null;
  #sessions: BrokerSessions = BrokerSessions.EMPTY;
  readonly #queue: Operation[] = [];
  #queueHead = 0;
  readonly #inFlight = new Map<number, InFlight>();
  #waiters: Waiter[] = [];
  #proposedSeq = 0;
  #committedSeq = 0;
  #draining = false;
  #fenceQueued = false;
  #rebalanceQueued = false;
  /** When the active controller next checks the leader imbalance (set at activation: one interval later). */
  #nextRebalanceCheckAtMs = Number.POSITIVE_INFINITY;
  #tickHandle: TimerHandle | null = null;
  #stopped = false;

  constructor(opts: QuorumControllerOptions) {
    this.nodeId = opts.nodeId;
    this.#voters = opts.voters;
    const { limits: controllerLimits, autoLeaderRebalanceEnable, leaderImbalanceCheckIntervalMs, leaderImbalancePerBrokerPercentage, ...settings } = opts.settings ?? {};
    this.#rebalance = { enabled: autoLeaderRebalanceEnable ?? true, intervalMs: leaderImbalanceCheckIntervalMs ?? 300_000, percentage: leaderImbalancePerBrokerPercentage ?? 10 };
    assert(Number.isInteger(this.#rebalance.intervalMs) && this.#rebalance.intervalMs > 0, 'leader imbalance check interval must be a positive integer (ms)');
    assert(this.#rebalance.percentage >= 0 && this.#rebalance.percentage <= 100, 'leader imbalance percentage must be in 0..100');
    this.#ctx = controllerContext({ rng: opts.rng, configSchema: opts.configSchema ?? permissiveConfigSchema, ...settings, limits: { ...defaultControllerLimits, ...controllerLimits } });
    this.#limits = { ...defaultQuorumControllerLimits, ...opts.limits, tail: { ...defaultTailLimits, ...opts.limits?.tail } };
    this.#clock = opts.clock;
    this.#timer = opts.timer;
    this.#logger = (opts.logger ?? silentLogger).child({ component: 'controller' });
    this.#fenceCheckIntervalMs = opts.fenceCheckIntervalMs ?? Math.max(10, Math.min(1000, Math.floor(this.#ctx.brokerSessionTimeoutMs / 4)));
    this.#tickMs = opts.tickMs ?? 50;
    this.#verifyImages = opts.verifyImages ?? false;
    this.#onFatal = opts.onFatal ?? ((err) => this.#logger.error({ err: String(err) }, 'controller invariant broken'));
    this.#tail = new CommittedTail(this.#limits.tail);
    assert(this.#ctx.brokerSessionTimeoutMs > 0 && this.#fenceCheckIntervalMs > 0, 'session timeout and check interval must be positive');
    for (const [key, value] of Object.entries(this.#limits)) if (typeof value === 'number') assert(Number.isInteger(value) && value > 0, `limit ${key} must be a positive integer`);
  }

  /** Connects the controller to its driver (QuorumNode's registerServices hook: before the driver starts). */
  bind(driver: QuorumDriver): void {
    assert(this.#driver === null, 'controller bound twice');
    this.#driver = driver;
    this.#scheduleTick();
  }

  /** Stops the timer and fails everything pending (the node is stopping). */
  close(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#tickHandle?.cancel();
    this.#tickHandle = null;
    this.#deactivate('the controller is stopping', 'stopped');
    this.#failQueued(new ControllerError('stopped', `controller ${this.nodeId} is stopping`));
    for (const p of [...this.#parked]) p.wake();
  }

  get context(): ControllerContext {
    return this.#ctx;
  }

  /** The image built from committed entries only. */
  get committedImage(): MetadataImage {
    return this.#committed;
  }

  /** Exclusive end offset of the committed metadata applied here. */
  get appliedOffset(): number {
    return this.#appliedOffset;
  }

  get isActive(): boolean {
    return this.#active;
  }

  /** The broker sessions of the active controller (empty elsewhere). */
  get sessions(): BrokerSessions {
    return this.#sessions;
  }

  // ================================================================ StateMachine

  apply(entries: readonly Entry[]): void {
    let delta: MetadataDelta | null = null;
    const flush = (): void => {
      if (delta === null) return;
      this.#committed = delta.apply();
      delta = null;
    };
    for (const entry of entries) {
      assert(entry.offset >= this.#appliedOffset, () => `entry ${entry.offset} applied twice (applied up to ${this.#appliedOffset})`);
      if (entry.kind === 'leader-change') {
        flush();
        this.#tail.advanceTo(entry.offset + 1);
        this.#appliedOffset = entry.offset + 1;
        this.#leaderChangeApplied(entry);
        continue;
      }
      // Malformed bytes or a record that does not fit the image are a controller bug: the exception stops the
      // driver (fatal) rather than let this node serve a wrong image.
      const records = decodeRecordBatch(entry.data);
      delta ??= new MetadataDelta(this.#committed);
      for (const record of records) {
        delta.replay(record);
        if (record.type === 'register-broker') this.#registrationOffsets.set(record.brokerId, entry.offset);
        else if (record.type === 'unregister-broker') this.#registrationOffsets.delete(record.brokerId);
      }
      this.#tail.append(entry.offset, entry.epoch, entry.data);
      this.#appliedOffset = entry.offset + 1;
    }
    flush();
    this.#wakeFetches();
  }

  snapshot(): Uint8Array {
    const cached = this.#snapshotCache;
    if (cached !== null && cached.nextOffset === this.#appliedOffset) return cached.bytes;
    return encodeSnapshot(this.#committed);
  }

  restore(snapshot: Snapshot | null): void {
    if (this.#active) this.#deactivate('a snapshot replaced the state', 'not-controller');
    this.#committed = snapshot === null ? MetadataImage.EMPTY : decodeSnapshot(snapshot.data);
    const end = snapshot?.id.endOffset ?? 0;
    // Registrations inside the snapshot landed at or below its last offset.
    this.#registrationOffsets = new Map([...this.#committed.brokers.keys()].map((id) => [id, end - 1]));
    this.#tail.reset(end);
    this.#appliedOffset = end;
    this.#snapshotCache = null;
    this.#wakeFetches();
  }

  roleChanged(role: RoleInfo): void {
    if (this.#active && (role.kind !== 'leader' || role.epoch !== this.#activeEpoch)) {
      this.#deactivate(`the Raft role is now ${role.kind} in epoch ${role.epoch}`, 'not-controller');
    } else if (!this.#active && role.kind !== 'leader') {
      this.#failQueued(this.#notController());
    }
  }

  // ================================================================ activation

  #leaderChangeApplied(entry: Entry): void {
    const driver = this.#driver;
    if (driver === null || this.#stopped) return;
    const change = decodeLeaderChange(entry.data);
    if (change.leaderId !== this.nodeId) return;
    // Replaying an old epoch's record (after a restart), or leadership already lost again: not ours to take.
    if (!driver.node.isLeader || driver.node.epoch !== entry.epoch) return;
    assert(!this.#active, 'activated twice');
    this.#generation++;
    this.#active = true;
    this.#activeEpoch = entry.epoch;
    this.#working = this.#committed;
    this.#sessions = BrokerSessions.forNewLeader(this.#committed, this.#clock.nowMs(), this.#registrationOffsets);
    this.#proposedSeq = 0;
    this.#committedSeq = 0;
    // Not at once: brokers that were away need time to rejoin the ISR before leadership moves back to them.
    this.#nextRebalanceCheckAtMs = this.#clock.nowMs() + this.#rebalance.intervalMs;
    this.stats.activations++;
    this.#logger.info({ epoch: entry.epoch, offset: entry.offset, brokers: this.#committed.brokers.size, topics: this.#committed.topicsById.size }, 'active controller');
    this.#drain();
  }

  #deactivate(why: string, reason: 'not-controller' | 'stopped'): void {
    if (!this.#active) return;
    this.#generation++;
    this.#active = false;
    this.#activeEpoch = -1;
    this.#working = null;
    this.#sessions = BrokerSessions.EMPTY;
    this.#fenceQueued = false;
    this.#rebalanceQueued = false;
    this.#nextRebalanceCheckAtMs = Number.POSITIVE_INFINITY;
    this.#logger.info({ why, inFlight: this.#inFlight.size, queued: this.#queue.length - this.#queueHead }, 'no longer the active controller');
    const err = reason === 'stopped' ? new ControllerError('stopped', `controller ${this.nodeId} is stopping`) : this.#notController();
    for (const { op } of this.#inFlight.values()) this.#fail(op, err);
    this.#inFlight.clear();
    for (const w of this.#waiters) this.#fail(w.op, err);
    this.#waiters = [];
    this.#failQueued(err);
    for (const p of [...this.#parked]) p.wake();
  }

  /** The working image can no longer be trusted: drop the leader state and hand leadership to another voter. */
  #renounce(why: string): void {
    if (!this.#active) return;
    this.stats.renounces++;
    this.#logger.warn({ why }, 'renouncing leadership');
    this.#deactivate(why, 'not-controller');
    this.#driver?.resign();
  }

  #notController(): ControllerError {
    const role = this.#driver?.node.role;
    const leaderId = role?.leaderId ?? null;
    const endpoint = leaderId !== null ? (this.#voters.get(leaderId) ?? null) : null;
    const which = leaderId === null ? 'no active controller is known' : leaderId === this.nodeId ? `node ${leaderId} is becoming active` : `node ${leaderId} (${endpoint ?? '?'}) leads`;
    return new ControllerError('not-controller', `controller ${this.nodeId} is not the active controller: ${which}`, leaderId, endpoint);
  }

  #requireActive(): void {
    if (this.#stopped) throw new ControllerError('stopped', `controller ${this.nodeId} is stopping`);
    if (!this.#active) throw this.#notController();
  }

  // ================================================================ the queue

  #submit<R>(name: string, run: (image: MetadataImage, sessions: BrokerSessions, nowMs: number) => Outcome, options: CallOptions | undefined): Promise<R> {
    if (this.#stopped) return Promise.reject(new ControllerError('stopped', `controller ${this.nodeId} is stopping`));
    // Not active: refuse at once, unless this node leads and is about to become active (its leader-change entry
    // has not committed yet); then the operation waits in the queue for the activation.
    if (!this.#active && !(this.#driver?.node.isLeader ?? false)) return Promise.reject(this.#notController());
    const queued = this.#queue.length - this.#queueHead;
    if (queued >= this.#limits.maxQueuedOperations) return Promise.reject(new ControllerError('overloaded', `${queued} operations queued at controller ${this.nodeId}`));
    const timeoutMs = clampTimeout(options?.timeoutMs, this.#limits);
    return new Promise<R>((resolve, reject) => {
      const op: Operation = { name, run, resolve: resolve as (v: unknown) => void, reject, done: false, timer: null };
      op.timer = this.#timer.after(timeoutMs, () => {
        op.timer = null;
        this.#fail(op, new ControllerError('timeout', `${name} was not committed within ${timeoutMs} ms (its outcome is unknown)`));
      });
      this.#queue.push(op);
      this.#drain();
    });
  }

  #drain(): void {
    if (this.#draining) return;
    this.#draining = true;
    try {
      // Bounded by the queue: every round takes one operation off it.
      while (this.#active && this.#queueHead < this.#queue.length && this.#inFlight.size < this.#limits.maxInFlightOperations) {
        const op = this.#queue[this.#queueHead]!;
        this.#queue[this.#queueHead++] = undefined as unknown as Operation;
        if (!op.done) this.#run(op);
      }
      if (this.#queueHead > 1024 && this.#queueHead * 2 > this.#queue.length) {
        this.#queue.splice(0, this.#queueHead);
        this.#queueHead = 0;
      } else if (this.#queueHead === this.#queue.length) {
        this.#queue.length = 0;
        this.#queueHead = 0;
      }
    } finally {
      this.#draining = false;
    }
  }

  #run(op: Operation): void {
    const driver = this.#driver!;
    const working = this.#working!;
    this.stats.operations++;
    let outcome: Outcome;
    try {
      outcome = op.run(working, this.#sessions, this.#clock.nowMs());
    } catch (err) {
      this.#logger.error({ op: op.name, err: err instanceof Error ? (err.stack ?? err.message) : String(err) }, 'operation failed');
      this.#fail(op, new ControllerError('internal', `${op.name} failed: ${String(err)}`));
      return;
    }
    if (outcome.sessions !== undefined) this.#sessions = outcome.sessions;
    if (outcome.records.length === 0) {
      // Nothing to write, but the answer may reflect earlier operations still in flight: wait for them.
      if (this.#committedSeq === this.#proposedSeq) this.#succeed(op, outcome.response);
      else this.#waiters.push({ afterSeq: this.#proposedSeq, op, response: outcome.response });
      return;
    }
    const bytes = encodeRecordBatch(outcome.records);
    if (bytes.byteLength > this.#limits.maxEntryBytes) {
      this.#fail(op, new ControllerError('too-large', `${op.name} would write ${outcome.records.length} records (${bytes.byteLength} bytes), more than one metadata entry holds (${this.#limits.maxEntryBytes}); split the request`));
      return;
    }
    try {
      this.#working = applyAll(working, outcome.records);
    } catch (err) {
      // The operation built these records on the same image: a mismatch is a bug in the rules.
      this.#fail(op, new ControllerError('internal', `${op.name} failed: ${String(err)}`));
      this.#renounce(`${op.name} produced records that do not replay`);
      this.#onFatal(err instanceof AssertionError ? err : new AssertionError(`${op.name} produced records that do not replay: ${String(err)}`));
      return;
    }
    const seq = ++this.#proposedSeq;
    const generation = this.#generation;
    this.#inFlight.set(seq, { op, outcome });
    this.stats.proposals++;
    this.stats.recordsProposed += outcome.records.length;
    driver.propose(bytes).then(
      ({ offset }) => {
        if (generation !== this.#generation) return;
        this.#proposalCommitted(seq, offset);
      },
      (err: unknown) => {
        if (generation !== this.#generation) return;
        this.#renounce(`${op.name}: proposal failed: ${err instanceof Error ? err.message : String(err)}`);
      },
    );
  }

  #proposalCommitted(seq: number, offset: number): void {
    const entry = this.#inFlight.get(seq);
    assert(entry !== undefined && seq === this.#committedSeq + 1, () => `proposal ${seq} committed out of order (last ${this.#committedSeq})`);
    this.#inFlight.delete(seq);
    this.#committedSeq = seq;
    entry.outcome.committed?.(offset);
    this.#succeed(entry.op, entry.outcome.response);
    let released = 0;
    while (released < this.#waiters.length && this.#waiters[released]!.afterSeq <= seq) {
      const w = this.#waiters[released++]!;
      this.#succeed(w.op, w.response);
    }
    if (released > 0) this.#waiters = this.#waiters.slice(released);
    if (this.#inFlight.size === 0) {
      // Everything proposed has committed: the two images hold the same records.
      if (this.#verifyImages) assert(imagesEqual(this.#working!, this.#committed), 'working image differs from the committed image with nothing in flight');
      this.#working = this.#committed;
    }
    this.#drain();
  }

  #succeed(op: Operation, value: unknown): void {
    if (op.done) return;
    op.done = true;
    op.timer?.cancel();
    op.timer = null;
    op.resolve(value);
  }

  #fail(op: Operation, err: ControllerError): void {
    if (op.done) return;
    op.done = true;
    op.timer?.cancel();
    op.timer = null;
    op.reject(err);
  }

  #failQueued(err: ControllerError): void {
    for (let i = this.#queueHead; i < this.#queue.length; i++) this.#fail(this.#queue[i]!, err);
    this.#queue.length = 0;
    this.#queueHead = 0;
  }

  // ================================================================ timer: role watchdog and session expiry

  #scheduleTick(): void {
    if (this.#stopped) return;
    this.#tickHandle = this.#timer.after(this.#fenceCheckIntervalMs, () => {
      this.#tickHandle = null;
      this.#tick();
      this.#scheduleTick();
    });
  }

  #tick(): void {
    const node = this.#driver?.node;
    if (node === undefined || this.#stopped) return;
    if (this.#active && !(node.isLeader && node.epoch === this.#activeEpoch)) {
      this.#deactivate(`no longer the Raft leader (${node.role.kind} in epoch ${node.epoch})`, 'not-controller');
    }
    if (!this.#active) return;
    this.#maybeRebalanceLeaders();
    if (this.#fenceQueued) return;
    this.#fenceQueued = true;
    const generation = this.#generation;
    this.#submit<{ fencedBrokerIds: readonly number[] }>(
      'fenceStaleBrokers',
      (image, sessions, nowMs) => {
        if (generation === this.#generation) this.#fenceQueued = false;
        const r = fenceStaleBrokers(image, sessions, nowMs, this.#ctx);
        if (r.response.fencedBrokerIds.length > 0) this.#logger.info({ brokers: r.response.fencedBrokerIds }, 'fencing brokers whose sessions expired');
        return r;
      },
      { timeoutMs: this.#limits.maxOperationTimeoutMs },
    ).catch(() => {
      if (generation === this.#generation) this.#fenceQueued = false;
    });
  }

  /**
   * auto.leader.rebalance.enable: every leader.imbalance.check.interval, a preferred election (one operation through
   * the queue, like any other) for the partitions of brokers over leader.imbalance.per.broker.percentage.
   */
  #maybeRebalanceLeaders(): void {
    if (!this.#rebalance.enabled || this.#rebalanceQueued || this.#clock.nowMs() < this.#nextRebalanceCheckAtMs) return;
    this.#rebalanceQueued = true;
    const generation = this.#generation;
    this.#submit<ElectLeadersResponse>(
      'autoLeaderRebalance',
      (image, _sessions, nowMs) => {
        const found = leaderImbalance(image, this.#rebalance.percentage);
        if (generation === this.#generation) {
          this.#rebalanceQueued = false;
          // More candidates than one round takes: the rest on the next tick, not a whole interval later.
          this.#nextRebalanceCheckAtMs = nowMs + (found.remaining ? this.#fenceCheckIntervalMs : this.#rebalance.intervalMs);
        }
        if (found.partitions.length === 0) return { records: [], response: { errorCode: 0, replicaElectionResults: [] } };
        const r = electLeaders(image, { electionType: ElectionType.PREFERRED, topicPartitions: found.partitions });
        const elected = r.response.replicaElectionResults.reduce((n, t) => n + t.partitionResult.filter((p) => p.errorCode === 0).length, 0);
        this.#logger.info({ imbalanced: found.imbalanced, elected, remaining: found.remaining }, 'rebalancing leaders to preferred replicas');
        return r;
      },
      { timeoutMs: this.#limits.maxOperationTimeoutMs },
    ).catch(() => {
      if (generation === this.#generation) this.#rebalanceQueued = false;
    });
  }

  // ================================================================ operations (ControllerApi)

  registerBroker(request: BrokerRegistrationRequest, options?: CallOptions): Promise<BrokerRegistrationResponse> {
    return this.#submit('registerBroker', (image, sessions, nowMs) => {
      const r = registerBroker(image, sessions, request, nowMs, this.#ctx);
      const { brokerEpoch } = r.response;
      return {
        ...r,
        committed: (offset) => {
          this.#sessions = this.#sessions.withRegistrationOffset(request.brokerId, brokerEpoch, offset);
        },
      };
    }, options);
  }

  brokerHeartbeat(request: BrokerHeartbeatRequest, options?: CallOptions): Promise<BrokerHeartbeatResponse> {
    return this.#submit('brokerHeartbeat', (image, sessions, nowMs) => brokerHeartbeat(image, sessions, request, nowMs, this.#ctx), options);
  }

  unregisterBroker(request: UnregisterBrokerRequest, options?: CallOptions): Promise<UnregisterBrokerResponse> {
    return this.#submit('unregisterBroker', (image, sessions) => {
      const r = unregisterBroker(image, request, this.#ctx);
      return { ...r, sessions: r.records.length > 0 ? sessions.remove(request.brokerId) : sessions };
    }, options);
  }

  alterPartition(request: AlterPartitionRequest, options?: CallOptions): Promise<AlterPartitionResponse> {
    return this.#submit('alterPartition', (image) => alterPartition(image, request), options);
  }

  allocateProducerIds(request: AllocateProducerIdsRequest, options?: CallOptions): Promise<AllocateProducerIdsResponse> {
    return this.#submit('allocateProducerIds', (image) => allocateProducerIds(image, request), options);
  }

  createTopics(request: CreateTopicsRequest, options?: CallOptions): Promise<CreateTopicsResponse> {
    return this.#submit('createTopics', (image) => createTopics(image, request, this.#ctx), options);
  }

  deleteTopics(request: DeleteTopicsRequest, options?: CallOptions): Promise<DeleteTopicsResponse> {
    return this.#submit('deleteTopics', (image) => deleteTopics(image, request, this.#ctx), options);
  }

  createPartitions(request: CreatePartitionsRequest, options?: CallOptions): Promise<CreatePartitionsResponse> {
    return this.#submit('createPartitions', (image) => createPartitions(image, request, this.#ctx), options);
  }

  incrementalAlterConfigs(request: IncrementalAlterConfigsRequest, options?: CallOptions): Promise<AlterConfigsResponse> {
    return this.#submit('incrementalAlterConfigs', (image) => incrementalAlterConfigs(image, request, this.#ctx), options);
  }

  alterConfigs(request: AlterConfigsRequest, options?: CallOptions): Promise<AlterConfigsResponse> {
    return this.#submit('alterConfigs', (image) => alterConfigs(image, request, this.#ctx), options);
  }

  electLeaders(request: ElectLeadersRequest, options?: CallOptions): Promise<ElectLeadersResponse> {
    return this.#submit('electLeaders', (image) => electLeaders(image, request), options);
  }

  alterPartitionReassignments(request: AlterPartitionReassignmentsRequest, options?: CallOptions): Promise<AlterPartitionReassignmentsResponse> {
    return this.#submit('alterPartitionReassignments', (image) => alterPartitionReassignments(image, request, this.#ctx), options);
  }

  listPartitionReassignments(request: ListPartitionReassignmentsRequest, options?: CallOptions): Promise<ListPartitionReassignmentsResponse> {
    // Through the queue like a write: the answer reflects every operation accepted before it.
    return this.#submit('listPartitionReassignments', (image) => ({ records: [], response: listPartitionReassignments(image, request) }), options);
  }

  async describeQuorum(_options?: CallOptions): Promise<DescribeQuorumResponse> {
    this.#requireActive();
    const node = this.#driver!.node;
    const d = node.describeQuorum();
    if (d === null) throw this.#notController();
    const now = node.currentTick;
    const replica = (r: { nodeId: number; logEndOffset: number | null; lastFetchTick: number | null }): DescribeQuorumResponse['voters'][number] => ({
      replicaId: r.nodeId,
      logEndOffset: r.logEndOffset ?? -1,
      lastFetchMsAgo: r.lastFetchTick === null ? -1 : Math.max(0, now - r.lastFetchTick) * this.#tickMs,
    });
    return { leaderId: d.leaderId, leaderEpoch: d.epoch, highWatermark: d.highWatermark, voters: d.voters.map(replica), observers: d.observers.map(replica) };
  }

  // ================================================================ FetchMetadata

  async fetchMetadata(request: FetchMetadataRequest, options?: CallOptions): Promise<FetchMetadataResponse> {
    this.#requireActive();
    const malformed = (what: string): ControllerError => new ControllerError('malformed', `FetchMetadata: ${what}`);
    if (!Number.isSafeInteger(request.fromOffset) || request.fromOffset < 0) throw malformed(`fromOffset ${request.fromOffset} must be a non-negative integer`);
    if (!Number.isSafeInteger(request.maxBytes) || request.maxBytes <= 0) throw malformed(`maxBytes ${request.maxBytes} must be positive`);
    if (!Number.isSafeInteger(request.maxWaitMs) || request.maxWaitMs < 0) throw malformed(`maxWaitMs ${request.maxWaitMs} must be non-negative`);
    if (request.snapshot !== null && (!Number.isSafeInteger(request.snapshot.position) || request.snapshot.position < 0 || !Number.isSafeInteger(request.snapshot.nextOffset))) {
      throw malformed('bad snapshot position');
    }
    this.stats.fetches++;
    const maxBytes = Math.min(request.maxBytes, this.#limits.maxFetchBytes);
    if (request.snapshot !== null || !this.#tail.covers(request.fromOffset)) return this.#snapshotChunk(request.snapshot, request.fromOffset, maxBytes);
    if (request.fromOffset === this.#tail.endOffset && request.maxWaitMs > 0 && this.#parked.size < this.#limits.maxParkedFetches) {
      const waitMs = Math.min(request.maxWaitMs, this.#limits.maxFetchWaitMs, options?.timeoutMs ?? Number.MAX_SAFE_INTEGER);
      await new Promise<void>((resolve) => {
        let handle: TimerHandle | null = null;
        const parked: ParkedFetch = {
          wake: () => {
            if (!this.#parked.delete(parked)) return;
            handle?.cancel();
            resolve();
          },
        };
        this.#parked.add(parked);
        handle = this.#timer.after(waitMs, parked.wake);
      });
      this.#requireActive();
      if (!this.#tail.covers(request.fromOffset)) return this.#snapshotChunk(null, request.fromOffset, maxBytes);
    }
    const { entries, nextOffset } = this.#tail.read(request.fromOffset, maxBytes);
    // Only applied entries are in the tail, and only committed entries are applied.
    assert(nextOffset <= (this.#driver?.node.highWatermark ?? 0), () => `serving metadata up to ${nextOffset} above the high watermark ${this.#driver?.node.highWatermark}`);
    return { entries, nextOffset, snapshot: null };
  }

  #wakeFetches(): void {
    if (this.#parked.size === 0) return;
    for (const p of [...this.#parked]) p.wake();
  }

  #snapshotChunk(position: SnapshotPosition | null, fromOffset: number, maxBytes: number): FetchMetadataResponse {
    // A follower that already has more than this controller applied (it fetched from a newer active controller; this
    // one has not noticed it lost leadership) must not be sent back in time: let it find the real leader.
    if (fromOffset > this.#appliedOffset) {
      throw new ControllerError('unavailable', `FetchMetadata from ${fromOffset}: this controller has applied only up to ${this.#appliedOffset}`);
    }
    let snap = this.#snapshotCache;
    let from = 0;
    if (position !== null && snap !== null && snap.nextOffset === position.nextOffset && position.position <= snap.bytes.byteLength) {
      from = position.position;
    } else if (snap === null || snap.nextOffset < this.#tail.startOffset || snap.nextOffset > this.#appliedOffset || snap.nextOffset < fromOffset) {
      // A snapshot older than what the follower has applied would take it back in time (seed 5364 of the cluster sim).
      // A follower continues from the snapshot's end, so the tail must still cover it.
      snap = { nextOffset: this.#appliedOffset, bytes: encodeSnapshot(this.#committed) };
      this.#snapshotCache = snap;
    }
    if (from === 0) this.stats.snapshotsServed++;
    const size = Math.min(maxBytes, this.#limits.snapshotChunkBytes);
    const data = snap.bytes.subarray(from, Math.min(snap.bytes.byteLength, from + size));
    return { entries: [], nextOffset: snap.nextOffset, snapshot: { nextOffset: snap.nextOffset, totalBytes: snap.bytes.byteLength, position: from, data } };
  }

  // ================================================================ status

  status(includeImage = false): ControllerStatus {
    const node = this.#driver?.node;
    return {
      nodeId: this.nodeId,
      role: node?.role.kind ?? 'unattached',
      epoch: node?.epoch ?? 0,
      leaderId: node?.role.leaderId ?? -1,
      active: this.#active,
      appliedOffset: this.#appliedOffset,
      highWatermark: node?.highWatermark ?? 0,
      pendingOperations: this.#queue.length - this.#queueHead + this.#inFlight.size + this.#waiters.length,
      registeredBrokers: this.#committed.brokers.size,
      topics: this.#committed.topicsById.size,
      partitions: this.#committed.partitionCount,
      image: includeImage ? encodeSnapshot(this.#committed) : null,
    };
  }
}

function clampTimeout(timeoutMs: number | undefined, limits: QuorumControllerLimits): number {
  if (timeoutMs === undefined || !Number.isFinite(timeoutMs) || timeoutMs <= 0) return limits.defaultOperationTimeoutMs;
  return Math.max(1, Math.min(Math.floor(timeoutMs), limits.maxOperationTimeoutMs));
}
