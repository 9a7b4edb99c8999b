/**
 * A seeded simulation of one partition replicated on three brokers with the replication rules of this package, a
 * controller model, a faulty network, crashes and power loss. Everything runs on a simulated clock from one seed, so
 * a failure replays exactly (`node bin/simulate.ts --seed N`).
 *
 * Model:
 * - Brokers 1-3 hold a MemLog each. A crash keeps only the flushed prefix (and the epoch checkpoint with it), and a
 *   broker outside the ISR sometimes loses its whole disk; the broker restarts after a while with a new broker epoch.
 *   Power loss crashes every broker at once (fsync mode only).
 * - Flushes are group commits: one fsync covers everything appended before it began; in fsync mode a flush starts
 *   whenever there is something unflushed, in lazy mode once flushMessages records are unflushed.
 * - The controller is reliable (the quorum is tested elsewhere). It fences a crashed broker at once (Kafka: the
 *   registration lapses, or the restart re-registers with a new epoch), removes it from the ISR unless it is the last
 *   member, elects leaders only from the committed ISR (no unclean election), and checks AlterPartition like
 *   @tributary/metadata's alterPartition (epochs, leader, membership, broker epochs). Its metadata reaches brokers
 *   late and out of order but eventually; AlterPartition requests and responses can be lost.
 * - Broker-to-broker messages (fetches) are delayed, dropped at random, and links are cut for a while.
 * - One producer sends acks=-1 records with unique values to the current leader.
 *
 * Invariants, after every event:
 * - the controller's ISR is non-empty, within the replicas, and contains the leader (or there is none);
 * - a leader's high watermark never decreases within its epoch; it never exceeds its log end, nor (fsync) its
 *   flushed offset;
 * - every record below any replica's high watermark is committed: the first replica to expose an offset fixes its
 *   (epoch, value), every other replica must expose the same — so replicas agree below the minimum high watermark
 *   and a committed record never changes;
 * - a replica never truncates below its own high watermark;
 * - every newly elected leader holds every committed and every acknowledged record;
 * - when an acks=-1 record is acknowledged, every member of the committed ISR holds it, flushed in fsync mode, and
 *   (fsync) at least min.insync.replicas replicas have it on disk;
 * - at the end (faults healed, everyone restarted, a quiet period) there is a leader, the ISR is all replicas, every
 *   replica equals the leader below the high watermark, which has reached the log end, and every acknowledged
 *   record is there.
 * In lazy mode the fault schedule never crashes the last live member of the ISR (Kafka's own guarantee needs that).
 */
import { assert, seededRng, type Rng } from '@tributary/common';
import {
  ErrorCode,
  FollowerPartitionState,
  LeaderPartitionState,
  type AlterPartitionResult,
  type Durability,
  type EpochEndOffset,
  type FollowerFetchRequest,
  type IsrChangeProposal,
  type PartitionMetadata,
} from '../src/index.ts';
import { MemLog, type MemRecord } from './mem-log.ts';

/** Deliberate bugs the invariants must catch. */
export type PlantedBug =
  /** The leader acknowledges and advertises its log end as the high watermark. */
  | 'hw-is-leo'
  /** The controller elects any live replica when the leader fails (unclean election). */
  | 'elect-outside-isr'
  /** The leader counts log end offsets (lazy rule) while acknowledging as if records were durable (fsync mode). */
  | 'lazy-hw-in-fsync'
  /** Followers ignore diverging epochs (no truncation) and append anyway. */
  | 'no-truncation';

export interface SimOptions {
  readonly seed: number;
  readonly durability: Durability;
  /** Simulated time with faults and produce traffic, before the quiet period. */
  readonly durationMs?: number;
  readonly minInsyncReplicas?: number;
  readonly replicaLagTimeMaxMs?: number;
  /** Lazy mode: flush once this many records are unflushed (flush.messages). */
  readonly flushMessages?: number;
  readonly bug?: PlantedBug;
  /** Check leader HW <= leader flushed offset directly (off: only data loss can reveal a durability bug). */
  readonly checkLeaderFlushed?: boolean;
}

export interface SimStats {
  produced: number;
  acked: number;
  notEnoughReplicas: number;
  notEnoughReplicasAfterAppend: number;
  elections: number;
  crashes: number;
  diskWipes: number;
  powerLosses: number;
  linkCuts: number;
  isrShrinks: number;
  isrExpands: number;
  truncations: number;
  events: number;
  finalHighWatermark: number;
}

export class InvariantViolation extends Error {
  override name = 'InvariantViolation';
}

const BROKERS = [1, 2, 3] as const;
const TICK_MS = 10;
const FETCH_TIMEOUT_MS = 60;
const ALTER_TIMEOUT_MS = 150;
const PRODUCE_TIMEOUT_MS = 3000;
const MAX_FETCH_RECORDS = 25;
const MAX_PARKED_PRODUCES = 64;
const MAX_QUEUED_EVENTS = 100_000;
const QUIET_MS = 2500;
const TRACE_LINES = 40;

interface ControllerState {
  leader: number;
  leaderEpoch: number;
  partitionEpoch: number;
  isr: number[];
}

interface Parked {
  readonly offset: number;
  readonly value: string;
  readonly parkedAtMs: number;
}

interface Broker {
  readonly id: number;
  alive: boolean;
  incarnation: number;
  brokerEpoch: number;
  readonly log: MemLog;
  /** The high watermark when neither leader nor follower (after restart, leaderless). */
  idleHighWatermark: number;
  hwCheckpoint: number;
  known: PartitionMetadata | null;
  leader: LeaderPartitionState | null;
  follower: FollowerPartitionState | null;
  parked: Parked[];
  fetchSeq: number;
  fetchInFlight: { seq: number; sentAtMs: number } | null;
  alterSentAtMs: number;
  alterAwaitingMetadata: boolean;
  flushing: boolean;
  /** Offsets below this were checked against the committed map. */
  checkedBelow: number;
}

type Message =
  | { readonly type: 'fetch'; readonly from: number; readonly seq: number; readonly request: FollowerFetchRequest }
  | {
      readonly type: 'fetch-response';
      readonly from: number;
      readonly seq: number;
      readonly leaderEpoch: number;
      readonly errorCode: number;
      readonly highWatermark: number;
      readonly logStartOffset: number;
      readonly logEndOffset: number;
      readonly divergingEpoch: EpochEndOffset | null;
      readonly records: readonly { offset: number; record: MemRecord }[];
    }
  | { readonly type: 'alter'; readonly from: number; readonly proposal: IsrChangeProposal }
  | { readonly type: 'alter-response'; readonly proposalId: number; readonly result: AlterPartitionResult }
  | { readonly type: 'metadata'; readonly state: PartitionMetadata };

type SimEvent =
  | { readonly type: 'tick' }
  | { readonly type: 'produce' }
  | { readonly type: 'fault' }
  | { readonly type: 'restart'; readonly broker: number }
  /** A targeted crash (right after an ISR change), if the broker is still the same incarnation. */
  | { readonly type: 'crash'; readonly broker: number; readonly incarnation: number }
  | { readonly type: 'heal-link'; readonly a: number; readonly b: number }
  | { readonly type: 'flush-done'; readonly broker: number; readonly incarnation: number; readonly offset: number }
  /** to: a broker id, or 0 for the controller. */
  | { readonly type: 'deliver'; readonly to: number; readonly incarnation: number; readonly message: Message };

interface Queued {
  readonly atMs: number;
  readonly seq: number;
  readonly event: SimEvent;
}

/** A binary min-heap on (atMs, seq): deterministic order for equal times. */
class EventQueue {
  readonly #heap: Queued[] = [];
  get size(): number {
    return this.#heap.length;
  }
  push(q: Queued): void {
    assert(this.#heap.length < MAX_QUEUED_EVENTS, 'simulation event queue overflow');
    const h = this.#heap;
    h.push(q);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(h[i]!, h[p]!)) break;
      const t = h[i]!;
      h[i] = h[p]!;
      h[p] = t;
      i = p;
    }
  }
  pop(): Queued | undefined {
    const h = this.#heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last !== undefined) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && less(h[l]!, h[m]!)) m = l;
        if (r < h.length && less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        const t = h[i]!;
        h[i] = h[m]!;
        h[m] = t;
        i = m;
      }
    }
    return top;
  }
}

function less(a: Queued, b: Queued): boolean {
  return a.atMs < b.atMs || (a.atMs === b.atMs && a.seq < b.seq);
}

export class ReplicationSimulation {
  readonly options: Required<Omit<SimOptions, 'bug'>> & { bug: PlantedBug | null };
  readonly stats: SimStats = {
    produced: 0, acked: 0, notEnoughReplicas: 0, notEnoughReplicasAfterAppend: 0, elections: 0, crashes: 0, diskWipes: 0, powerLosses: 0,
    linkCuts: 0, isrShrinks: 0, isrExpands: 0, truncations: 0, events: 0, finalHighWatermark: 0,
  };
  readonly #rng: Rng;
  readonly #queue = new EventQueue();
  #seq = 0;
  #nowMs = 0;
  #faultsOn = true;
  #dropProbability = 0.05;
  readonly #cutLinks = new Set<string>();
  /** Links that are slow for a while: extra delay in ms. */
  readonly #slowLinks = new Map<string, number>();
  readonly #brokers = new Map<number, Broker>();
  readonly #controller: ControllerState = { leader: 1, leaderEpoch: 1, partitionEpoch: 1, isr: [1, 2, 3] };
  readonly #fenced = new Set<number>();
  readonly #registeredEpochs = new Map<number, number>();
  #nextBrokerEpoch = 10;
  #nextValue = 0;
  /** offset -> the committed record (first exposed below some replica's high watermark). */
  readonly #committed: MemRecord[] = [];
  /** offset -> acknowledged value. */
  readonly #acked = new Map<number, string>();
  /** `${broker}/${epoch}` -> the last high watermark seen on that leader. */
  readonly #leaderHighWatermarks = new Map<string, number>();
  readonly #trace: string[] = [];

  constructor(options: SimOptions) {
    this.options = {
      seed: options.seed,
      durability: options.durability,
      durationMs: options.durationMs ?? 5000,
      minInsyncReplicas: options.minInsyncReplicas ?? 2,
      replicaLagTimeMaxMs: options.replicaLagTimeMaxMs ?? 500,
      flushMessages: options.flushMessages ?? 20,
      bug: options.bug ?? null,
      checkLeaderFlushed: options.checkLeaderFlushed ?? true,
    };
    this.#rng = seededRng(options.seed);
    for (const id of BROKERS) {
      const brokerEpoch = this.#nextBrokerEpoch++;
      this.#registeredEpochs.set(id, brokerEpoch);
      this.#brokers.set(id, {
        id, alive: true, incarnation: 0, brokerEpoch, log: new MemLog(), idleHighWatermark: 0, hwCheckpoint: 0, known: null,
        leader: null, follower: null, parked: [], fetchSeq: 0, fetchInFlight: null, alterSentAtMs: 0, alterAwaitingMetadata: false,
        flushing: false, checkedBelow: 0,
      });
    }
  }

  /** Runs the whole scenario; throws InvariantViolation on the first broken invariant. */
  run(): SimStats {
    this.#publish();
    this.#schedule(0, { type: 'tick' });
    this.#schedule(1, { type: 'produce' });
    this.#schedule(200 + this.#rng.int(300), { type: 'fault' });
    const endMs = this.options.durationMs + QUIET_MS;
    const maxEvents = 50 * endMs; // generous: a run makes a few events per simulated millisecond at most
    while (this.#queue.size > 0) {
      const q = this.#queue.pop()!;
      if (q.atMs > endMs) break;
      if (this.#faultsOn && q.atMs >= this.options.durationMs) this.#heal();
      this.#nowMs = q.atMs;
      this.stats.events++;
      assert(this.stats.events <= maxEvents, 'simulation made too many events');
      this.#handle(q.event);
      this.#checkStep();
    }
    this.#checkFinal();
    return this.stats;
  }

  // ---- events ----

  #schedule(delayMs: number, event: SimEvent): void {
    this.#queue.push({ atMs: this.#nowMs + delayMs, seq: this.#seq++, event });
  }

  #note(line: string): void {
    this.#trace.push(`${this.#nowMs}ms ${line}`);
    if (this.#trace.length > TRACE_LINES) this.#trace.shift();
  }

  #fail(message: string): never {
    throw new InvariantViolation(
      `seed ${this.options.seed} (${this.options.durability}${this.options.bug ? `, bug ${this.options.bug}` : ''}) at ${this.#nowMs} ms: ${message}\nlast events:\n  ${this.#trace.join('\n  ')}`,
    );
  }

  #handle(event: SimEvent): void {
    switch (event.type) {
      case 'tick':
        for (const b of this.#brokers.values()) if (b.alive) this.#tickBroker(b);
        this.#schedule(TICK_MS, { type: 'tick' });
        return;
      case 'produce':
        if (this.#faultsOn) {
          this.#produce();
          this.#schedule(2 + this.#rng.int(8), { type: 'produce' });
        }
        return;
      case 'fault':
        if (this.#faultsOn) {
          this.#fault();
          this.#schedule(150 + this.#rng.int(600), { type: 'fault' });
        }
        return;
      case 'crash': {
        const b = this.#brokers.get(event.broker)!;
        if (this.#faultsOn && b.alive && b.incarnation === event.incarnation && this.#mayCrash(b)) this.#crash(b);
        return;
      }
      case 'restart':
        this.#restart(this.#brokers.get(event.broker)!);
        return;
      case 'heal-link':
        this.#cutLinks.delete(linkKey(event.a, event.b));
        this.#slowLinks.delete(linkKey(event.a, event.b));
        this.#note(`link ${event.a}-${event.b} healed`);
        return;
      case 'flush-done': {
        const b = this.#brokers.get(event.broker)!;
        if (!b.alive || b.incarnation !== event.incarnation) return;
        b.flushing = false;
        b.log.flush(event.offset);
        b.hwCheckpoint = this.#highWatermarkOf(b);
        if (b.leader !== null && b.leader.onLocalFlush(b.log.flushedOffset())) this.#completeParked(b);
        this.#maybeFlush(b);
        return;
      }
      case 'deliver':
        if (event.to === 0) {
          this.#controllerReceive(event.message);
          return;
        }
        {
          const b = this.#brokers.get(event.to)!;
          if (!b.alive || b.incarnation !== event.incarnation) return;
          this.#brokerReceive(b, event.message);
        }
        return;
      default:
        throw new Error(`unknown event ${(event as { type: string }).type}`);
    }
  }

  // ---- network ----

  /** Broker-to-broker: delayed, sometimes dropped, never across a cut link. */
  #sendToBroker(from: number, to: number, message: Message): void {
    if (this.#cutLinks.has(linkKey(from, to))) return;
    if (this.#rng.next() < this.#dropProbability) return;
    const target = this.#brokers.get(to)!;
    const slowMs = this.#slowLinks.get(linkKey(from, to)) ?? 0;
    this.#schedule(1 + this.#rng.int(15 + slowMs), { type: 'deliver', to, incarnation: target.incarnation, message });
  }

  /** Broker <-> controller AlterPartition traffic: delayed and sometimes lost. */
  #sendControl(to: number, message: Message): void {
    if (this.#rng.next() < this.#dropProbability) return;
    const incarnation = to === 0 ? 0 : this.#brokers.get(to)!.incarnation;
    this.#schedule(1 + this.#rng.int(40), { type: 'deliver', to, incarnation, message });
  }

  // ---- controller ----

  #publish(only?: number): void {
    const c = this.#controller;
    const state: PartitionMetadata = { leaderId: c.leader, leaderEpoch: c.leaderEpoch, partitionEpoch: c.partitionEpoch, isr: [...c.isr] };
    for (const b of this.#brokers.values()) {
      if (!b.alive || (only !== undefined && b.id !== only)) continue;
      // The metadata log reaches every live broker, late and possibly out of order, but never lost.
      this.#schedule(1 + this.#rng.int(30), { type: 'deliver', to: b.id, incarnation: b.incarnation, message: { type: 'metadata', state } });
    }
  }

  #checkController(): void {
    const c = this.#controller;
    if (c.isr.length === 0) this.#fail('the controller ISR is empty');
    if (!c.isr.every((r) => (BROKERS as readonly number[]).includes(r))) this.#fail(`ISR ${c.isr} not within the replicas`);
    if (c.leader !== -1 && !c.isr.includes(c.leader)) this.#fail(`leader ${c.leader} not in ISR ${c.isr}`);
  }

  /** Any live candidate, at random: more adversarial than Kafka's preferred-replica order. */
  #electFrom(candidates: readonly number[]): number {
    const live = candidates.filter((r) => !this.#fenced.has(r));
    return live.length === 0 ? -1 : live[this.#rng.int(live.length)]!;
  }

  #fence(id: number): void {
    const c = this.#controller;
    this.#fenced.add(id);
    let changed = false;
    if (c.isr.includes(id) && c.isr.length > 1) {
      c.isr = c.isr.filter((r) => r !== id);
      changed = true;
    }
    if (c.leader === id) {
      const pool = this.options.bug === 'elect-outside-isr' ? BROKERS.filter((r) => r !== id) : c.isr;
      c.leader = this.#electFrom(pool);
      if (c.leader !== -1 && !c.isr.includes(c.leader)) c.isr = [...c.isr, c.leader];
      c.leaderEpoch++;
      changed = true;
      if (c.leader !== -1) this.stats.elections++;
    }
    if (changed) {
      c.partitionEpoch++;
      this.#note(`controller: fenced ${id}; leader ${c.leader} epoch ${c.leaderEpoch} isr [${c.isr}] pe ${c.partitionEpoch}`);
      this.#publish();
    }
  }

  #unfence(id: number, brokerEpoch: number): void {
    const c = this.#controller;
    this.#fenced.delete(id);
    this.#registeredEpochs.set(id, brokerEpoch);
    if (c.leader === -1 && (c.isr.includes(id) || this.options.bug === 'elect-outside-isr')) {
      c.leader = id;
      if (!c.isr.includes(id)) c.isr = [id];
      c.leaderEpoch++;
      c.partitionEpoch++;
      this.stats.elections++;
      this.#note(`controller: ${id} back; leader ${c.leader} epoch ${c.leaderEpoch} isr [${c.isr}]`);
      this.#publish();
    } else {
      this.#publish(id);
    }
  }

  /** @tributary/metadata's alterPartition checks, in Kafka's order. */
  #alterPartitionError(from: number, p: IsrChangeProposal): number {
    const c = this.#controller;
    if (p.leaderEpoch > c.leaderEpoch || p.partitionEpoch > c.partitionEpoch) return ErrorCode.NOT_CONTROLLER;
    if (p.leaderEpoch < c.leaderEpoch) return ErrorCode.FENCED_LEADER_EPOCH;
    if (from !== c.leader) return ErrorCode.INVALID_REQUEST;
    if (p.partitionEpoch < c.partitionEpoch) return ErrorCode.INVALID_UPDATE_VERSION;
    const isr = p.newIsr;
    if (isr.length === 0 || new Set(isr).size !== isr.length || !isr.every((r) => (BROKERS as readonly number[]).includes(r)) || !isr.includes(c.leader)) {
      return ErrorCode.INVALID_REQUEST;
    }
    for (const m of p.newIsrWithEpochs) {
      if (this.#fenced.has(m.brokerId) || (m.brokerEpoch !== -1 && m.brokerEpoch !== this.#registeredEpochs.get(m.brokerId))) return ErrorCode.INELIGIBLE_REPLICA;
    }
    return ErrorCode.NONE;
  }

  #controllerReceive(message: Message): void {
    if (message.type !== 'alter') return;
    const c = this.#controller;
    const errorCode = this.#alterPartitionError(message.from, message.proposal);
    let result: AlterPartitionResult = { errorCode, leaderEpoch: -1, isr: [], partitionEpoch: -1 };
    if (errorCode === ErrorCode.NONE) {
      const before = c.isr.length;
      c.isr = [...message.proposal.newIsr];
      c.partitionEpoch++;
      if (c.isr.length < before) this.stats.isrShrinks++;
      if (c.isr.length > before) this.stats.isrExpands++;
      this.#note(`controller: AlterPartition from ${message.from} -> isr [${c.isr}] pe ${c.partitionEpoch}`);
      // Adversarial timing: crash the leader, or another member, while the change is still on its way to the leader.
      if (this.#faultsOn && this.#rng.next() < 0.3) {
        const victim = this.#rng.next() < 0.6 ? c.leader : c.isr[this.#rng.int(c.isr.length)]!;
        const v = this.#brokers.get(victim)!;
        this.#schedule(this.#rng.int(30), { type: 'crash', broker: victim, incarnation: v.incarnation });
      }
      result = { errorCode, leaderEpoch: c.leaderEpoch, isr: [...c.isr], partitionEpoch: c.partitionEpoch };
      this.#publish();
    } else {
      this.#note(`controller: AlterPartition from ${message.from} refused ${errorCode}`);
    }
    this.#sendControl(message.from, { type: 'alter-response', proposalId: message.proposal.proposalId, result });
  }

  // ---- brokers ----

  #highWatermarkOf(b: Broker): number {
    return b.leader?.highWatermark ?? b.follower?.highWatermark ?? b.idleHighWatermark;
  }

  #applyMetadata(b: Broker, s: PartitionMetadata): void {
    const k = b.known;
    if (k !== null && (s.leaderEpoch < k.leaderEpoch || (s.leaderEpoch === k.leaderEpoch && s.partitionEpoch <= k.partitionEpoch))) return;
    b.known = s;
    if (s.leaderId === b.id) {
      if (b.leader !== null && b.leader.leaderEpoch === s.leaderEpoch) {
        const out = b.leader.onPartitionMetadata(s);
        if (out.action === 'adopted') b.alterAwaitingMetadata = false;
        if (out.highWatermarkChanged || out.isrChanged) this.#completeParked(b);
        return;
      }
      this.#becomeLeader(b, s);
      return;
    }
    this.#resign(b);
    if (s.leaderId === -1) {
      if (b.follower !== null) b.idleHighWatermark = b.follower.highWatermark;
      b.follower = null;
      return;
    }
    if (b.follower === null || b.follower.leaderEpoch !== s.leaderEpoch || b.follower.leaderId !== s.leaderId) {
      const hw = this.#highWatermarkOf(b);
      b.follower = new FollowerPartitionState({ localReplicaId: b.id, localBrokerEpoch: b.brokerEpoch, leaderId: s.leaderId, leaderEpoch: s.leaderEpoch, log: b.log, highWatermark: hw });
      b.fetchInFlight = null;
      this.#note(`broker ${b.id}: follows ${s.leaderId} in epoch ${s.leaderEpoch}`);
    }
  }

  #becomeLeader(b: Broker, s: PartitionMetadata): void {
    const hw = this.#highWatermarkOf(b);
    this.#resign(b);
    b.follower = null;
    b.log.assignEpoch(s.leaderEpoch);
    const durability: Durability = this.options.bug === 'lazy-hw-in-fsync' ? 'lazy' : this.options.durability;
    b.leader = new LeaderPartitionState({
      localReplicaId: b.id, localBrokerEpoch: b.brokerEpoch, leaderEpoch: s.leaderEpoch, partitionEpoch: s.partitionEpoch, replicas: BROKERS, isr: s.isr,
      minInsyncReplicas: this.options.minInsyncReplicas, durability, logStartOffset: b.log.logStartOffset(), logEndOffset: b.log.logEndOffset(),
      flushedOffset: b.log.flushedOffset(), highWatermark: hw, endOffsetForEpoch: (e) => b.log.endOffsetForEpoch(e), nowMs: this.#nowMs,
    });
    b.alterAwaitingMetadata = false;
    this.#note(`broker ${b.id}: leader in epoch ${s.leaderEpoch} isr [${s.isr}] log end ${b.log.logEndOffset()} hw ${b.leader.highWatermark}`);
    // A new leader must hold every committed and every acknowledged record.
    for (let o = 0; o < this.#committed.length; o++) {
      const r = b.log.record(o);
      const c = this.#committed[o]!;
      if (r === undefined || r.epoch !== c.epoch || r.value !== c.value) {
        this.#fail(`new leader ${b.id} (epoch ${s.leaderEpoch}) lacks committed offset ${o} (${c.value}@${c.epoch}); has ${r ? `${r.value}@${r.epoch}` : 'nothing'}`);
      }
    }
    for (const [o, v] of this.#acked) {
      if (b.log.record(o)?.value !== v) this.#fail(`new leader ${b.id} (epoch ${s.leaderEpoch}) lacks acknowledged offset ${o} (${v})`);
    }
  }

  #resign(b: Broker): void {
    if (b.leader === null) return;
    b.idleHighWatermark = b.leader.highWatermark;
    b.leader = null;
    // Parked acks=-1 requests fail with NOT_LEADER_OR_FOLLOWER: not acknowledged (they may still be committed).
    b.parked = [];
  }

  #crash(b: Broker): void {
    this.stats.crashes++;
    b.alive = false;
    b.incarnation++;
    b.log.crash();
    // A replica outside the ISR may lose even what it flushed (a replaced disk): nothing may depend on it.
    const wiped = !this.#controller.isr.includes(b.id) && this.#rng.next() < 0.3;
    if (wiped) {
      b.log.truncateFullyAndStartAt(0);
      b.hwCheckpoint = 0;
      this.stats.diskWipes++;
    }
    b.leader = null;
    b.follower = null;
    b.parked = [];
    b.known = null;
    b.fetchInFlight = null;
    b.flushing = false;
    b.idleHighWatermark = Math.min(b.hwCheckpoint, b.log.logEndOffset());
    b.checkedBelow = Math.min(b.checkedBelow, b.idleHighWatermark);
    this.#note(`broker ${b.id}: crash${wiped ? ' and disk wipe' : ''} (log end now ${b.log.logEndOffset()})`);
    this.#fence(b.id);
    this.#schedule(100 + this.#rng.int(600), { type: 'restart', broker: b.id });
  }

  #restart(b: Broker): void {
    if (b.alive) return;
    b.alive = true;
    b.brokerEpoch = this.#nextBrokerEpoch++;
    this.#note(`broker ${b.id}: restart with broker epoch ${b.brokerEpoch}`);
    this.#unfence(b.id, b.brokerEpoch);
  }

  #maybeFlush(b: Broker): void {
    if (b.flushing) return;
    const unflushed = b.log.logEndOffset() - b.log.flushedOffset();
    if (unflushed <= 0) return;
    if (this.options.durability === 'lazy' && unflushed < this.options.flushMessages) return;
    b.flushing = true;
    // fsync latency varies widely (a busy disk): a wide window in which records are replicated but not yet durable.
    this.#schedule(1 + this.#rng.int(30), { type: 'flush-done', broker: b.id, incarnation: b.incarnation, offset: b.log.logEndOffset() });
  }

  #tickBroker(b: Broker): void {
    if (b.leader !== null) {
      const l = b.leader;
      const pending = l.pendingIsrChange;
      if (pending === null) {
        const proposal = l.maybeShrinkIsr(this.#nowMs, this.options.replicaLagTimeMaxMs) ?? l.maybeExpandIsr(this.#nowMs);
        if (proposal !== null) this.#sendAlter(b, proposal);
      } else if (!b.alterAwaitingMetadata && this.#nowMs - b.alterSentAtMs > ALTER_TIMEOUT_MS) {
        this.#sendAlter(b, pending);
      }
      b.parked = b.parked.filter((p) => this.#nowMs - p.parkedAtMs < PRODUCE_TIMEOUT_MS);
    }
    if (b.follower !== null && (b.fetchInFlight === null || this.#nowMs - b.fetchInFlight.sentAtMs > FETCH_TIMEOUT_MS)) this.#sendFetch(b);
  }

  #sendAlter(b: Broker, proposal: IsrChangeProposal): void {
    b.alterSentAtMs = this.#nowMs;
    this.#note(`broker ${b.id}: AlterPartition ${proposal.kind} [${proposal.newIsr}] on pe ${proposal.partitionEpoch}`);
    this.#sendControl(0, { type: 'alter', from: b.id, proposal });
  }

  #sendFetch(b: Broker): void {
    const f = b.follower!;
    b.fetchSeq++;
    b.fetchInFlight = { seq: b.fetchSeq, sentAtMs: this.#nowMs };
    this.#sendToBroker(b.id, f.leaderId, { type: 'fetch', from: b.id, seq: b.fetchSeq, request: f.fetchRequest() });
  }

  #brokerReceive(b: Broker, m: Message): void {
    switch (m.type) {
      case 'metadata':
        this.#applyMetadata(b, m.state);
        return;
      case 'fetch':
        this.#leaderServeFetch(b, m);
        return;
      case 'fetch-response':
        this.#followerHandleResponse(b, m);
        return;
      case 'alter-response': {
        if (b.leader === null) return;
        const out = b.leader.onAlterPartitionResult(m.proposalId, m.result);
        if (out.action === 'retry') this.#sendAlter(b, b.leader.pendingIsrChange!);
        if (out.action === 'await-metadata') b.alterAwaitingMetadata = true;
        if (out.highWatermarkChanged || out.isrChanged) this.#completeParked(b);
        return;
      }
      case 'alter':
        return;
    }
  }

  #leaderServeFetch(b: Broker, m: Extract<Message, { type: 'fetch' }>): void {
    const reply = (fields: Omit<Extract<Message, { type: 'fetch-response' }>, 'type' | 'from' | 'seq' | 'leaderEpoch'>): void => {
      this.#sendToBroker(b.id, m.from, { type: 'fetch-response', from: b.id, seq: m.seq, leaderEpoch: m.request.currentLeaderEpoch, ...fields });
    };
    const l = b.leader;
    if (l === null) {
      reply({ errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER, highWatermark: -1, logStartOffset: -1, logEndOffset: -1, divergingEpoch: null, records: [] });
      return;
    }
    const r = m.request;
    const d = l.onFollowerFetch(m.from, {
      replicaEpoch: r.replicaEpoch, currentLeaderEpoch: r.currentLeaderEpoch, fetchOffset: r.fetchOffset, lastFetchedEpoch: r.lastFetchedEpoch,
      flushedOffset: r.flushedOffset, nowMs: this.#nowMs,
    });
    const hw = this.options.bug === 'hw-is-leo' ? l.logEndOffset : d.highWatermark;
    const base = { highWatermark: hw, logStartOffset: d.logStartOffset, logEndOffset: d.logEndOffset };
    if (d.kind === 'read') {
      if (d.highWatermarkChanged) this.#completeParked(b);
      const expand = l.pendingIsrChange === null ? l.maybeExpandIsr(this.#nowMs) : null;
      if (expand !== null) this.#sendAlter(b, expand);
      reply({ errorCode: ErrorCode.NONE, divergingEpoch: null, records: b.log.read(d.fetchOffset, MAX_FETCH_RECORDS), ...base });
    } else if (d.kind === 'diverging') {
      reply({ errorCode: ErrorCode.NONE, divergingEpoch: d.divergingEpoch, records: [], ...base });
    } else {
      reply({ errorCode: d.errorCode, divergingEpoch: null, records: [], ...base });
    }
  }

  #followerHandleResponse(b: Broker, m: Extract<Message, { type: 'fetch-response' }>): void {
    const f = b.follower;
    if (f === null || b.fetchInFlight?.seq !== m.seq || f.leaderId !== m.from || f.leaderEpoch !== m.leaderEpoch) return;
    b.fetchInFlight = null;
    let diverging = m.divergingEpoch;
    if (this.options.bug === 'no-truncation' && diverging !== null) diverging = null;
    const action = f.onFetchResponse({ errorCode: m.errorCode, highWatermark: m.highWatermark, logStartOffset: m.logStartOffset, logEndOffset: m.logEndOffset, divergingEpoch: diverging });
    switch (action.kind) {
      case 'append': {
        let appended = 0;
        for (const { offset, record } of m.records) {
          // With the planted no-truncation bug the records may not start at our log end; keep what lines up.
          if (offset !== b.log.logEndOffset()) continue;
          b.log.append(offset, record);
          appended++;
        }
        f.onRecordsAppended(m.highWatermark);
        this.#maybeFlush(b);
        if (appended > 0) this.#sendFetch(b);
        return;
      }
      case 'truncate':
      case 'truncate-fully': {
        const hw = f.highWatermark;
        // Logs start at 0 here and are never trimmed, so dropping a whole log always loses committed records.
        if (action.kind === 'truncate-fully') this.#fail(`broker ${b.id} drops its log to restart at ${action.startOffset}`);
        if (action.offset < hw) this.#fail(`broker ${b.id} truncates to ${action.offset} below its high watermark ${hw}`);
        this.stats.truncations++;
        this.#note(`broker ${b.id}: truncate to ${action.offset} (log end was ${b.log.logEndOffset()})`);
        b.log.truncateTo(action.offset);
        f.onTruncated();
        b.checkedBelow = Math.min(b.checkedBelow, b.log.logEndOffset());
        this.#sendFetch(b);
        return;
      }
      case 'none':
        this.#sendFetch(b);
        return;
      case 'await-metadata':
      case 'retry':
        return;
    }
  }

  // ---- producer ----

  #produce(): void {
    const c = this.#controller;
    if (c.leader === -1) return;
    const b = this.#brokers.get(c.leader)!;
    const l = b.leader;
    if (!b.alive || l === null || l.leaderEpoch !== c.leaderEpoch) return; // the producer would get NOT_LEADER_OR_FOLLOWER
    if (l.checkProduce(-1) !== ErrorCode.NONE) {
      this.stats.notEnoughReplicas++;
      return;
    }
    if (b.parked.length >= MAX_PARKED_PRODUCES) return;
    const offset = b.log.logEndOffset();
    const value = `v${this.#nextValue++}`;
    b.log.append(offset, { epoch: l.leaderEpoch, value });
    this.stats.produced++;
    b.parked.push({ offset, value, parkedAtMs: this.#nowMs });
    l.onLocalAppend(b.log.logEndOffset());
    this.#maybeFlush(b);
    this.#completeParked(b);
  }

  #completeParked(b: Broker): void {
    const l = b.leader;
    if (l === null) return;
    b.parked = b.parked.filter((p) => {
      if (this.options.bug === 'hw-is-leo') {
        this.#ack(b, p);
        return false;
      }
      const status = l.acksAllStatus(p.offset + 1);
      if (status.status === 'pending') return true;
      if (status.status === 'done') this.#ack(b, p);
      else this.stats.notEnoughReplicasAfterAppend++;
      return false;
    });
  }

  #ack(b: Broker, p: Parked): void {
    this.stats.acked++;
    this.#acked.set(p.offset, p.value);
    // The acks=-1 promise itself: every member of the committed ISR holds the record, on disk in fsync mode, and in
    // fsync mode at least min.insync.replicas disks do (a member the controller just removed for crashing still
    // counts: its disk kept what it had flushed).
    const isr = this.#controller.isr;
    if (this.options.durability === 'fsync') {
      const disks = [...this.#brokers.values()].filter((m) => m.log.record(p.offset)?.value === p.value && m.log.flushedOffset() > p.offset).length;
      if (disks < this.options.minInsyncReplicas) this.#fail(`acknowledged ${p.value} at ${p.offset} with only ${disks} replicas holding it on disk`);
    }
    for (const r of isr) {
      const m = this.#brokers.get(r)!;
      const durable = this.options.durability === 'lazy' || m.log.flushedOffset() > p.offset;
      if (m.log.record(p.offset)?.value !== p.value || !durable) {
        this.#fail(`acknowledged ${p.value} at ${p.offset} but ISR member ${r} ${m.log.record(p.offset)?.value === p.value ? 'has not flushed it' : 'does not hold it'}`);
      }
    }
    const c = this.#committed[p.offset];
    if (c !== undefined && c.value !== p.value) this.#fail(`acknowledged ${p.value} at ${p.offset} on ${b.id} but ${c.value} is committed there`);
  }

  // ---- faults ----

  /** Kafka's lazy-mode guarantee holds only while an ISR member survives: never crash the last live one there. */
  #mayCrash(b: Broker): boolean {
    return !(this.options.durability === 'lazy' && this.#controller.isr.includes(b.id) && this.#liveIsrMembersExcept(b.id) === 0);
  }

  #liveIsrMembersExcept(id: number): number {
    return this.#controller.isr.filter((r) => r !== id && this.#brokers.get(r)!.alive).length;
  }

  #fault(): void {
    const roll = this.#rng.next();
    const live = [...this.#brokers.values()].filter((b) => b.alive);
    if (roll < 0.35) {
      if (live.length === 0) return;
      const b = live[this.#rng.int(live.length)]!;
      if (this.#mayCrash(b)) this.#crash(b);
    } else if (roll < 0.45) {
      if (this.options.durability !== 'fsync' || live.length === 0) return;
      this.stats.powerLosses++;
      this.#note('power loss');
      for (const b of live) this.#crash(b);
    } else if (roll < 0.7) {
      const a = BROKERS[this.#rng.int(3)]!;
      const other = BROKERS.filter((x) => x !== a)[this.#rng.int(2)]!;
      if (this.#rng.next() < 0.5) {
        this.#cutLinks.add(linkKey(a, other));
        this.stats.linkCuts++;
        this.#note(`link ${a}-${other} cut`);
      } else {
        const slowMs = 20 + this.#rng.int(300);
        this.#slowLinks.set(linkKey(a, other), slowMs);
        this.#note(`link ${a}-${other} slow (+${slowMs} ms)`);
      }
      this.#schedule(100 + this.#rng.int(1500), { type: 'heal-link', a, b: other });
    } else if (roll < 0.8) {
      this.#dropProbability = [0, 0.05, 0.2, 0.5][this.#rng.int(4)]!;
      this.#note(`drop probability ${this.#dropProbability}`);
    }
  }

  #heal(): void {
    this.#faultsOn = false;
    this.#dropProbability = 0;
    this.#cutLinks.clear();
    this.#slowLinks.clear();
    this.#note('faults off');
    for (const b of this.#brokers.values()) if (!b.alive) this.#restart(b);
  }

  // ---- invariants ----

  #checkStep(): void {
    this.#checkController();
    for (const b of this.#brokers.values()) {
      if (!b.alive) continue;
      const hw = this.#highWatermarkOf(b);
      if (hw > b.log.logEndOffset()) this.#fail(`broker ${b.id} high watermark ${hw} beyond its log end ${b.log.logEndOffset()}`);
      if (b.leader !== null) {
        const key = `${b.id}/${b.leader.leaderEpoch}`;
        const last = this.#leaderHighWatermarks.get(key) ?? -1;
        if (hw < last) this.#fail(`leader ${b.id} high watermark went back from ${last} to ${hw} in epoch ${b.leader.leaderEpoch}`);
        this.#leaderHighWatermarks.set(key, hw);
        if (this.options.checkLeaderFlushed && this.options.durability === 'fsync' && hw > b.log.flushedOffset()) this.#fail(`leader ${b.id} high watermark ${hw} beyond its flushed offset ${b.log.flushedOffset()}`);
        if (!b.leader.isr.includes(b.id)) this.#fail(`leader ${b.id} not in its own ISR`);
      }
      // Follower high watermarks may come from the planted bug: use what the leader advertised.
      for (let o = b.checkedBelow; o < hw; o++) {
        const r = b.log.record(o);
        if (r === undefined) this.#fail(`broker ${b.id} has no record at ${o} below its high watermark ${hw}`);
        const c = this.#committed[o];
        if (c === undefined) {
          if (o !== this.#committed.length) this.#fail(`committed offsets would have a gap at ${this.#committed.length}..${o}`);
          this.#committed.push(r);
        } else if (c.epoch !== r.epoch || c.value !== r.value) {
          this.#fail(`broker ${b.id} exposes ${r.value}@${r.epoch} at ${o} below its high watermark ${hw}, but ${c.value}@${c.epoch} was committed there`);
        }
      }
      b.checkedBelow = Math.max(b.checkedBelow, hw);
    }
  }

  #checkFinal(): void {
    const c = this.#controller;
    if (c.leader === -1) this.#fail('no leader after the quiet period');
    const leader = this.#brokers.get(c.leader)!;
    const l = leader.leader;
    if (l === null) this.#fail(`broker ${c.leader} does not act as leader after the quiet period`);
    if (c.isr.length !== BROKERS.length) this.#fail(`ISR [${c.isr}] is not every replica after the quiet period`);
    if (l.highWatermark !== leader.log.logEndOffset()) this.#fail(`high watermark ${l.highWatermark} short of the log end ${leader.log.logEndOffset()} after the quiet period`);
    for (const [o, v] of this.#acked) if (leader.log.record(o)?.value !== v) this.#fail(`acknowledged ${v} at ${o} missing from the final leader ${leader.id}`);
    for (const b of this.#brokers.values()) {
      const hw = this.#highWatermarkOf(b);
      for (let o = 0; o < hw; o++) {
        const r = b.log.record(o);
        const x = leader.log.record(o);
        if (r?.value !== x?.value || r?.epoch !== x?.epoch) this.#fail(`broker ${b.id} differs from leader ${leader.id} at ${o} below its high watermark`);
      }
      if (b !== leader && hw !== l.highWatermark) this.#fail(`follower ${b.id} high watermark ${hw} != leader ${l.highWatermark} after the quiet period`);
    }
    this.stats.finalHighWatermark = l.highWatermark;
  }
}

function linkKey(a: number, b: number): string {
  return a < b ? `${a}-${b}` : `${b}-${a}`;
}

export function simulate(options: SimOptions): SimStats {
  return new ReplicationSimulation(options).run();
}
