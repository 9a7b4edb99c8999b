/**
 * Broker lifecycle: registration, heartbeats, session expiry, controlled shutdown, unregistration.
 *
 * A broker's state, as the image holds it:
 *   (absent) --register--> FENCED --heartbeat, caught up--> UNFENCED --heartbeat wantShutDown--> CONTROLLED_SHUTDOWN
 *   UNFENCED --session expired | heartbeat wantFence--> FENCED
 *   CONTROLLED_SHUTDOWN --heartbeat, leads nothing--> FENCED (shouldShutDown) ; --session expired--> FENCED
 *   any --register (new epoch)--> FENCED ; any --unregister--> (absent)
 * Fencing, shutting down and unregistering take the broker out of every ISR and every leadership (election.ts);
 * unfencing elects it where partitions have no leader. A fenced broker in controlled shutdown stays fenced until
 * it registers again.
 *
 * Sessions (last contact, registration offset) are the active controller's soft state, not metadata: they are
 * not replicated, and a new active controller starts them afresh (BrokerSessions.forNewLeader).
 */
import { ErrorCode } from '../errors.ts';
import type { MetadataImage } from '../image.ts';
import { NO_LEADER, type BrokerListener, type MetadataRecord, type PartitionChangeRecord } from '../records.ts';
import { isValidUuid, ZERO_UUID } from '../uuid.ts';
import { uncleanElectionEnabled, type ControllerContext, type ControllerResult } from './context.ts';
import { leaderAndIsrChange, RecordBuilder } from './election.ts';

const INT32_MAX = 2147483647;
const MAX_LISTENERS = 64;

export interface BrokerSession {
  readonly brokerEpoch: number;
  readonly lastContactMs: number;
  /**
   * Offset of the metadata log entry holding this epoch's registration; a broker whose metadata reached it is
   * caught up. null until the shell learns it (after proposing, or while replaying the log).
   */
  readonly registrationOffset: number | null;
}

/** Per-broker sessions, immutable: every change returns a new BrokerSessions. */
export class BrokerSessions {
  static readonly EMPTY: BrokerSessions = new BrokerSessions(new Map());

  readonly #sessions: ReadonlyMap<number, BrokerSession>;

  private constructor(sessions: ReadonlyMap<number, BrokerSession>) {
    this.#sessions = sessions;
  }

  /**
   * Sessions for a controller that just became active: every registered broker counts as heard from now (Kafka
   * does the same), with the registration offsets the shell collected while replaying the log (for brokers
   * loaded from a snapshot, the snapshot's last offset).
   */
  static forNewLeader(image: MetadataImage, nowMs: number, registrationOffsets: ReadonlyMap<number, number> = new Map()): BrokerSessions {
    const sessions = new Map<number, BrokerSession>();
    for (const b of image.brokers.values()) {
      sessions.set(b.brokerId, Object.freeze({ brokerEpoch: b.brokerEpoch, lastContactMs: nowMs, registrationOffset: registrationOffsets.get(b.brokerId) ?? null }));
    }
    return new BrokerSessions(sessions);
  }

  get(brokerId: number): BrokerSession | undefined {
    return this.#sessions.get(brokerId);
  }

  get size(): number {
    return this.#sessions.size;
  }

  /** Records contact from the broker at this epoch (a new epoch starts a new session). */
  touch(brokerId: number, brokerEpoch: number, nowMs: number): BrokerSessions {
    const prev = this.#sessions.get(brokerId);
    const same = prev !== undefined && prev.brokerEpoch === brokerEpoch;
    const next = new Map(this.#sessions);
    next.set(
      brokerId,
      Object.freeze({
        brokerEpoch,
        lastContactMs: same ? Math.max(prev.lastContactMs, nowMs) : nowMs,
        registrationOffset: same ? prev.registrationOffset : null,
      }),
    );
    return new BrokerSessions(next);
  }

  /** Notes where the registration of (brokerId, brokerEpoch) landed; ignored if the session moved on. */
  withRegistrationOffset(brokerId: number, brokerEpoch: number, offset: number): BrokerSessions {
    const prev = this.#sessions.get(brokerId);
    if (prev === undefined || prev.brokerEpoch !== brokerEpoch) return this;
    const next = new Map(this.#sessions);
    next.set(brokerId, Object.freeze({ ...prev, registrationOffset: offset }));
    return new BrokerSessions(next);
  }

  remove(brokerId: number): BrokerSessions {
    if (!this.#sessions.has(brokerId)) return this;
    const next = new Map(this.#sessions);
    next.delete(brokerId);
    return new BrokerSessions(next);
  }

  /** Kafka's rule: an unfenced broker at its current epoch heard from within the session timeout. */
  hasValidSession(image: MetadataImage, brokerId: number, nowMs: number, sessionTimeoutMs: number): boolean {
    const broker = image.broker(brokerId);
    const session = this.#sessions.get(brokerId);
    if (broker === undefined || session === undefined || broker.fenced) return false;
    return session.brokerEpoch === broker.brokerEpoch && session.lastContactMs + sessionTimeoutMs >= nowMs;
  }
}

/** Operations that touch sessions return the next sessions alongside records and response. */
export interface SessionResult<R> extends ControllerResult<R> {
  readonly sessions: BrokerSessions;
}

// ---- leadership moves ----

/** Changes taking `brokerId` out of every ISR and leadership (fence, controlled shutdown, unregister). */
export function removeBrokerFromPartitions(image: MetadataImage, brokerId: number, ctx: ControllerContext): PartitionChangeRecord[] {
  const out: PartitionChangeRecord[] = [];
  for (const topic of image.sortedTopics()) {
    let uncleanOk: boolean | null = null;
    for (const partition of topic.partitions) {
      if (!partition.isr.includes(brokerId)) continue; // the leader is always in the ISR
      uncleanOk ??= uncleanElectionEnabled(image, topic.name, ctx);
      const change = leaderAndIsrChange(image, partition, { brokerToRemove: brokerId, brokerToAdd: NO_LEADER, uncleanOk });
      if (change !== null) out.push(change);
    }
  }
  return out;
}

/** Elections for leaderless partitions `brokerId` (now usable in `image`) can lead. */
export function electLeaderlessPartitions(image: MetadataImage, brokerId: number, ctx: ControllerContext): PartitionChangeRecord[] {
  const out: PartitionChangeRecord[] = [];
  for (const topic of image.sortedTopics()) {
    let uncleanOk: boolean | null = null;
    for (const partition of topic.partitions) {
      if (partition.leader !== NO_LEADER || !partition.replicas.includes(brokerId)) continue;
      uncleanOk ??= uncleanElectionEnabled(image, topic.name, ctx);
      const change = leaderAndIsrChange(image, partition, { brokerToRemove: NO_LEADER, brokerToAdd: NO_LEADER, uncleanOk });
      if (change !== null) out.push(change);
    }
  }
  return out;
}

function leadsAnyPartition(image: MetadataImage, brokerId: number): boolean {
  for (const topic of image.topicsById.values()) for (const p of topic.partitions) if (p.leader === brokerId) return true;
  return false;
}

/** Fences a registered, unfenced broker on the builder: leadership and ISR moves first, then the fence record. */
function fence(builder: RecordBuilder, brokerId: number, ctx: ControllerContext): void {
  const broker = builder.image.broker(brokerId)!;
  builder.add(...removeBrokerFromPartitions(builder.image, brokerId, ctx));
  builder.add({ type: 'fence-broker', brokerId, brokerEpoch: broker.brokerEpoch });
}

/** All records fencing one broker (for callers outside this module, e.g. tools and tests). */
export function fenceBroker(image: MetadataImage, brokerId: number, ctx: ControllerContext): MetadataRecord[] {
  const broker = image.broker(brokerId);
  if (broker === undefined || broker.fenced) return [];
  const builder = new RecordBuilder(image);
  fence(builder, brokerId, ctx);
  return [...builder.records];
}

// ---- BrokerRegistration ----

export interface BrokerRegistrationFeature {
  readonly name: string;
  readonly minSupportedVersion: number;
  readonly maxSupportedVersion: number;
}

export interface BrokerRegistrationRequest {
  readonly brokerId: number;
  readonly incarnationId: string;
  readonly listeners: readonly BrokerListener[];
  readonly rack: string | null;
  readonly features: readonly BrokerRegistrationFeature[];
}

export interface BrokerRegistrationResponse {
  readonly errorCode: number;
  readonly errorMessage: string | null;
  /** -1 on error. */
  readonly brokerEpoch: number;
}

function registrationProblem(image: MetadataImage, request: BrokerRegistrationRequest): { errorCode: number; errorMessage: string } | null {
  const invalid = (errorMessage: string): { errorCode: number; errorMessage: string } => ({ errorCode: ErrorCode.INVALID_REQUEST, errorMessage });
  if (!Number.isInteger(request.brokerId) || request.brokerId < 0 || request.brokerId > INT32_MAX) return invalid(`Invalid broker id ${request.brokerId}.`);
  if (!isValidUuid(request.incarnationId) || request.incarnationId === ZERO_UUID) return invalid(`Invalid incarnation id ${request.incarnationId}.`);
  if (request.listeners.length === 0 || request.listeners.length > MAX_LISTENERS) return invalid(`A broker registers 1 to ${MAX_LISTENERS} listeners, not ${request.listeners.length}.`);
  const names = new Set<string>();
  for (const l of request.listeners) {
    if (l.name.length === 0 || names.has(l.name)) return invalid(`Listener names must be non-empty and distinct ("${l.name}").`);
    names.add(l.name);
    if (l.host.length === 0) return invalid(`Listener ${l.name} has no host.`);
    if (!Number.isInteger(l.port) || l.port < 1 || l.port > 65535) return invalid(`Listener ${l.name} has invalid port ${l.port}.`);
  }
  if (request.rack !== null && request.rack.length === 0) return invalid('An empty rack name; leave the rack unset instead.');
  // Every finalized feature level must be within what the broker supports (a missing feature supports only 0).
  for (const [name, level] of image.features) {
    const supported = request.features.find((f) => f.name === name);
    const min = supported?.minSupportedVersion ?? 0;
    const max = supported?.maxSupportedVersion ?? 0;
    if (level < min || level > max) {
      return {
        errorCode: ErrorCode.UNSUPPORTED_VERSION,
        errorMessage: `Unable to register because the broker does not support finalized version ${level} of ${name}. The broker supports versions ${min}-${max}.`,
      };
    }
  }
  return null;
}

export function registerBroker(
  image: MetadataImage,
  sessions: BrokerSessions,
  request: BrokerRegistrationRequest,
  nowMs: number,
  ctx: ControllerContext,
): SessionResult<BrokerRegistrationResponse> {
  const refuse = (errorCode: number, errorMessage: string): SessionResult<BrokerRegistrationResponse> => ({
    records: [],
    response: { errorCode, errorMessage, brokerEpoch: -1 },
    sessions,
  });
  const problem = registrationProblem(image, request);
  if (problem !== null) return refuse(problem.errorCode, problem.errorMessage);
  const existing = image.broker(request.brokerId);
  if (
    existing !== undefined &&
    existing.incarnationId !== request.incarnationId &&
    sessions.hasValidSession(image, request.brokerId, nowMs, ctx.brokerSessionTimeoutMs)
  ) {
    return refuse(ErrorCode.DUPLICATE_BROKER_REGISTRATION, 'Another broker is registered with that broker id.');
  }
  const builder = new RecordBuilder(image);
  // The old incarnation (crashed, or this one retrying) may still lead partitions: fence it first, so a
  // registration, which always starts fenced, never leaves a fenced leader behind.
  if (existing !== undefined && !existing.fenced) fence(builder, request.brokerId, ctx);
  const brokerEpoch = builder.image.nextBrokerEpoch;
  builder.add({
    type: 'register-broker',
    brokerId: request.brokerId,
    incarnationId: request.incarnationId,
    brokerEpoch,
    listeners: request.listeners.map((l) => ({ name: l.name, host: l.host, port: l.port })),
    rack: request.rack,
    fenced: true,
    inControlledShutdown: false,
  });
  return {
    records: builder.records,
    response: { errorCode: ErrorCode.NONE, errorMessage: null, brokerEpoch },
    sessions: sessions.touch(request.brokerId, brokerEpoch, nowMs),
  };
}

// ---- BrokerHeartbeat ----

export interface BrokerHeartbeatRequest {
  readonly brokerId: number;
  readonly brokerEpoch: number;
  /** The highest metadata offset the broker has applied. */
  readonly currentMetadataOffset: number;
  readonly wantFence: boolean;
  readonly wantShutDown: boolean;
}

export interface BrokerHeartbeatResponse {
  readonly errorCode: number;
  readonly errorMessage: string | null;
  readonly isCaughtUp: boolean;
  readonly isFenced: boolean;
  readonly shouldShutDown: boolean;
}

export function brokerHeartbeat(
  image: MetadataImage,
  sessions: BrokerSessions,
  request: BrokerHeartbeatRequest,
  nowMs: number,
  ctx: ControllerContext,
): SessionResult<BrokerHeartbeatResponse> {
  const broker = image.broker(request.brokerId);
  if (broker === undefined || broker.brokerEpoch !== request.brokerEpoch) {
    const errorCode = broker === undefined ? ErrorCode.BROKER_ID_NOT_REGISTERED : ErrorCode.STALE_BROKER_EPOCH;
    const errorMessage =
      broker === undefined ? `Broker ${request.brokerId} is not registered.` : `Broker ${request.brokerId} is at epoch ${broker.brokerEpoch}, not ${request.brokerEpoch}.`;
    return { records: [], response: { errorCode, errorMessage, isCaughtUp: false, isFenced: true, shouldShutDown: false }, sessions };
  }
  const nextSessions = sessions.touch(broker.brokerId, broker.brokerEpoch, nowMs);
  const registrationOffset = nextSessions.get(broker.brokerId)!.registrationOffset;
  const isCaughtUp = registrationOffset !== null && request.currentMetadataOffset >= registrationOffset;
  const builder = new RecordBuilder(image);
  let shouldShutDown = false;
  if (broker.fenced) {
    if (request.wantShutDown) {
      shouldShutDown = true;
    } else if (!request.wantFence && isCaughtUp && !broker.inControlledShutdown) {
      builder.add({ type: 'unfence-broker', brokerId: broker.brokerId, brokerEpoch: broker.brokerEpoch });
      builder.add(...electLeaderlessPartitions(builder.image, broker.brokerId, ctx));
    }
  } else if (broker.inControlledShutdown) {
    // A controlled shutdown cannot be called off; it ends once the broker leads nothing.
    builder.add(...removeBrokerFromPartitions(builder.image, broker.brokerId, ctx));
    if (!leadsAnyPartition(builder.image, broker.brokerId)) {
      fence(builder, broker.brokerId, ctx);
      shouldShutDown = true;
    }
  } else if (request.wantShutDown) {
    builder.add({ type: 'broker-registration-change', brokerId: broker.brokerId, brokerEpoch: broker.brokerEpoch, inControlledShutdown: true });
    builder.add(...removeBrokerFromPartitions(builder.image, broker.brokerId, ctx));
  } else if (request.wantFence) {
    fence(builder, broker.brokerId, ctx);
  }
  return {
    records: builder.records,
    response: { errorCode: ErrorCode.NONE, errorMessage: null, isCaughtUp, isFenced: builder.image.broker(broker.brokerId)!.fenced, shouldShutDown },
    sessions: nextSessions,
  };
}

// ---- session expiry ----

export interface FenceStaleBrokersResponse {
  readonly fencedBrokerIds: readonly number[];
}

/**
 * Fences every unfenced broker not heard from for longer than broker.session.timeout.ms. A broker without a
 * session at its current epoch (a controller that just took over, a registration it did not see) gets one
 * starting now instead: it is never fenced for silence the controller did not witness.
 */
export function fenceStaleBrokers(image: MetadataImage, sessions: BrokerSessions, nowMs: number, ctx: ControllerContext): SessionResult<FenceStaleBrokersResponse> {
  const builder = new RecordBuilder(image);
  const fenced: number[] = [];
  let nextSessions = sessions;
  for (const brokerId of [...image.brokers.keys()].sort((a, b) => a - b)) {
    const broker = builder.image.broker(brokerId)!;
    if (broker.fenced) continue;
    const session = nextSessions.get(brokerId);
    if (session === undefined || session.brokerEpoch !== broker.brokerEpoch) {
      nextSessions = nextSessions.touch(brokerId, broker.brokerEpoch, nowMs);
      continue;
    }
    if (session.lastContactMs + ctx.brokerSessionTimeoutMs >= nowMs) continue;
    fence(builder, brokerId, ctx);
    fenced.push(brokerId);
  }
  return { records: builder.records, response: { fencedBrokerIds: fenced }, sessions: nextSessions };
}

// ---- UnregisterBroker ----

export interface UnregisterBrokerRequest {
  readonly brokerId: number;
}

export interface UnregisterBrokerResponse {
  readonly errorCode: number;
  readonly errorMessage: string | null;
}

/**
 * Removes a broker's registration (Kafka's UnregisterBroker): it leaves every ISR and leadership first. Its
 * replica assignments stay (Kafka's behaviour): partitions keep naming it until they are reassigned, and it
 * can come back by registering again.
 */
export function unregisterBroker(image: MetadataImage, request: UnregisterBrokerRequest, ctx: ControllerContext): ControllerResult<UnregisterBrokerResponse> {
  const broker = image.broker(request.brokerId);
  if (broker === undefined) {
    return { records: [], response: { errorCode: ErrorCode.BROKER_ID_NOT_REGISTERED, errorMessage: `Broker ${request.brokerId} is not registered.` } };
  }
  const builder = new RecordBuilder(image);
  builder.add(...removeBrokerFromPartitions(image, broker.brokerId, ctx));
  builder.add({ type: 'unregister-broker', brokerId: broker.brokerId, brokerEpoch: broker.brokerEpoch });
  return { records: builder.records, response: { errorCode: ErrorCode.NONE, errorMessage: null } };
}
