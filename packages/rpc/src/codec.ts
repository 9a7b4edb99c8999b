/**
 * Core messages (`@tributary/raft`) <-> tributary.raft.v1 proto objects, and the validation every inbound request
 * passes before the core sees it.
 *
 * Validation never throws on garbage and never looks at more than the request: it answers the gRPC status of
 * raft.proto's error table. What it guarantees to the core beyond `isWellFormed` (which the core applies itself):
 * the request is addressed to this node in this cluster, comes from a known node (a voter for the election RPCs,
 * which could otherwise name a non-voter leader and trip an assertion), its epoch is not absurdly far ahead (which
 * would burn the epoch space), and a Begin/EndQuorumEpoch does not name a second leader for an epoch whose leader
 * this node already knows (the core asserts against that, so a confused or hostile peer could crash it).
 */
import * as grpc from '@grpc/grpc-js';
import type {
  BeginQuorumEpochRequest,
  BeginQuorumEpochResponse,
  EndQuorumEpochRequest,
  EndQuorumEpochResponse,
  Entry,
  FetchRequest,
  FetchResponse,
  FetchSnapshotRequest,
  FetchSnapshotResponse,
  Message,
  QuorumDescription,
  SnapshotId,
  VoteRequest,
  VoteResponse,
} from '@tributary/raft';
import type { RpcError } from './proto.ts';

// ---------------------------------------------------------------- wire shapes (as the loader produces them)

export interface WireRequestHeader {
  clusterId: string;
  senderId: number;
  receiverId: number;
  epoch: number;
  correlationId: number;
}

export interface WireResponseHeader {
  senderId: number;
  receiverId: number;
  epoch: number;
  correlationId: number;
  leaderId?: number;
}

export type WireErrorCode = 'NONE' | 'FENCED_EPOCH' | 'UNKNOWN_EPOCH' | 'NOT_LEADER' | 'SNAPSHOT_NOT_FOUND' | 'POSITION_OUT_OF_RANGE';

export interface WireEntry {
  offset: number;
  epoch: number;
  kind: 'DATA' | 'LEADER_CHANGE';
  data: Uint8Array;
}

export interface WireSnapshotId {
  endOffset: number;
  epoch: number;
}

export interface WireVoteRequest {
  header: WireRequestHeader | null;
  preVote: boolean;
  lastOffsetEpoch: number;
  lastOffset: number;
}
export interface WireVoteResponse {
  header: WireResponseHeader | null;
  requestEpoch: number;
  preVote: boolean;
  voteGranted: boolean;
}
export interface WireBeginQuorumEpochRequest {
  header: WireRequestHeader | null;
  leaderId: number;
}
export interface WireEpochResponse {
  header: WireResponseHeader | null;
  error: WireErrorCode;
}
export interface WireEndQuorumEpochRequest {
  header: WireRequestHeader | null;
  leaderId: number;
  preferredSuccessors: number[];
}
export interface WireFetchRequest {
  header: WireRequestHeader | null;
  fetchOffset: number;
  lastFetchedEpoch: number;
  maxWaitMs: number;
}
export interface WireFetchResponse {
  header: WireResponseHeader | null;
  error: WireErrorCode;
  highWatermark: number;
  entries: WireEntry[];
  divergingEpoch?: { epoch: number; endOffset: number } | null;
  snapshotId?: WireSnapshotId | null;
}
export interface WireFetchSnapshotRequest {
  header: WireRequestHeader | null;
  snapshotId: WireSnapshotId | null;
  position: number;
}
export interface WireFetchSnapshotResponse {
  header: WireResponseHeader | null;
  error: WireErrorCode;
  snapshotId: WireSnapshotId | null;
  size: number;
  position: number;
  chunkBytes: number;
  data: Uint8Array;
}
export interface WireDescribeQuorumRequest {
  header: WireRequestHeader | null;
}
export interface WireReplicaState {
  nodeId: number;
  logEndOffset: number;
  ticksSinceLastFetch: number;
}
export interface WireDescribeQuorumResponse {
  leaderId: number;
  epoch: number;
  highWatermark: number;
  voters: WireReplicaState[];
  observers: WireReplicaState[];
}

export type RequestType = 'VoteRequest' | 'BeginQuorumEpochRequest' | 'EndQuorumEpochRequest' | 'FetchRequest' | 'FetchSnapshotRequest';
export type RequestMessage = VoteRequest | BeginQuorumEpochRequest | EndQuorumEpochRequest | FetchRequest | FetchSnapshotRequest;
export type ResponseMessage = VoteResponse | BeginQuorumEpochResponse | EndQuorumEpochResponse | FetchResponse | FetchSnapshotResponse;

export const RESPONSE_TYPE_OF: Readonly<Record<RequestType, ResponseMessage['type']>> = Object.freeze({
  VoteRequest: 'VoteResponse',
  BeginQuorumEpochRequest: 'BeginQuorumEpochResponse',
  EndQuorumEpochRequest: 'EndQuorumEpochResponse',
  FetchRequest: 'FetchResponse',
  FetchSnapshotRequest: 'FetchSnapshotResponse',
});

export function isRequest(m: Message): m is RequestMessage {
  return m.type.endsWith('Request');
}

// ---------------------------------------------------------------- errors

const ERROR_TO_WIRE: Record<string, WireErrorCode> = {
  none: 'NONE',
  'fenced-epoch': 'FENCED_EPOCH',
  'unknown-epoch': 'UNKNOWN_EPOCH',
  'not-leader': 'NOT_LEADER',
  'snapshot-not-found': 'SNAPSHOT_NOT_FOUND',
  'position-out-of-range': 'POSITION_OUT_OF_RANGE',
};
const ERROR_FROM_WIRE: Record<WireErrorCode, string> = {
  NONE: 'none',
  FENCED_EPOCH: 'fenced-epoch',
  UNKNOWN_EPOCH: 'unknown-epoch',
  NOT_LEADER: 'not-leader',
  SNAPSHOT_NOT_FOUND: 'snapshot-not-found',
  POSITION_OUT_OF_RANGE: 'position-out-of-range',
};

// ---------------------------------------------------------------- outbound: core -> wire

function requestHeader(m: RequestMessage, clusterId: string): WireRequestHeader {
  return { clusterId, senderId: m.from, receiverId: m.to, epoch: m.epoch, correlationId: m.correlationId };
}

function responseHeader(m: ResponseMessage, leaderId: number | null): WireResponseHeader {
  const h: WireResponseHeader = { senderId: m.from, receiverId: m.to, epoch: m.epoch, correlationId: m.correlationId };
  if (leaderId !== null) h.leaderId = leaderId;
  return h;
}

function entryToWire(e: Entry): WireEntry {
  return { offset: e.offset, epoch: e.epoch, kind: e.kind === 'leader-change' ? 'LEADER_CHANGE' : 'DATA', data: e.data };
}

export function requestToWire(m: RequestMessage, clusterId: string, fetchMaxWaitMs: number): object {
  const header = requestHeader(m, clusterId);
  switch (m.type) {
    case 'VoteRequest':
      return { header, preVote: m.preVote, lastOffsetEpoch: m.lastOffsetEpoch, lastOffset: m.lastOffset } satisfies WireVoteRequest;
    case 'BeginQuorumEpochRequest':
      return { header, leaderId: m.leaderId } satisfies WireBeginQuorumEpochRequest;
    case 'EndQuorumEpochRequest':
      return { header, leaderId: m.leaderId, preferredSuccessors: [...m.preferredSuccessors] } satisfies WireEndQuorumEpochRequest;
    case 'FetchRequest':
      return { header, fetchOffset: m.fetchOffset, lastFetchedEpoch: m.lastFetchedEpoch, maxWaitMs: fetchMaxWaitMs } satisfies WireFetchRequest;
    case 'FetchSnapshotRequest':
      return { header, snapshotId: { ...m.snapshotId }, position: m.position } satisfies WireFetchSnapshotRequest;
  }
}

/** Unary responses. FetchSnapshotResponse is streamed: see `snapshotResponseToWire`. */
export function responseToWire(m: Exclude<ResponseMessage, FetchSnapshotResponse>): object {
  switch (m.type) {
    case 'VoteResponse':
      return { header: responseHeader(m, m.leaderId), requestEpoch: m.requestEpoch, preVote: m.preVote, voteGranted: m.voteGranted } satisfies WireVoteResponse;
    case 'BeginQuorumEpochResponse':
    case 'EndQuorumEpochResponse':
      return { header: responseHeader(m, m.leaderId), error: ERROR_TO_WIRE[m.error]! } satisfies WireEpochResponse;
    case 'FetchResponse': {
      const wire: WireFetchResponse = { header: responseHeader(m, m.leaderId), error: ERROR_TO_WIRE[m.error]!, highWatermark: m.highWatermark, entries: m.entries.map(entryToWire) };
      if (m.divergingEpoch) wire.divergingEpoch = { epoch: m.divergingEpoch.epoch, endOffset: m.divergingEpoch.endOffset };
      if (m.snapshotId) wire.snapshotId = { ...m.snapshotId };
      return wire;
    }
  }
}

/** A FetchSnapshotResponse as stream messages: the first carries every header field, each carries <= pieceBytes of the chunk. */
export function snapshotResponseToWire(m: FetchSnapshotResponse, pieceBytes: number): WireFetchSnapshotResponse[] {
  const out: WireFetchSnapshotResponse[] = [];
  const chunk = m.chunk;
  const first: WireFetchSnapshotResponse = {
    header: responseHeader(m, m.leaderId),
    error: ERROR_TO_WIRE[m.error]!,
    snapshotId: { ...m.snapshotId },
    size: m.size,
    position: m.position,
    chunkBytes: chunk.byteLength,
    data: chunk.subarray(0, Math.min(pieceBytes, chunk.byteLength)),
  };
  out.push(first);
  for (let pos = pieceBytes; pos < chunk.byteLength; pos += pieceBytes) {
    out.push({ header: null, error: 'NONE', snapshotId: null, size: 0, position: 0, chunkBytes: 0, data: chunk.subarray(pos, Math.min(pos + pieceBytes, chunk.byteLength)) });
  }
  return out;
}

// ---------------------------------------------------------------- inbound responses (our own calls): wire -> core

const isCount = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;

function responseBase(h: WireResponseHeader | null): { from: number; to: number; epoch: number; correlationId: number; leaderId: number | null } | null {
  if (!h || !isCount(h.senderId) || !isCount(h.receiverId) || !isCount(h.epoch) || !Number.isSafeInteger(h.correlationId)) return null;
  const leaderId = h.leaderId === undefined || h.leaderId === null ? null : h.leaderId;
  if (leaderId !== null && !isCount(leaderId)) return null;
  return { from: h.senderId, to: h.receiverId, epoch: h.epoch, correlationId: h.correlationId, leaderId };
}

function errorFromWire<T extends string>(e: WireErrorCode, allowed: readonly T[]): T | null {
  const name = ERROR_FROM_WIRE[e] as T | undefined;
  return name !== undefined && allowed.includes(name) ? name : null;
}

/**
 * A peer's answer to our request as a core message; null when it is malformed or does not answer `request`
 * (wrong peer, wrong correlation id). The core re-checks the shape (isWellFormed) and drops stale answers.
 */
export function responseFromWire(request: RequestMessage, wire: unknown): ResponseMessage | null {
  const w = wire as { header: WireResponseHeader | null };
  const base = responseBase(w?.header ?? null);
  if (!base || base.from !== request.to || base.to !== request.from || base.correlationId !== request.correlationId) return null;
  switch (request.type) {
    case 'VoteRequest': {
      const v = wire as WireVoteResponse;
      if (!isCount(v.requestEpoch)) return null;
      return { type: 'VoteResponse', ...base, requestEpoch: v.requestEpoch, preVote: v.preVote === true, voteGranted: v.voteGranted === true };
    }
    case 'BeginQuorumEpochRequest':
    case 'EndQuorumEpochRequest': {
      const error = errorFromWire((wire as WireEpochResponse).error, ['none', 'fenced-epoch'] as const);
      if (error === null) return null;
      return { type: request.type === 'BeginQuorumEpochRequest' ? 'BeginQuorumEpochResponse' : 'EndQuorumEpochResponse', ...base, error };
    }
    case 'FetchRequest': {
      const f = wire as WireFetchResponse;
      const error = errorFromWire(f.error, ['none', 'fenced-epoch', 'unknown-epoch', 'not-leader'] as const);
      if (error === null || !isCount(f.highWatermark) || !Array.isArray(f.entries)) return null;
      const entries: Entry[] = [];
      for (const e of f.entries) {
        if (!isCount(e.offset) || !isCount(e.epoch) || !(e.data instanceof Uint8Array)) return null;
        entries.push({ offset: e.offset, epoch: e.epoch, kind: e.kind === 'LEADER_CHANGE' ? 'leader-change' : 'data', data: e.data });
      }
      let divergingEpoch: FetchResponse['divergingEpoch'] = null;
      if (f.divergingEpoch) {
        if (!isCount(f.divergingEpoch.epoch) || !isCount(f.divergingEpoch.endOffset)) return null;
        divergingEpoch = { epoch: f.divergingEpoch.epoch, endOffset: f.divergingEpoch.endOffset };
      }
      let snapshotId: SnapshotId | null = null;
      if (f.snapshotId) {
        if (!isCount(f.snapshotId.endOffset) || !isCount(f.snapshotId.epoch)) return null;
        snapshotId = { endOffset: f.snapshotId.endOffset, epoch: f.snapshotId.epoch };
      }
      return { type: 'FetchResponse', ...base, error, highWatermark: f.highWatermark, entries, divergingEpoch, snapshotId };
    }
    case 'FetchSnapshotRequest':
      // Streamed: assembled by the transport from snapshotHeaderFromWire + the pieces.
      return null;
  }
}

/** The first message of a FetchSnapshot stream, as a response with an empty chunk; null when malformed. */
export function snapshotHeaderFromWire(request: FetchSnapshotRequest, w: WireFetchSnapshotResponse, maxChunkBytes: number): (FetchSnapshotResponse & { chunkBytes: number }) | null {
  const base = responseBase(w.header);
  if (!base || base.from !== request.to || base.to !== request.from || base.correlationId !== request.correlationId) return null;
  const error = errorFromWire(w.error, ['none', 'fenced-epoch', 'unknown-epoch', 'not-leader', 'snapshot-not-found', 'position-out-of-range'] as const);
  if (error === null || !w.snapshotId || !isCount(w.snapshotId.endOffset) || !isCount(w.snapshotId.epoch)) return null;
  if (!isCount(w.size) || !isCount(w.position) || !isCount(w.chunkBytes) || w.chunkBytes > maxChunkBytes || w.position + w.chunkBytes > w.size) return null;
  return {
    type: 'FetchSnapshotResponse',
    ...base,
    error,
    snapshotId: { endOffset: w.snapshotId.endOffset, epoch: w.snapshotId.epoch },
    size: w.size,
    position: w.position,
    chunk: new Uint8Array(0),
    chunkBytes: w.chunkBytes,
  };
}

// ---------------------------------------------------------------- inbound requests: validation

export interface ValidationContext {
  nodeId: number;
  clusterId: string;
  voters: ReadonlySet<number>;
  /** Nodes allowed to Fetch/FetchSnapshot besides the voters (observers). */
  observers: ReadonlySet<number>;
  /** The local epoch and the leader known in it, read at validation time. */
  local: () => { epoch: number; leaderId: number | null };
  /** A request may be at most this many epochs ahead of ours. */
  maxEpochAhead: number;
  /** Bound on a Fetch's max_wait_ms. */
  maxFetchWaitMs: number;
}

export type Validated<T> = { ok: true; message: T; maxWaitMs: number } | { ok: false; error: RpcError };

const malformed = (details: string): { ok: false; error: RpcError } => ({ ok: false, error: { code: grpc.status.INVALID_ARGUMENT, reason: 'malformed', details } });

function validateHeader(ctx: ValidationContext, h: WireRequestHeader | null, senders: 'voters' | 'any-known' | 'anyone'): RpcError | null {
  if (!h || typeof h !== 'object') return { code: grpc.status.INVALID_ARGUMENT, reason: 'malformed', details: 'missing header' };
  if (h.clusterId !== ctx.clusterId) return { code: grpc.status.FAILED_PRECONDITION, reason: 'cluster-mismatch', details: `cluster id ${JSON.stringify(h.clusterId)}, this node serves ${JSON.stringify(ctx.clusterId)}` };
  if (h.receiverId !== ctx.nodeId) return { code: grpc.status.FAILED_PRECONDITION, reason: 'wrong-receiver', details: `addressed to node ${h.receiverId}, this is node ${ctx.nodeId}` };
  if (!Number.isSafeInteger(h.correlationId)) return { code: grpc.status.INVALID_ARGUMENT, reason: 'malformed', details: 'correlation id is not a safe integer' };
  if (!isCount(h.epoch)) return { code: grpc.status.INVALID_ARGUMENT, reason: 'malformed', details: `epoch ${h.epoch}` };
  if (senders !== 'anyone') {
    if (!isCount(h.senderId) || h.senderId === ctx.nodeId) return { code: grpc.status.INVALID_ARGUMENT, reason: 'malformed', details: `sender id ${h.senderId}` };
    const known = ctx.voters.has(h.senderId) || (senders === 'any-known' && ctx.observers.has(h.senderId));
    if (!known) return { code: grpc.status.PERMISSION_DENIED, reason: 'unknown-sender', details: `node ${h.senderId} is not ${senders === 'voters' ? 'a voter' : 'a voter or an observer'}` };
  }
  const local = ctx.local();
  if (h.epoch > local.epoch + ctx.maxEpochAhead) {
    return { code: grpc.status.OUT_OF_RANGE, reason: 'epoch-too-far', details: `epoch ${h.epoch} is more than ${ctx.maxEpochAhead} ahead of this node's epoch ${local.epoch}` };
  }
  return null;
}

function check<T extends RequestMessage>(ctx: ValidationContext, h: WireRequestHeader | null, senders: 'voters' | 'any-known', build: (h: WireRequestHeader) => T | string, maxWaitMs = 0): Validated<T> {
  const error = validateHeader(ctx, h, senders);
  if (error) return { ok: false, error };
  const built = build(h!);
  if (typeof built === 'string') return malformed(built);
  return { ok: true, message: built, maxWaitMs };
}

/** A leader announcing or ending an epoch whose leader we know to be someone else would trip the core's assertions. */
function conflictingLeader(ctx: ValidationContext, epoch: number, leaderId: number): RpcError | null {
  const local = ctx.local();
  if (epoch === local.epoch && local.leaderId !== null && local.leaderId !== leaderId) {
    return { code: grpc.status.FAILED_PRECONDITION, reason: 'conflicting-leader', details: `node ${local.leaderId} leads epoch ${epoch}, not ${leaderId}` };
  }
  return null;
}

export function validateVote(ctx: ValidationContext, w: WireVoteRequest): Validated<VoteRequest> {
  return check(ctx, w?.header ?? null, 'voters', (h) => {
    if (!isCount(w.lastOffset) || !isCount(w.lastOffsetEpoch) || w.lastOffsetEpoch > h.epoch) return `last offset ${w.lastOffset}@${w.lastOffsetEpoch} in epoch ${h.epoch}`;
    return { type: 'VoteRequest', from: h.senderId, to: h.receiverId, epoch: h.epoch, preVote: w.preVote === true, lastOffsetEpoch: w.lastOffsetEpoch, lastOffset: w.lastOffset, correlationId: h.correlationId };
  });
}

export function validateBeginQuorumEpoch(ctx: ValidationContext, w: WireBeginQuorumEpochRequest): Validated<BeginQuorumEpochRequest> {
  const result = check(ctx, w?.header ?? null, 'voters', (h): BeginQuorumEpochRequest | string => {
    if (w.leaderId !== h.senderId) return `leader id ${w.leaderId} is not the sender ${h.senderId}`;
    return { type: 'BeginQuorumEpochRequest', from: h.senderId, to: h.receiverId, epoch: h.epoch, leaderId: w.leaderId, correlationId: h.correlationId };
  });
  if (!result.ok) return result;
  const conflict = conflictingLeader(ctx, result.message.epoch, result.message.leaderId);
  return conflict ? { ok: false, error: conflict } : result;
}

export function validateEndQuorumEpoch(ctx: ValidationContext, w: WireEndQuorumEpochRequest): Validated<EndQuorumEpochRequest> {
  const result = check(ctx, w?.header ?? null, 'voters', (h): EndQuorumEpochRequest | string => {
    if (w.leaderId !== h.senderId) return `leader id ${w.leaderId} is not the sender ${h.senderId}`;
    const successors = w.preferredSuccessors;
    if (!Array.isArray(successors) || successors.length > ctx.voters.size || new Set(successors).size !== successors.length || successors.some((id) => !ctx.voters.has(id))) {
      return `preferred successors [${String(successors)}] must be distinct voters`;
    }
    return { type: 'EndQuorumEpochRequest', from: h.senderId, to: h.receiverId, epoch: h.epoch, leaderId: w.leaderId, preferredSuccessors: [...successors], correlationId: h.correlationId };
  });
  if (!result.ok) return result;
  const conflict = conflictingLeader(ctx, result.message.epoch, result.message.leaderId);
  return conflict ? { ok: false, error: conflict } : result;
}

export function validateFetch(ctx: ValidationContext, w: WireFetchRequest): Validated<FetchRequest> {
  if (w && (!Number.isSafeInteger(w.maxWaitMs) || w.maxWaitMs < 0 || w.maxWaitMs > ctx.maxFetchWaitMs)) return malformed(`max wait ${w.maxWaitMs} ms outside [0, ${ctx.maxFetchWaitMs}]`);
  return check(
    ctx,
    w?.header ?? null,
    'any-known',
    (h) => {
      if (!isCount(w.fetchOffset) || !isCount(w.lastFetchedEpoch) || w.lastFetchedEpoch > h.epoch) return `fetch offset ${w.fetchOffset}, last fetched epoch ${w.lastFetchedEpoch} in epoch ${h.epoch}`;
      return { type: 'FetchRequest', from: h.senderId, to: h.receiverId, epoch: h.epoch, fetchOffset: w.fetchOffset, lastFetchedEpoch: w.lastFetchedEpoch, correlationId: h.correlationId };
    },
    w?.maxWaitMs ?? 0,
  );
}

export function validateFetchSnapshot(ctx: ValidationContext, w: WireFetchSnapshotRequest): Validated<FetchSnapshotRequest> {
  return check(ctx, w?.header ?? null, 'any-known', (h) => {
    const id = w.snapshotId;
    if (!id || !isCount(id.endOffset) || id.endOffset === 0 || !isCount(id.epoch) || id.epoch === 0) return `snapshot id ${JSON.stringify(id)}`;
    if (!isCount(w.position)) return `position ${w.position}`;
    return { type: 'FetchSnapshotRequest', from: h.senderId, to: h.receiverId, epoch: h.epoch, snapshotId: { endOffset: id.endOffset, epoch: id.epoch }, position: w.position, correlationId: h.correlationId };
  });
}

/** DescribeQuorum is for tools: any sender, but the right cluster and receiver. */
export function validateDescribeQuorum(ctx: ValidationContext, w: WireDescribeQuorumRequest): RpcError | null {
  return validateHeader(ctx, w?.header ?? null, 'anyone');
}

export function describeQuorumToWire(d: QuorumDescription, currentTick: number): WireDescribeQuorumResponse {
  const replica = (r: QuorumDescription['voters'][number]): WireReplicaState => ({
    nodeId: r.nodeId,
    logEndOffset: r.logEndOffset ?? -1,
    ticksSinceLastFetch: r.lastFetchTick === null ? -1 : currentTick - r.lastFetchTick,
  });
  return { leaderId: d.leaderId, epoch: d.epoch, highWatermark: d.highWatermark, voters: d.voters.map(replica), observers: d.observers.map(replica) };
}
