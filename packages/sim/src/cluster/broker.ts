/**
 * A simulated broker: BrokerLifecycle's states (registering -> fenced -> unfenced, controlled shutdown, re-register
 * on STALE_BROKER_EPOCH / BROKER_ID_NOT_REGISTERED) and MetadataFollower's fetch loop (committed entries only,
 * snapshots in chunks), rewritten as callbacks on the simulated clock: the controller package's versions sleep on
 * real timers and draw their incarnation ids and jitter from crypto, which a seed cannot replay. As a replica
 * leader (in its own image) it asks AlterPartition to shrink or expand ISRs with the epochs it knows.
 */
import type { Rng } from '@tributary/common';
import type { FetchMetadataResponse } from '@tributary/controller';
import {
  ErrorCode,
  MetadataDelta,
  MetadataImage,
  decodeRecordBatch,
  decodeSnapshot,
  randomUuid,
  type AlterPartitionRequest,
  type AlterPartitionResponse,
  type BrokerHeartbeatResponse,
  type BrokerRegistrationResponse,
} from '@tributary/metadata';
import type { RpcOutcome, SimRpcClient } from './rpc.ts';

export type BrokerState = 'down' | 'registering' | 'fenced' | 'unfenced' | 'shutting-down' | 'shut-down';

export interface BrokerTiming {
  heartbeatIntervalMs: number;
  fastHeartbeatIntervalMs: number;
  /** One call's timeout (registration, heartbeat, AlterPartition). */
  requestTimeoutMs: number;
  /** FetchMetadata long-poll wait. */
  fetchWaitMs: number;
  /** FetchMetadata maxBytes: small, so catching up takes several fetches and snapshots several chunks. */
  fetchMaxBytes: number;
  /** Probability per tick that an unfenced broker asks to change one ISR it leads. */
  alterPartitionProbability: number;
}

export interface BrokerHost {
  readonly rng: Rng;
  nowMs(): number;
  log(line: string): void;
}

interface PendingSnapshot {
  nextOffset: number;
  totalBytes: number;
  received: number;
  parts: Uint8Array[];
}

export class SimBroker {
  readonly brokerId: number;
  /** Network address. */
  readonly netId: number;
  readonly client: SimRpcClient;
  readonly #timing: BrokerTiming;
  state: BrokerState = 'down';
  paused = false;
  /** Bumped on every start: answers to an earlier incarnation's calls are ignored. */
  incarnation = 0;
  incarnationId = '';
  brokerEpoch = -1;
  wantShutDown = false;
  image: MetadataImage = MetadataImage.EMPTY;
  /** Everything below this offset is in `image`. */
  nextOffset = 0;
  #pendingSnapshot: PendingSnapshot | null = null;
  #registerInFlight = false;
  #heartbeatInFlight = false;
  #fetchInFlight = false;
  #alterInFlight = false;
  #nextRegisterMs = 0;
  #nextHeartbeatMs = 0;
  #nextFetchMs = 0;
  readonly stats = { registrations: 0, heartbeats: 0, fetches: 0, snapshotsInstalled: 0, alterPartitions: 0, alterPartitionOk: 0, controlledShutdowns: 0 };

  constructor(brokerId: number, netId: number, client: SimRpcClient, timing: BrokerTiming) {
    this.brokerId = brokerId;
    this.netId = netId;
    this.client = client;
    this.#timing = timing;
  }

  get alive(): boolean {
    return this.state !== 'down' && this.state !== 'shut-down';
  }

  /** A process start: fresh memory (no persisted metadata), a new incarnation id from the seeded rng. */
  start(host: BrokerHost): void {
    this.incarnation++;
    this.incarnationId = randomUuid(host.rng, () => false);
    this.state = 'registering';
    this.paused = false;
    this.brokerEpoch = -1;
    this.wantShutDown = false;
    this.image = MetadataImage.EMPTY;
    this.nextOffset = 0;
    this.#pendingSnapshot = null;
    this.#registerInFlight = this.#heartbeatInFlight = this.#fetchInFlight = this.#alterInFlight = false;
    this.#nextRegisterMs = this.#nextHeartbeatMs = this.#nextFetchMs = host.nowMs();
    this.client.reset();
    host.log(`b${this.brokerId} START incarnation ${this.incarnationId}`);
  }

  crash(): void {
    this.state = 'down';
    this.paused = false;
    this.client.reset();
  }

  requestControlledShutdown(): void {
    if (!this.alive || this.wantShutDown) return;
    this.wantShutDown = true;
    this.stats.controlledShutdowns++;
    if (this.state === 'fenced' || this.state === 'unfenced') this.state = 'shutting-down';
    this.#nextHeartbeatMs = 0;
  }

  /** Called every tick: due calls go out (a paused process does nothing; its pending calls time out). */
  onTick(host: BrokerHost): void {
    if (!this.alive || this.paused) return;
    const now = host.nowMs();
    this.client.expire(now);
    if (this.state === 'registering' && !this.#registerInFlight && now >= this.#nextRegisterMs) this.#register(host);
    if (this.brokerEpoch >= 0 && this.state !== 'registering' && !this.#heartbeatInFlight && now >= this.#nextHeartbeatMs) this.#heartbeat(host);
    if (!this.#fetchInFlight && now >= this.#nextFetchMs) this.#fetch(host);
    if (this.state === 'unfenced' && !this.wantShutDown && !this.#alterInFlight && host.rng.next() < this.#timing.alterPartitionProbability) this.#alterPartition(host);
  }

  /** Answers reach only the incarnation that called, and only while it runs. */
  #guard(done: (outcome: RpcOutcome) => void): (outcome: RpcOutcome) => void {
    const incarnation = this.incarnation;
    return (outcome) => {
      if (this.incarnation !== incarnation || !this.alive) return;
      done(outcome);
    };
  }

  #register(host: BrokerHost): void {
    this.#registerInFlight = true;
    this.stats.registrations++;
    const request = { brokerId: this.brokerId, incarnationId: this.incarnationId, listeners: [{ name: 'PLAINTEXT', host: `broker-${this.brokerId}`, port: 9092 }], rack: null, features: [] };
    this.client.call('registerBroker', request, this.#timing.requestTimeoutMs, host.nowMs(), this.#guard((outcome) => {
      this.#registerInFlight = false;
      const r = outcome.ok ? (outcome.body as BrokerRegistrationResponse) : null;
      if (r === null || r.errorCode !== ErrorCode.NONE) {
        // DUPLICATE_BROKER_REGISTRATION while the previous incarnation's session is valid, or no controller.
        this.#nextRegisterMs = host.nowMs() + this.#timing.fastHeartbeatIntervalMs;
        return;
      }
      if (this.state !== 'registering') return;
      this.brokerEpoch = r.brokerEpoch;
      this.state = this.wantShutDown ? 'shutting-down' : 'fenced';
      this.#nextHeartbeatMs = host.nowMs();
      host.log(`b${this.brokerId} registered at epoch ${r.brokerEpoch}`);
    }));
  }

  #heartbeat(host: BrokerHost): void {
    this.#heartbeatInFlight = true;
    this.stats.heartbeats++;
    const epoch = this.brokerEpoch;
    const request = { brokerId: this.brokerId, brokerEpoch: epoch, currentMetadataOffset: this.nextOffset - 1, wantFence: false, wantShutDown: this.wantShutDown };
    this.client.call('brokerHeartbeat', request, this.#timing.requestTimeoutMs, host.nowMs(), this.#guard((outcome) => {
      this.#heartbeatInFlight = false;
      const now = host.nowMs();
      this.#nextHeartbeatMs = now + this.#timing.fastHeartbeatIntervalMs;
      if (epoch !== this.brokerEpoch || !outcome.ok) return;
      const r = outcome.body as BrokerHeartbeatResponse;
      if (r.errorCode === ErrorCode.STALE_BROKER_EPOCH || r.errorCode === ErrorCode.BROKER_ID_NOT_REGISTERED) {
        host.log(`b${this.brokerId} registration lost (${r.errorCode}); registering again`);
        this.brokerEpoch = -1;
        this.state = 'registering';
        this.#nextRegisterMs = now;
        return;
      }
      if (r.errorCode !== ErrorCode.NONE) return;
      if (r.shouldShutDown) {
        host.log(`b${this.brokerId} controlled shutdown complete`);
        this.state = 'shut-down';
        this.client.reset();
        return;
      }
      if (this.wantShutDown) this.state = 'shutting-down';
      else if (r.isFenced && this.state !== 'fenced') {
        this.state = 'fenced';
        host.log(`b${this.brokerId} fenced`);
      } else if (!r.isFenced && this.state !== 'unfenced') {
        this.state = 'unfenced';
        host.log(`b${this.brokerId} unfenced`);
      }
      if (this.state === 'unfenced') this.#nextHeartbeatMs = now + this.#timing.heartbeatIntervalMs;
    }));
  }

  #fetch(host: BrokerHost): void {
    this.#fetchInFlight = true;
    this.stats.fetches++;
    const p = this.#pendingSnapshot;
    const request = {
      fromOffset: this.nextOffset,
      maxBytes: this.#timing.fetchMaxBytes,
      maxWaitMs: this.#timing.fetchWaitMs,
      snapshot: p === null ? null : { nextOffset: p.nextOffset, position: p.received },
      brokerId: this.brokerId,
    };
    this.client.call('fetchMetadata', request, this.#timing.fetchWaitMs + this.#timing.requestTimeoutMs, host.nowMs(), this.#guard((outcome) => {
      this.#fetchInFlight = false;
      if (!outcome.ok) {
        this.#nextFetchMs = host.nowMs() + this.#timing.fastHeartbeatIntervalMs;
        return;
      }
      this.#nextFetchMs = host.nowMs();
      this.#applyFetch(host, outcome.body as FetchMetadataResponse);
    }));
  }

  /** MetadataFollower's rules; anything that does not fit is a bug the simulation reports (it throws). */
  #applyFetch(host: BrokerHost, response: FetchMetadataResponse): void {
    if (response.snapshot !== null) {
      const chunk = response.snapshot;
      if (chunk.position === 0) this.#pendingSnapshot = { nextOffset: chunk.nextOffset, totalBytes: chunk.totalBytes, received: 0, parts: [] };
      const p = this.#pendingSnapshot;
      if (p === null || p.nextOffset !== chunk.nextOffset || p.received !== chunk.position || p.totalBytes !== chunk.totalBytes) {
        this.#pendingSnapshot = null; // the controller moved to another snapshot: start over
        return;
      }
      p.parts.push(chunk.data.slice());
      p.received += chunk.data.byteLength;
      if (p.received > p.totalBytes) throw new Error(`b${this.brokerId}: snapshot chunks exceed its size ${p.totalBytes}`);
      if (p.received < p.totalBytes) return;
      this.#pendingSnapshot = null;
      this.image = decodeSnapshot(concat(p.parts));
      this.nextOffset = p.nextOffset;
      this.stats.snapshotsInstalled++;
      host.log(`b${this.brokerId} installed a metadata snapshot at ${p.nextOffset}`);
      return;
    }
    this.#pendingSnapshot = null;
    if (response.entries.length === 0 && response.nextOffset === this.nextOffset) return;
    if (response.nextOffset < this.nextOffset) throw new Error(`b${this.brokerId}: the controller went back from offset ${this.nextOffset} to ${response.nextOffset}`);
    const delta = new MetadataDelta(this.image);
    let last = this.nextOffset - 1;
    for (const entry of response.entries) {
      if (entry.offset <= last || entry.offset >= response.nextOffset) throw new Error(`b${this.brokerId}: entry offset ${entry.offset} out of order (after ${last}, before ${response.nextOffset})`);
      last = entry.offset;
      delta.replayAll(decodeRecordBatch(entry.records));
    }
    this.image = delta.apply();
    this.nextOffset = response.nextOffset;
  }

  #alterPartition(host: BrokerHost): void {
    const led: { topicId: string; partitionId: number }[] = [];
    for (const topic of this.image.sortedTopics()) for (const p of topic.partitions) if (p.leader === this.brokerId) led.push({ topicId: topic.topicId, partitionId: p.partitionId });
    if (led.length === 0) return;
    const pick = led[host.rng.int(led.length)]!;
    const p = this.image.partition(pick.topicId, pick.partitionId)!;
    const followers = p.isr.filter((r) => r !== this.brokerId);
    const outside = p.replicas.filter((r) => !p.isr.includes(r));
    let isr: number[];
    if (outside.length > 0 && (followers.length === 0 || host.rng.next() < 0.5)) {
      isr = [...p.isr, outside[host.rng.int(outside.length)]!]; // expand: a replica that caught up
    } else if (followers.length > 0) {
      const drop = followers[host.rng.int(followers.length)]!;
      isr = p.isr.filter((r) => r !== drop); // shrink: a follower fell behind
    } else {
      return;
    }
    const request: AlterPartitionRequest = {
      brokerId: this.brokerId,
      brokerEpoch: this.brokerEpoch,
      topics: [
        {
          topicId: pick.topicId,
          partitions: [
            {
              partitionIndex: pick.partitionId,
              leaderEpoch: p.leaderEpoch,
              partitionEpoch: p.partitionEpoch,
              // Epochs as this broker knows them (a stale one is refused with INELIGIBLE_REPLICA); sometimes -1 (KIP-903).
              newIsrWithEpochs: isr.map((brokerId) => ({ brokerId, brokerEpoch: host.rng.next() < 0.2 ? -1 : (this.image.broker(brokerId)?.brokerEpoch ?? -1) })),
            },
          ],
        },
      ],
    };
    this.#alterInFlight = true;
    this.stats.alterPartitions++;
    this.client.call('alterPartition', request, this.#timing.requestTimeoutMs, host.nowMs(), this.#guard((outcome) => {
      this.#alterInFlight = false;
      if (!outcome.ok) return;
      const r = outcome.body as AlterPartitionResponse;
      const result = r.topics[0]?.partitions[0];
      if (r.errorCode === ErrorCode.NONE && result?.errorCode === ErrorCode.NONE) this.stats.alterPartitionOk++;
    }));
  }
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  let total = 0;
  for (const p of parts) total += p.byteLength;
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}
