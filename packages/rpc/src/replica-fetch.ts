/**
 * Replica fetch over gRPC (tributary.replication.v1.ReplicaService): the transport between a follower broker's
 * fetcher and the partition leaders' brokers. The replication rules (what to answer, when to truncate) live in
 * @tributary/broker and @tributary/replication; this module moves their requests and answers.
 *
 * - `addReplicaService(server, ...)`: the leader side. One bidirectional stream per follower broker; each inbound
 *   request is validated (replication.proto's error table), queued (at most `maxQueuedRequests` behind the one being
 *   answered) and handed to the `ReplicaFetchHandler` one at a time, in order. The handler long-polls inside `fetch`
 *   (up to the request's maxWaitMs) and gets an AbortSignal that fires when the stream is cancelled, half-closed by
 *   the follower, failed or the service closes. Answers are written in order, waiting for 'drain' when gRPC's
 *   buffer is full, and are size-checked before leaving: an answer over the gRPC message limit fails the stream with
 *   RESOURCE_EXHAUSTED / `too-large` instead of an opaque grpc-js error.
 * - `ReplicaFetchClient`: the follower side, one per leader broker address. `fetch()` sends one request on a
 *   long-lived stream (opened lazily) and resolves with its answer; one request in flight at a time, each with a
 *   deadline (maxWaitMs + `requestMarginMs` unless given). A failed stream (an error status, a timeout, a bad
 *   answer) is dropped and the next fetch opens a new one after a jittered exponential backoff
 *   (`backoffBaseMs`..`backoffMaxMs`). `setAddress()` follows a leader that moved.
 *
 * Records are not copied on receipt: measured with @grpc/proto-loader 0.8 / protobufjs 7, a decoded `bytes` field is
 * a Buffer view into the received message (a 1 MiB `records` decodes in ~0.1 ms, against ~3 ms for one copy on
 * this machine), so the loader's own (de)serializers are kept and replication.proto stays the only contract. Sending
 * copies twice (protobufjs encodes into one buffer, grpc-js frames it into another); a custom serializer could not
 * avoid grpc-js's copy, so it would save nothing worth a second codec.
 *
 * Concurrency: single-threaded (the event loop).
 */
import * as grpc from '@grpc/grpc-js';
import { assert, silentLogger, type Clock, type Logger, type Rng, type Timer, type TimerHandle } from '@tributary/common';
import { errorReason, loadProto, toServiceError, type RpcError } from './proto.ts';
import { grpcChannelOptions } from './transport.ts';

// ---------------------------------------------------------------- messages

export interface ReplicaFetchPartition {
  /** Kafka's text form of the topic uuid (22 characters of base64url). */
  topicId: string;
  partition: number;
  /** -1: unknown (skips the leader epoch check). */
  currentLeaderEpoch: number;
  fetchOffset: number;
  /** -1: empty log. */
  lastFetchedEpoch: number;
  /** -1: unknown. */
  logStartOffset: number;
  /** The end of the follower's fsynced prefix (-1: unknown). */
  flushedOffset: number;
  maxBytes: number;
}

export interface ReplicaFetchRequest {
  /** Strictly increasing on a stream; the client assigns it. */
  sequence: number;
  clusterId: string;
  replicaId: number;
  /** -1: unknown. */
  brokerEpoch: number;
  maxWaitMs: number;
  minBytes: number;
  maxBytes: number;
  partitions: ReplicaFetchPartition[];
}

/** What a follower passes to `ReplicaFetchClient.fetch`: the client numbers the requests. */
export type ReplicaFetchRequestBody = Omit<ReplicaFetchRequest, 'sequence'>;

export interface ReplicaFetchEpochEndOffset {
  epoch: number;
  endOffset: number;
}

export interface ReplicaFetchPartitionResult {
  topicId: string;
  partition: number;
  /** Kafka error code (0: none). */
  errorCode: number;
  highWatermark: number;
  logStartOffset: number;
  logEndOffset: number;
  /** Set when the follower must truncate to `endOffset` (KIP-595); null otherwise. */
  divergingEpoch: ReplicaFetchEpochEndOffset | null;
  /** Whole record batches. Received: a view into the gRPC message, not a copy. */
  records: Buffer;
}

export interface ReplicaFetchResponse {
  /** The request's sequence. */
  sequence: number;
  /** Kafka error code for the whole request (0: none); `partitions` is empty when it is set. */
  errorCode: number;
  /** '' when none. */
  errorMessage: string;
  partitions: ReplicaFetchPartitionResult[];
}

/** The leader side's port: the broker's replica manager answers fetches. */
export interface ReplicaFetchHandler {
  /**
   * Answer one validated request; long-poll up to `request.maxWaitMs` when there is less than `minBytes` to send.
   * `signal` aborts when the stream ends (the follower went away or the service is closing): stop waiting then.
   * The answer must echo `request.sequence`. A rejection fails the stream with INTERNAL.
   */
  fetch(request: ReplicaFetchRequest, signal: AbortSignal): Promise<ReplicaFetchResponse>;
}

// ---------------------------------------------------------------- limits

export interface ReplicaFetchLimits {
  /**
   * gRPC message size bound both ways. The gRPC server hosting the service must be started with the same value
   * (`startGrpcServer(address, register, { maxMessageBytes })`): grpc-js's limits are per server, not per service.
   */
  maxMessageBytes: number;
  /** Bound on a request's max_bytes, min_bytes and per-partition max_bytes. Below maxMessageBytes, leaving room for
   * a first batch larger than max_bytes (KIP-74: returned anyway so the follower progresses). */
  maxFetchBytes: number;
  /** Partitions in one request or response. */
  maxPartitions: number;
  /** Bound on a request's max_wait_ms. */
  maxWaitMs: number;
  /** Requests a stream may queue behind the one being answered (a well-behaved follower queues none). */
  maxQueuedRequests: number;
  /** Concurrent streams the service accepts (about one per follower broker). */
  maxStreams: number;
  /** Client: a request's deadline is its maxWaitMs plus this. */
  requestMarginMs: number;
  /** Client: backoff before re-opening a failed stream, doubling from base to max, jittered. */
  backoffBaseMs: number;
  backoffMaxMs: number;
}

const MiB = 1024 * 1024;

export const defaultReplicaFetchLimits: Readonly<ReplicaFetchLimits> = Object.freeze({
  maxMessageBytes: 64 * MiB,
  maxFetchBytes: 32 * MiB,
  maxPartitions: 10_000,
  maxWaitMs: 30_000,
  maxQueuedRequests: 2,
  maxStreams: 1024,
  requestMarginMs: 5_000,
  backoffBaseMs: 50,
  backoffMaxMs: 2_000,
});

function resolveLimits(partial: Partial<ReplicaFetchLimits> | undefined): ReplicaFetchLimits {
  const limits = { ...defaultReplicaFetchLimits, ...partial };
  for (const [key, value] of Object.entries(limits)) assert(Number.isSafeInteger(value) && value >= 0, `replica fetch limit ${key} must be a non-negative integer, got ${String(value)}`);
  assert(limits.maxFetchBytes > 0 && limits.maxFetchBytes < limits.maxMessageBytes, `maxFetchBytes (${limits.maxFetchBytes}) must be positive and below maxMessageBytes (${limits.maxMessageBytes})`);
  assert(limits.maxMessageBytes <= 2 ** 31 - 1, 'maxMessageBytes must fit gRPC int32 options');
  assert(limits.backoffBaseMs > 0 && limits.backoffBaseMs <= limits.backoffMaxMs, 'backoffBaseMs must be positive and at most backoffMaxMs');
  assert(limits.maxStreams > 0, 'maxStreams must be positive');
  return limits;
}

/** Bounds on strings (bytes of UTF-8); a topic id is exactly 22 characters. */
const MAX_CLUSTER_ID_BYTES = 255;
const MAX_ERROR_MESSAGE_BYTES = 4096;
const TOPIC_ID = /^[A-Za-z0-9_-]{22}$/;
const INT32_MAX = 2 ** 31 - 1;
const INT16_MIN = -(2 ** 15);
const INT16_MAX = 2 ** 15 - 1;

// ---------------------------------------------------------------- validation

/** A field out of range; `field` is the proto name (partitions[3].fetch_offset). */
class FieldError extends Error {
  readonly field: string;
  constructor(field: string, problem: string) {
    super(`${field}: ${problem}`);
    this.field = field;
  }
}

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
  if (v === null || v === undefined || typeof v === 'number' || typeof v === 'boolean') return String(v);
  return typeof v;
}

function record(v: unknown, field: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new FieldError(field, `expected a message, got ${describe(v)}`);
  return v as Record<string, unknown>;
}

function integer(obj: Record<string, unknown>, key: string, field: string, min: number, max: number): number {
  const v = obj[key];
  // The loader turns int64 beyond 2^53 into an inexact number; only safe integers are exact.
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new FieldError(field, `${describe(v)} is not a safe integer`);
  if (v < min || v > max) throw new FieldError(field, `${v} is outside ${min}..${max}`);
  return v;
}

function string(obj: Record<string, unknown>, key: string, field: string, maxBytes: number): string {
  const v = obj[key];
  if (typeof v !== 'string') throw new FieldError(field, `expected a string, got ${describe(v)}`);
  const bytes = Buffer.byteLength(v, 'utf8');
  if (bytes > maxBytes) throw new FieldError(field, `${bytes} bytes, more than ${maxBytes}`);
  return v;
}

function topicId(obj: Record<string, unknown>, field: string): string {
  const v = obj['topicId'];
  if (typeof v !== 'string' || !TOPIC_ID.test(v)) throw new FieldError(field, `${describe(v)} is not a topic uuid (22 characters of base64url)`);
  return v;
}

function list(obj: Record<string, unknown>, key: string, field: string, max: number): unknown[] {
  const v = obj[key];
  if (!Array.isArray(v)) throw new FieldError(field, `expected a list, got ${describe(v)}`);
  if (v.length > max) throw new FieldError(field, `${v.length} entries, more than ${max}`);
  return v;
}

export type Checked<T> = { ok: true; value: T } | { ok: false; error: RpcError };

/** Runs a check, turning a FieldError into INVALID_ARGUMENT / malformed (anything else is a bug and propagates). */
function attempt<T>(check: () => T): Checked<T> {
  try {
    return { ok: true, value: check() };
  } catch (e) {
    if (e instanceof FieldError) return { ok: false, error: { code: grpc.status.INVALID_ARGUMENT, reason: 'malformed', details: e.message } };
    throw e;
  }
}

const MAX_OFFSET = Number.MAX_SAFE_INTEGER;

function checkRequest(wire: unknown, limits: ReplicaFetchLimits): ReplicaFetchRequest {
  const r = record(wire, 'request');
  integer(r, 'sequence', 'sequence', 0, MAX_OFFSET);
  string(r, 'clusterId', 'cluster_id', MAX_CLUSTER_ID_BYTES);
  integer(r, 'replicaId', 'replica_id', 0, INT32_MAX);
  integer(r, 'brokerEpoch', 'broker_epoch', -1, MAX_OFFSET);
  integer(r, 'maxWaitMs', 'max_wait_ms', 0, limits.maxWaitMs);
  const maxBytes = integer(r, 'maxBytes', 'max_bytes', 1, limits.maxFetchBytes);
  integer(r, 'minBytes', 'min_bytes', 0, maxBytes);
  const partitions = list(r, 'partitions', 'partitions', limits.maxPartitions);
  const seen = new Set<string>();
  for (let i = 0; i < partitions.length; i++) {
    const at = `partitions[${i}]`;
    const p = record(partitions[i], at);
    const id = topicId(p, `${at}.topic_id`);
    const index = integer(p, 'partition', `${at}.partition`, 0, INT32_MAX);
    const key = `${id}:${index}`;
    if (seen.has(key)) throw new FieldError(`${at}.partition`, `${id}/${index} appears twice`);
    seen.add(key);
    integer(p, 'currentLeaderEpoch', `${at}.current_leader_epoch`, -1, INT32_MAX);
    const fetchOffset = integer(p, 'fetchOffset', `${at}.fetch_offset`, 0, MAX_OFFSET);
    integer(p, 'lastFetchedEpoch', `${at}.last_fetched_epoch`, -1, INT32_MAX);
    // The follower's log start and flushed end lie within its log, whose end is the fetch offset.
    integer(p, 'logStartOffset', `${at}.log_start_offset`, -1, fetchOffset);
    integer(p, 'flushedOffset', `${at}.flushed_offset`, -1, fetchOffset);
    integer(p, 'maxBytes', `${at}.max_bytes`, 0, limits.maxFetchBytes);
  }
  // Every field checked: the wire object is the request (the loader gives exactly these fields).
  return wire as ReplicaFetchRequest;
}

/** Validates a request (inbound on the leader, outbound on the follower). Never throws on garbage. */
export function validateReplicaFetchRequest(wire: unknown, limits: Partial<ReplicaFetchLimits> = {}): Checked<ReplicaFetchRequest> {
  const resolved = resolveLimits(limits);
  return attempt(() => checkRequest(wire, resolved));
}

function checkResponse(wire: unknown, request: ReplicaFetchRequest, limits: ReplicaFetchLimits): ReplicaFetchResponse {
  const r = record(wire, 'response');
  const sequence = integer(r, 'sequence', 'sequence', 0, MAX_OFFSET);
  if (sequence !== request.sequence) throw new FieldError('sequence', `${sequence} answers no request in flight (expected ${request.sequence})`);
  const errorCode = integer(r, 'errorCode', 'error_code', INT16_MIN, INT16_MAX);
  const errorMessage = string(r, 'errorMessage', 'error_message', MAX_ERROR_MESSAGE_BYTES);
  const wirePartitions = list(r, 'partitions', 'partitions', limits.maxPartitions);
  if (errorCode !== 0 && wirePartitions.length > 0) throw new FieldError('partitions', `${wirePartitions.length} results next to request error ${errorCode}`);
  const requested = new Set(request.partitions.map((p) => `${p.topicId}:${p.partition}`));
  const partitions: ReplicaFetchPartitionResult[] = [];
  for (let i = 0; i < wirePartitions.length; i++) {
    const at = `partitions[${i}]`;
    const p = record(wirePartitions[i], at);
    const id = topicId(p, `${at}.topic_id`);
    const index = integer(p, 'partition', `${at}.partition`, 0, INT32_MAX);
    // Each result answers a requested partition, once (a leader may leave partitions out, as Kafka's sessions do).
    if (!requested.delete(`${id}:${index}`)) throw new FieldError(`${at}.partition`, `${id}/${index} was not requested or is answered twice`);
    const result: ReplicaFetchPartitionResult = {
      topicId: id,
      partition: index,
      errorCode: integer(p, 'errorCode', `${at}.error_code`, INT16_MIN, INT16_MAX),
      highWatermark: integer(p, 'highWatermark', `${at}.high_watermark`, -1, MAX_OFFSET),
      logStartOffset: integer(p, 'logStartOffset', `${at}.log_start_offset`, -1, MAX_OFFSET),
      logEndOffset: integer(p, 'logEndOffset', `${at}.log_end_offset`, -1, MAX_OFFSET),
      divergingEpoch: null,
      records: Buffer.alloc(0),
    };
    const diverging = p['divergingEpoch'];
    if (diverging !== undefined && diverging !== null) {
      const d = record(diverging, `${at}.diverging_epoch`);
      result.divergingEpoch = {
        epoch: integer(d, 'epoch', `${at}.diverging_epoch.epoch`, -1, INT32_MAX),
        endOffset: integer(d, 'endOffset', `${at}.diverging_epoch.end_offset`, -1, MAX_OFFSET),
      };
    }
    const records = p['records'];
    if (!(records instanceof Uint8Array)) throw new FieldError(`${at}.records`, `expected bytes, got ${describe(records)}`);
    if (result.divergingEpoch !== null && records.byteLength > 0) throw new FieldError(`${at}.records`, 'records next to a diverging epoch');
    // A view, never a copy (the loader already hands out Buffers; a bare Uint8Array is wrapped in place).
    result.records = Buffer.isBuffer(records) ? records : Buffer.from(records.buffer, records.byteOffset, records.byteLength);
    partitions.push(result);
  }
  return { sequence, errorCode, errorMessage, partitions };
}

/**
 * Validates an answer against the request it answers (on the follower for what arrives, on the leader for what the
 * handler returns). Never throws on garbage.
 */
export function validateReplicaFetchResponse(wire: unknown, request: ReplicaFetchRequest, limits: Partial<ReplicaFetchLimits> = {}): Checked<ReplicaFetchResponse> {
  const resolved = resolveLimits(limits);
  return attempt(() => checkResponse(wire, request, resolved));
}

// ---------------------------------------------------------------- encoded size

function varintBytes(n: number): number {
  // Negative int32/int64 values are sign-extended to 64 bits: always 10 bytes.
  if (n < 0) return 10;
  let bytes = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    bytes++;
  }
  return bytes;
}

/** Tag (one byte: every field number here is below 16) + length prefix + payload. */
function lengthDelimitedBytes(payloadBytes: number): number {
  return 1 + varintBytes(payloadBytes) + payloadBytes;
}

/**
 * The protobuf size of a response as the loader encodes it (every field present, divergingEpoch only when set),
 * computed without encoding so an answer over the gRPC limit is refused before grpc-js refuses it opaquely. The
 * test compares it with the real encoding.
 */
export function replicaFetchResponseBytes(response: ReplicaFetchResponse): number {
  let total = 1 + varintBytes(response.sequence) + 1 + varintBytes(response.errorCode) + lengthDelimitedBytes(Buffer.byteLength(response.errorMessage, 'utf8'));
  for (const p of response.partitions) {
    let inner = lengthDelimitedBytes(Buffer.byteLength(p.topicId, 'utf8'));
    inner += 1 + varintBytes(p.partition) + 1 + varintBytes(p.errorCode);
    inner += 1 + varintBytes(p.highWatermark) + 1 + varintBytes(p.logStartOffset) + 1 + varintBytes(p.logEndOffset);
    if (p.divergingEpoch !== null) inner += lengthDelimitedBytes(1 + varintBytes(p.divergingEpoch.epoch) + 1 + varintBytes(p.divergingEpoch.endOffset));
    inner += lengthDelimitedBytes(p.records.byteLength);
    total += lengthDelimitedBytes(inner);
  }
  return total;
}

// ---------------------------------------------------------------- service definition

/** The ReplicaService client constructor (its `.service` is the definition servers register). */
export function replicaServiceClient(): grpc.ServiceClientConstructor {
  const root = loadProto('tributary/replication/v1/replication.proto');
  const ctor = ((root['tributary'] as grpc.GrpcObject)['replication'] as grpc.GrpcObject)['v1'] as grpc.GrpcObject;
  const service = ctor['ReplicaService'];
  if (typeof service !== 'function' || !('service' in service)) throw new Error('service tributary.replication.v1.ReplicaService not found in replication.proto');
  return service as grpc.ServiceClientConstructor;
}

// ---------------------------------------------------------------- leader side

export interface ReplicaServiceOptions {
  clusterId: string;
  handler: ReplicaFetchHandler;
  limits?: Partial<ReplicaFetchLimits>;
  logger?: Logger;
}

export interface ReplicaServiceStats {
  streamsOpened: number;
  streamsOpen: number;
  requests: number;
  responses: number;
  /** Streams failed, by reason (malformed, cluster-mismatch, overloaded, too-large, internal, closing). */
  failed: Record<string, number>;
  /** Times a write waited for 'drain'. */
  drainWaits: number;
}

export interface ReplicaService {
  readonly stats: ReplicaServiceStats;
  /** Fails every open stream with UNAVAILABLE / closing (aborting their handlers) and refuses new ones. */
  close(): void;
}

type WireResponse = Omit<ReplicaFetchResponse, 'partitions'> & { partitions: (Omit<ReplicaFetchPartitionResult, 'divergingEpoch'> & { divergingEpoch?: ReplicaFetchEpochEndOffset })[] };

function responseToWire(r: ReplicaFetchResponse): WireResponse {
  return {
    sequence: r.sequence,
    errorCode: r.errorCode,
    errorMessage: r.errorMessage,
    partitions: r.partitions.map(({ divergingEpoch, ...rest }) => (divergingEpoch === null ? rest : { ...rest, divergingEpoch })),
  };
}

/** Registers ReplicaService on a gRPC server (start it with `maxMessageBytes` equal to the limits'). */
export function addReplicaService(server: grpc.Server, options: ReplicaServiceOptions): ReplicaService {
  const limits = resolveLimits(options.limits);
  const logger = (options.logger ?? silentLogger).child({ component: 'replica-service' });
  const stats: ReplicaServiceStats = { streamsOpened: 0, streamsOpen: 0, requests: 0, responses: 0, failed: {}, drainWaits: 0 };
  const open = new Set<(e: RpcError) => void>();
  let closed = false;

  const fetch: grpc.handleBidiStreamingCall<unknown, WireResponse> = (call) => {
    stats.streamsOpened++;
    const peer = call.getPeer();
    const queue: ReplicaFetchRequest[] = [];
    let lastSequence = -1;
    let busy = false;
    let done = false;
    /** The signal of the request being answered. */
    let current: AbortController | null = null;

    const finish = (why: string): void => {
      if (done) return;
      done = true;
      queue.length = 0;
      current?.abort(new Error(`replica fetch stream from ${peer} ended: ${why}`));
      open.delete(fail);
      stats.streamsOpen--;
    };
    const fail = (e: RpcError): void => {
      if (done) return;
      finish(`${e.reason}: ${e.details}`);
      stats.failed[e.reason] = (stats.failed[e.reason] ?? 0) + 1;
      logger[e.reason === 'closing' ? 'debug' : 'warn']({ peer, reason: e.reason, details: e.details }, 'replica fetch stream failed');
      call.emit('error', toServiceError(e));
    };

    if (closed || open.size >= limits.maxStreams) {
      stats.streamsOpen++;
      fail(closed ? { code: grpc.status.UNAVAILABLE, reason: 'closing', details: 'the broker is shutting down' } : { code: grpc.status.RESOURCE_EXHAUSTED, reason: 'overloaded', details: `${open.size} replica fetch streams open, the most this broker serves` });
      return;
    }
    stats.streamsOpen++;
    open.add(fail);

    /** Resolves once gRPC's buffer drained or the stream ended. */
    const drained = (signal: AbortSignal): Promise<void> =>
      new Promise((resolve) => {
        const go = (): void => {
          call.off('drain', go);
          signal.removeEventListener('abort', go);
          resolve();
        };
        call.on('drain', go);
        signal.addEventListener('abort', go);
      });

    const pump = async (): Promise<void> => {
      busy = true;
      try {
        for (let request = queue.shift(); request !== undefined && !done; request = queue.shift()) {
          const controller = new AbortController();
          current = controller;
          let answer: ReplicaFetchResponse;
          try {
            answer = await options.handler.fetch(request, controller.signal);
          } catch (e) {
            if (done) return;
            logger.error({ peer, sequence: request.sequence, err: e }, 'replica fetch handler failed');
            fail({ code: grpc.status.INTERNAL, reason: 'internal', details: `the leader failed to answer fetch ${request.sequence}: ${e instanceof Error ? e.message : String(e)}` });
            return;
          }
          if (done) return;
          const checked = attempt(() => checkResponse(answer, request, limits));
          if (!checked.ok) {
            logger.error({ peer, sequence: request.sequence, details: checked.error.details }, 'replica fetch handler answered out of range');
            fail({ code: grpc.status.INTERNAL, reason: 'internal', details: `the leader's answer to fetch ${request.sequence} is invalid: ${checked.error.details}` });
            return;
          }
          const bytes = replicaFetchResponseBytes(answer);
          if (bytes > limits.maxMessageBytes) {
            fail({ code: grpc.status.RESOURCE_EXHAUSTED, reason: 'too-large', details: `the answer to fetch ${request.sequence} is ${bytes} bytes, over the ${limits.maxMessageBytes}-byte gRPC message limit; lower max_bytes (asked ${request.maxBytes})` });
            return;
          }
          stats.responses++;
          if (!call.write(responseToWire(answer))) {
            stats.drainWaits++;
            await drained(controller.signal);
          }
          current = null;
        }
      } finally {
        busy = false;
      }
    };

    call.on('data', (wire: unknown) => {
      if (done) return;
      stats.requests++;
      const checked = attempt(() => checkRequest(wire, limits));
      if (!checked.ok) {
        fail(checked.error);
        return;
      }
      const request = checked.value;
      if (request.clusterId !== options.clusterId) {
        fail({ code: grpc.status.FAILED_PRECONDITION, reason: 'cluster-mismatch', details: `cluster_id ${describe(request.clusterId)} is not this broker's cluster ${describe(options.clusterId)}` });
        return;
      }
      if (request.sequence <= lastSequence) {
        fail({ code: grpc.status.INVALID_ARGUMENT, reason: 'malformed', details: `sequence: ${request.sequence} is not above the previous ${lastSequence} on this stream` });
        return;
      }
      lastSequence = request.sequence;
      if (queue.length >= limits.maxQueuedRequests) {
        fail({ code: grpc.status.RESOURCE_EXHAUSTED, reason: 'overloaded', details: `${queue.length + (busy ? 1 : 0)} fetches already waiting on this stream; send the next only after the previous answer` });
        return;
      }
      queue.push(request);
      if (!busy) void pump();
    });
    // The follower half-closed: it sends nothing more and wants no answer; end with OK.
    call.on('end', () => {
      if (done) return;
      finish('closed by the follower');
      call.end();
    });
    call.on('cancelled', () => finish('cancelled'));
    call.on('close', () => finish('closed'));
    // Our own fail() emits 'error' to send the status; grpc-js handles it. Nothing else to do here.
    call.on('error', () => finish('failed'));
  };

  server.addService(replicaServiceClient().service, { Fetch: fetch });
  return {
    stats,
    close(): void {
      closed = true;
      for (const fail of [...open]) fail({ code: grpc.status.UNAVAILABLE, reason: 'closing', details: 'the broker is shutting down' });
    },
  };
}

// ---------------------------------------------------------------- follower side

/** A failed fetch: `code` is the gRPC status, `reason` the `tributary-error` reason (or ours, e.g. `timeout`). */
export class ReplicaFetchError extends Error {
  override name = 'ReplicaFetchError';
  readonly code: grpc.status;
  readonly reason: string;
  constructor(code: grpc.status, reason: string, message: string) {
    super(message);
    this.code = code;
    this.reason = reason;
  }
}

export interface ReplicaFetchClientOptions {
  /** host:port of the leader broker's gRPC listener. */
  address: string;
  timer: Timer;
  clock: Clock;
  rng: Rng;
  logger?: Logger;
  limits?: Partial<ReplicaFetchLimits>;
}

export interface ReplicaFetchClientStats {
  requests: number;
  responses: number;
  failures: number;
  streamsOpened: number;
}

interface Pending {
  request: ReplicaFetchRequest;
  resolve: (r: ReplicaFetchResponse) => void;
  reject: (e: ReplicaFetchError) => void;
  timers: TimerHandle[];
}

type Stream = grpc.ClientDuplexStream<ReplicaFetchRequest, unknown>;

const HINTS: Readonly<Record<string, string>> = Object.freeze({
  'too-large': 'lower max_bytes, or raise maxMessageBytes on both brokers',
  'cluster-mismatch': 'the address belongs to another cluster: check the metadata it came from',
  malformed: 'the leader refused the request (a follower bug)',
  overloaded: 'send one fetch at a time on a stream',
  timeout: 'the stream is re-opened on the next fetch',
  unavailable: 'the leader is unreachable; the next fetch re-opens the stream after a backoff',
});

/** The reason of an error that came without a `tributary-error` trailer (a connection error, a cancelled call). */
function statusReason(code: grpc.status): string {
  return (grpc.status[code] ?? 'unknown').toLowerCase().replaceAll('_', '-');
}

export class ReplicaFetchClient {
  readonly stats: ReplicaFetchClientStats = { requests: 0, responses: 0, failures: 0, streamsOpened: 0 };
  readonly #opts: ReplicaFetchClientOptions;
  readonly #limits: ReplicaFetchLimits;
  readonly #logger: Logger;
  #address: string;
  #client: grpc.Client;
  #stream: Stream | null = null;
  #pending: Pending | null = null;
  #nextSequence = 1;
  /** Consecutive failures; the backoff doubles with each. */
  #failures = 0;
  /** No new stream before this monotonic time. */
  #reopenAtMs = 0;
  #closed = false;

  constructor(opts: ReplicaFetchClientOptions) {
    this.#opts = opts;
    this.#limits = resolveLimits(opts.limits);
    this.#logger = (opts.logger ?? silentLogger).child({ component: 'replica-fetch-client' });
    this.#address = opts.address;
    this.#client = this.#newClient(opts.address);
  }

  get address(): string {
    return this.#address;
  }

  #newClient(address: string): grpc.Client {
    const Client = replicaServiceClient();
    return new Client(address, grpc.credentials.createInsecure(), grpcChannelOptions(this.#limits));
  }

  /**
   * Sends one request (numbered by the client) and resolves with its answer, or rejects with a ReplicaFetchError.
   * One at a time: the follower's loop is sequential. `timeoutMs` defaults to maxWaitMs + requestMarginMs and counts
   * from when the request leaves (after any reconnect backoff, itself at most backoffMaxMs).
   */
  fetch(body: ReplicaFetchRequestBody, timeoutMs?: number): Promise<ReplicaFetchResponse> {
    if (this.#closed) return Promise.reject(this.#error(grpc.status.UNAVAILABLE, 'closed', 'the client is closed'));
    if (this.#pending !== null) return Promise.reject(this.#error(grpc.status.FAILED_PRECONDITION, 'busy', `fetch ${this.#pending.request.sequence} is still in flight; send one at a time`));
    const request: ReplicaFetchRequest = { ...body, sequence: this.#nextSequence };
    const checked = attempt(() => checkRequest(request, this.#limits));
    if (!checked.ok) return Promise.reject(this.#error(checked.error.code, checked.error.reason, `request not sent: ${checked.error.details}`));
    this.#nextSequence++;
    const deadlineMs = timeoutMs ?? request.maxWaitMs + this.#limits.requestMarginMs;
    assert(Number.isSafeInteger(deadlineMs) && deadlineMs > 0, `fetch timeout must be a positive integer of ms, got ${deadlineMs}`);
    this.stats.requests++;
    return new Promise((resolve, reject) => {
      const pending: Pending = { request, resolve, reject, timers: [] };
      this.#pending = pending;
      const waitMs = this.#stream === null ? Math.ceil(this.#reopenAtMs - this.#opts.clock.monotonicMs()) : 0;
      if (waitMs > 0) pending.timers.push(this.#opts.timer.after(waitMs, () => this.#send(pending, deadlineMs)));
      else this.#send(pending, deadlineMs);
    });
  }

  #send(pending: Pending, deadlineMs: number): void {
    if (this.#pending !== pending) return;
    pending.timers.push(
      this.#opts.timer.after(deadlineMs, () => {
        if (this.#pending !== pending) return;
        this.#streamFailed(this.#error(grpc.status.DEADLINE_EXCEEDED, 'timeout', `no answer to fetch ${pending.request.sequence} within ${deadlineMs} ms`));
      }),
    );
    // Back-pressure: write() may buffer, but never more than this one request (one in flight).
    (this.#stream ?? this.#open()).write(pending.request);
  }

  #open(): Stream {
    const stream = (this.#client as unknown as { Fetch(): Stream }).Fetch();
    this.#stream = stream;
    this.stats.streamsOpened++;
    stream.on('data', (wire: unknown) => {
      if (this.#stream !== stream) return;
      const pending = this.#pending;
      if (pending === null) {
        this.#streamFailed(this.#error(grpc.status.INTERNAL, 'bad-response', 'an answer arrived with no fetch in flight'));
        return;
      }
      const checked = attempt(() => checkResponse(wire, pending.request, this.#limits));
      if (!checked.ok) {
        this.#streamFailed(this.#error(grpc.status.INTERNAL, 'bad-response', `the leader's answer is malformed: ${checked.error.details}`));
        return;
      }
      this.#failures = 0;
      this.#reopenAtMs = 0;
      this.stats.responses++;
      this.#settle(pending);
      pending.resolve(checked.value);
    });
    // Every end of the call arrives as a status ('error' comes with the same status when it is not OK).
    stream.on('status', (status: grpc.StatusObject) => {
      if (this.#stream !== stream) return;
      this.#streamFailed(this.#statusError(status));
    });
    stream.on('error', () => {});
    return stream;
  }

  #statusError(status: grpc.StatusObject): ReplicaFetchError {
    if (status.code === grpc.status.OK) return this.#error(grpc.status.UNAVAILABLE, 'stream-ended', 'the leader ended the stream');
    let reason = errorReason({ metadata: status.metadata } as grpc.ServiceError);
    // grpc-js's own size checks (either side's limit) carry no trailer.
    if (reason === '' && status.code === grpc.status.RESOURCE_EXHAUSTED && /larger than max/.test(status.details)) reason = 'too-large';
    return this.#error(status.code, reason || statusReason(status.code), status.details);
  }

  #error(code: grpc.status, reason: string, details: string): ReplicaFetchError {
    const hint = HINTS[reason];
    const what = reason === statusReason(code) ? (grpc.status[code] ?? String(code)) : `${grpc.status[code] ?? code} ${reason}`;
    return new ReplicaFetchError(code, reason, `replica fetch from ${this.#address} failed (${what}): ${details}${hint ? `; ${hint}` : ''}`);
  }

  #settle(pending: Pending): void {
    for (const t of pending.timers) t.cancel();
    if (this.#pending === pending) this.#pending = null;
  }

  /** Drops the stream (cancelling it if still open), rejects the fetch in flight and schedules the backoff. */
  #streamFailed(error: ReplicaFetchError): void {
    const stream = this.#stream;
    this.#stream = null;
    stream?.cancel();
    this.#failures++;
    this.stats.failures++;
    const backoffMs = Math.min(this.#limits.backoffMaxMs, this.#limits.backoffBaseMs * 2 ** Math.min(this.#failures - 1, 30));
    // Jitter in [backoff/2, backoff): followers that lost a leader together do not come back together.
    this.#reopenAtMs = this.#opts.clock.monotonicMs() + Math.floor(backoffMs / 2 + this.#opts.rng.next() * (backoffMs / 2));
    this.#logger.debug({ address: this.#address, code: error.code, reason: error.reason, failures: this.#failures }, 'replica fetch stream failed');
    const pending = this.#pending;
    if (pending !== null) {
      this.#settle(pending);
      pending.reject(error);
    }
  }

  /** The leader moved: later fetches go to `address` (a fetch in flight to the old one is rejected). */
  setAddress(address: string): void {
    if (this.#closed || address === this.#address) return;
    const pending = this.#pending;
    const old = this.#stream;
    this.#stream = null;
    old?.cancel();
    this.#client.close();
    this.#address = address;
    this.#client = this.#newClient(address);
    // A new peer: its first stream owes nothing to the old one's failures.
    this.#failures = 0;
    this.#reopenAtMs = 0;
    if (pending !== null) {
      this.#settle(pending);
      pending.reject(this.#error(grpc.status.UNAVAILABLE, 'address-changed', `the leader moved to ${address} while fetch ${pending.request.sequence} was in flight`));
    }
  }

  /** Cancels the stream (the leader's handler sees its signal abort) and rejects the fetch in flight. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const stream = this.#stream;
    this.#stream = null;
    stream?.cancel();
    this.#client.close();
    const pending = this.#pending;
    if (pending !== null) {
      this.#settle(pending);
      pending.reject(this.#error(grpc.status.UNAVAILABLE, 'closed', 'the client was closed'));
    }
  }
}
