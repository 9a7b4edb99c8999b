/**
 * GrpcRaftTransport: the RaftTransport port over gRPC (tributary.raft.v1.RaftService).
 *
 * The core speaks in one-way messages; gRPC in calls. The mapping:
 * - `send(request)` makes a call to `request.to` (unary, or server-streamed for FetchSnapshot) with a deadline;
 *   its answer, converted back to a core message, goes to `deliver` like any other input. A failed call delivers
 *   nothing: the core re-sends after its request timeout.
 * - An inbound call is validated (codec.ts), registered under (sender, correlation id) and its request delivered
 *   to the core. The core's answer leaves through `send(response)` only after the Ready that produced it is durable;
 *   the transport finds the call it answers and completes it. An answer nobody waits for any more is dropped.
 * - Long-poll Fetch (Kafka's MaxWaitMs; the core answers at once): an answer with nothing new for a caught-up
 *   follower (no entries, no divergence, no snapshot, no high watermark it has not been sent) is parked for up to
 *   `fetchMaxWaitMs`. `wake()` (the driver calls it when the log end, the high watermark or the role moved)
 *   re-delivers the parked requests, so the core answers them again with whatever is new. This saves the
 *   fetch-interval wait on every commit without changing the core.
 *
 * Bounds: in-flight calls per peer (beyond: dropped, Raft tolerates loss), exponential backoff per peer after a
 * failed call (sends to it are dropped until the backoff ends), inbound calls per sender (RESOURCE_EXHAUSTED),
 * a deadline on every call both ways, snapshot chunks streamed in pieces of `snapshotPieceBytes`, and a
 * maximum gRPC message size.
 *
 * Concurrency: single-threaded (the event loop); `deliver` is called from gRPC callbacks and from `wake()`.
 */
import * as grpc from '@grpc/grpc-js';
import { assert, silentLogger, type Clock, type Logger, type Rng, type Timer, type TimerHandle } from '@tributary/common';
import type { FetchResponse, FetchSnapshotRequest, FetchSnapshotResponse, Message, QuorumDescription } from '@tributary/raft';
import {
  RESPONSE_TYPE_OF,
  describeQuorumToWire,
  isRequest,
  requestToWire,
  responseFromWire,
  responseToWire,
  snapshotHeaderFromWire,
  snapshotResponseToWire,
  validateBeginQuorumEpoch,
  validateDescribeQuorum,
  validateEndQuorumEpoch,
  validateFetch,
  validateFetchSnapshot,
  validateVote,
  type RequestMessage,
  type RequestType,
  type ResponseMessage,
  type Validated,
  type ValidationContext,
  type WireFetchSnapshotResponse,
  type WireFetchSnapshotRequest,
  type WireDescribeQuorumRequest,
} from './codec.ts';
import { raftServiceClient, toServiceError, type RpcError } from './proto.ts';

/** The driver's view of a transport: fire-and-forget messages. */
export interface RaftTransport {
  /** Requests become calls; responses answer the inbound call they belong to. Never throws; undeliverable messages are dropped. */
  send(message: Message): void;
  /** The local log end, high watermark or role moved: answer parked long-poll fetches again. */
  wake(): void;
  close(): Promise<void>;
}

export interface TransportLimits {
  /** Deadline of a unary call (a Fetch adds its max wait). */
  requestDeadlineMs: number;
  /** Long-poll bound sent with every Fetch (0: no long poll). Keep it below the core's request timeout. */
  fetchMaxWaitMs: number;
  /** The most a peer may ask us to hold a Fetch. */
  maxFetchWaitMs: number;
  /** Deadline of a FetchSnapshot stream. */
  snapshotDeadlineMs: number;
  /** Calls to one peer in flight at once; beyond it sends are dropped. */
  maxInFlightPerPeer: number;
  /** Inbound calls from one sender waiting for the core's answer; beyond it RESOURCE_EXHAUSTED. */
  maxInboundPerPeer: number;
  /** How long an inbound call waits for the core's answer (after any long-poll wait) before UNAVAILABLE. */
  inboundAnswerTimeoutMs: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** Requests more than this many epochs ahead of ours are refused (OUT_OF_RANGE). */
  maxEpochAhead: number;
  /** A snapshot chunk travels in stream messages of at most this many bytes. */
  snapshotPieceBytes: number;
  /** Largest snapshot chunk accepted from a peer (the core's maxSnapshotChunkBytes). */
  maxSnapshotChunkBytes: number;
  /** gRPC send/receive message size limit. */
  maxMessageBytes: number;
}

export const defaultTransportLimits: Readonly<TransportLimits> = Object.freeze({
  requestDeadlineMs: 1000,
  fetchMaxWaitMs: 200,
  maxFetchWaitMs: 5000,
  snapshotDeadlineMs: 10_000,
  maxInFlightPerPeer: 16,
  maxInboundPerPeer: 64,
  inboundAnswerTimeoutMs: 1000,
  backoffBaseMs: 20,
  backoffMaxMs: 500,
  maxEpochAhead: 10_000,
  snapshotPieceBytes: 64 * 1024,
  maxSnapshotChunkBytes: 1024 * 1024,
  maxMessageBytes: 8 * 1024 * 1024,
});

export interface GrpcRaftTransportOptions {
  nodeId: number;
  clusterId: string;
  voters: readonly number[];
  /** Non-voters allowed to Fetch/FetchSnapshot from this node. */
  observers?: readonly number[];
  /** host:port of every node this one sends requests to. */
  peers: ReadonlyMap<number, string>;
  /** Every input for the core: validated requests from peers and answers to our requests. */
  deliver: (message: Message) => void;
  /** The node's epoch and the leader it knows in it (for validation). */
  local: () => { epoch: number; leaderId: number | null };
  /** DescribeQuorum: the leader's description and current tick, or null when not the leader. */
  describeQuorum: () => { description: QuorumDescription; currentTick: number } | null;
  timer: Timer;
  clock: Clock;
  rng: Rng;
  logger?: Logger;
  limits?: Partial<TransportLimits>;
}

export interface TransportStats {
  callsSent: number;
  callsFailed: number;
  /** Requests not sent: peer unknown, backing off, or too many in flight. */
  droppedRequests: number;
  /** Responses whose inbound call was gone (timed out, cancelled) or never existed. */
  droppedResponses: number;
  /** Peer answers that were malformed or did not match the request. */
  badResponses: number;
  inboundCalls: number;
  /** Inbound calls refused, by reason (malformed, unknown-sender, cluster-mismatch, epoch-too-far, ...). */
  rejected: Record<string, number>;
  parked: number;
  woken: number;
}

interface Peer {
  id: number;
  address: string;
  client: grpc.Client;
  inFlight: number;
  failures: number;
  backoffUntilMs: number;
}

interface InboundCall {
  key: string;
  from: number;
  request: RequestMessage;
  respond: (m: ResponseMessage) => void;
  fail: (e: RpcError) => void;
  maxWaitMs: number;
  /** The long-poll wait is over: answer whatever comes. */
  waitExpired: boolean;
  /** An answer with nothing new, held until something moves or the wait expires. */
  parked: FetchResponse | null;
  timers: TimerHandle[];
}

const METHOD: Readonly<Record<RequestType, string>> = Object.freeze({
  VoteRequest: 'Vote',
  BeginQuorumEpochRequest: 'BeginQuorumEpoch',
  EndQuorumEpochRequest: 'EndQuorumEpoch',
  FetchRequest: 'Fetch',
  FetchSnapshotRequest: 'FetchSnapshot',
});

/**
 * The HTTP/2 receive window a client announces (per stream and per connection). With HTTP/2's default, 64 KiB, a
 * leader sends a follower 64 KiB of a replica fetch answer and then waits for a WINDOW_UPDATE, i.e. for a turn of both
 * event loops: a 1 MiB answer took some 16 of them. Above the default answer (replica.fetch.response.max.bytes, 10 MiB)
 * an answer goes out at once. Measured with librdkafka, 200,000 x 1 KiB, acks=all, RF 3: 24-27k records/s before,
 * 31-40k after. The window bounds what a peer can send ahead, never what we accept (maxMessageBytes does).
 */
export const FLOW_CONTROL_WINDOW_BYTES = 16 * 1024 * 1024;

export function grpcChannelOptions(limits: Pick<TransportLimits, 'maxMessageBytes'>): grpc.ChannelOptions {
  return {
    'grpc.max_receive_message_length': limits.maxMessageBytes,
    'grpc.max_send_message_length': limits.maxMessageBytes,
    // A restarted peer should be reachable again within a second, not after grpc's default 120 s backoff cap.
    'grpc.initial_reconnect_backoff_ms': 100,
    'grpc.max_reconnect_backoff_ms': 1000,
    'grpc.enable_retries': 0,
    'grpc-node.flow_control_window': FLOW_CONTROL_WINDOW_BYTES,
  };
}

export class GrpcRaftTransport implements RaftTransport {
  readonly stats: TransportStats = { callsSent: 0, callsFailed: 0, droppedRequests: 0, droppedResponses: 0, badResponses: 0, inboundCalls: 0, rejected: {}, parked: 0, woken: 0 };
  readonly #opts: GrpcRaftTransportOptions;
  readonly #limits: TransportLimits;
  readonly #logger: Logger;
  readonly #peers = new Map<number, Peer>();
  readonly #inbound = new Map<string, InboundCall>();
  readonly #inboundPerPeer = new Map<number, number>();
  /** The high watermark last sent to each fetcher: an answer that would tell it nothing new may be parked. */
  readonly #hwSent = new Map<number, number>();
  readonly #ctx: ValidationContext;
  #closed = false;

  constructor(opts: GrpcRaftTransportOptions) {
    this.#opts = opts;
    this.#limits = { ...defaultTransportLimits, ...opts.limits };
    for (const [key, value] of Object.entries(this.#limits)) assert(Number.isSafeInteger(value) && value >= 0, `transport limit ${key} must be a non-negative integer`);
    assert(this.#limits.maxInFlightPerPeer > 0 && this.#limits.snapshotPieceBytes > 0, 'in-flight bound and snapshot piece size must be positive');
    this.#logger = (opts.logger ?? silentLogger).child({ component: 'raft-transport' });
    const Client = raftServiceClient();
    for (const [id, address] of opts.peers) {
      if (id === opts.nodeId) continue;
      const client = new Client(address, grpc.credentials.createInsecure(), grpcChannelOptions(this.#limits));
      this.#peers.set(id, { id, address, client, inFlight: 0, failures: 0, backoffUntilMs: 0 });
    }
    this.#ctx = {
      nodeId: opts.nodeId,
      clusterId: opts.clusterId,
      voters: new Set(opts.voters),
      observers: new Set(opts.observers ?? []),
      local: opts.local,
      maxEpochAhead: this.#limits.maxEpochAhead,
      maxFetchWaitMs: this.#limits.maxFetchWaitMs,
    };
  }

  // ---------------------------------------------------------------- outbound

  send(message: Message): void {
    if (this.#closed) return;
    if (isRequest(message)) this.#call(message);
    else this.#answer(message as ResponseMessage);
  }

  #call(m: RequestMessage): void {
    const peer = this.#peers.get(m.to);
    const now = this.#opts.clock.monotonicMs();
    if (!peer || now < peer.backoffUntilMs || peer.inFlight >= this.#limits.maxInFlightPerPeer) {
      this.stats.droppedRequests++;
      return;
    }
    peer.inFlight++;
    this.stats.callsSent++;
    const method = METHOD[m.type];
    const wire = requestToWire(m, this.#opts.clusterId, this.#limits.fetchMaxWaitMs);
    const client = peer.client as unknown as Record<string, (...args: unknown[]) => unknown>;
    if (m.type === 'FetchSnapshotRequest') {
      const deadline = new Date(Date.now() + this.#limits.snapshotDeadlineMs);
      const stream = client[method]!.call(peer.client, wire, { deadline }) as grpc.ClientReadableStream<WireFetchSnapshotResponse>;
      this.#readSnapshotStream(peer, m, stream);
      return;
    }
    const deadlineMs = this.#limits.requestDeadlineMs + (m.type === 'FetchRequest' ? this.#limits.fetchMaxWaitMs : 0);
    client[method]!.call(peer.client, wire, { deadline: new Date(Date.now() + deadlineMs) }, (err: grpc.ServiceError | null, response: unknown) => {
      peer.inFlight--;
      if (err) {
        this.#failed(peer, m, err);
        return;
      }
      this.#succeeded(peer);
      const answer = responseFromWire(m, response);
      if (answer === null) {
        this.stats.badResponses++;
        return;
      }
      if (!this.#closed) this.#opts.deliver(answer);
    });
  }

  #readSnapshotStream(peer: Peer, m: FetchSnapshotRequest, stream: grpc.ClientReadableStream<WireFetchSnapshotResponse>): void {
    let header: (FetchSnapshotResponse & { chunkBytes: number }) | null = null;
    const pieces: Uint8Array[] = [];
    let received = 0;
    let bad = false;
    let finished = false;
    const finish = (err: grpc.ServiceError | null): void => {
      if (finished) return;
      finished = true;
      peer.inFlight--;
      if (err) {
        this.#failed(peer, m, err);
        return;
      }
      this.#succeeded(peer);
      if (bad || header === null || received !== header.chunkBytes) {
        this.stats.badResponses++;
        return;
      }
      const chunk = new Uint8Array(received);
      let pos = 0;
      for (const piece of pieces) {
        chunk.set(piece, pos);
        pos += piece.byteLength;
      }
      const { chunkBytes: _chunkBytes, ...response } = header;
      if (!this.#closed) this.#opts.deliver({ ...response, chunk });
    };
    stream.on('data', (w: WireFetchSnapshotResponse) => {
      if (bad) return;
      if (header === null) {
        header = snapshotHeaderFromWire(m, w, this.#limits.maxSnapshotChunkBytes);
        if (header === null) {
          bad = true;
          stream.cancel();
          return;
        }
      }
      const data = w.data ?? new Uint8Array(0);
      if (received + data.byteLength > header.chunkBytes || data.byteLength > this.#limits.snapshotPieceBytes) {
        bad = true;
        stream.cancel();
        return;
      }
      pieces.push(data);
      received += data.byteLength;
    });
    stream.on('error', (err: grpc.ServiceError) => finish(bad ? null : err));
    stream.on('end', () => finish(null));
  }

  #failed(peer: Peer, m: RequestMessage, err: grpc.ServiceError): void {
    this.stats.callsFailed++;
    peer.failures++;
    const backoff = Math.min(this.#limits.backoffMaxMs, this.#limits.backoffBaseMs * 2 ** Math.min(peer.failures - 1, 20));
    // Jitter in [backoff/2, backoff): peers that failed together do not retry together.
    peer.backoffUntilMs = this.#opts.clock.monotonicMs() + Math.floor(backoff / 2 + this.#opts.rng.next() * (backoff / 2));
    this.#logger.debug({ peer: peer.id, type: m.type, code: err.code, details: err.details, failures: peer.failures }, 'raft call failed');
  }

  #succeeded(peer: Peer): void {
    peer.failures = 0;
    peer.backoffUntilMs = 0;
  }

  // ---------------------------------------------------------------- inbound

  #answer(m: ResponseMessage): void {
    const key = `${m.to}:${m.correlationId}`;
    const call = this.#inbound.get(key);
    if (!call || RESPONSE_TYPE_OF[call.request.type] !== m.type) {
      this.stats.droppedResponses++;
      return;
    }
    if (m.type === 'FetchResponse' && this.#mayPark(call, m)) {
      call.parked = m;
      this.stats.parked++;
      return;
    }
    this.#finish(call);
    if (m.type === 'FetchResponse') this.#hwSent.set(m.to, m.highWatermark);
    call.respond(m);
  }

  #mayPark(call: InboundCall, m: FetchResponse): boolean {
    if (call.maxWaitMs === 0 || call.waitExpired) return false;
    if (m.error !== 'none' || m.entries.length > 0 || m.divergingEpoch !== null || m.snapshotId !== null) return false;
    return m.highWatermark <= (this.#hwSent.get(m.to) ?? -1);
  }

  wake(): void {
    if (this.#closed) return;
    const parked = [...this.#inbound.values()].filter((c) => c.parked !== null);
    for (const call of parked) {
      call.parked = null;
      this.stats.woken++;
      this.#opts.deliver(call.request);
    }
  }

  #finish(call: InboundCall): void {
    this.#inbound.delete(call.key);
    for (const t of call.timers) t.cancel();
    const n = (this.#inboundPerPeer.get(call.from) ?? 1) - 1;
    if (n <= 0) this.#inboundPerPeer.delete(call.from);
    else this.#inboundPerPeer.set(call.from, n);
  }

  #reject(error: RpcError, fail: (e: RpcError) => void): void {
    this.stats.rejected[error.reason] = (this.stats.rejected[error.reason] ?? 0) + 1;
    this.#logger.debug({ reason: error.reason, details: error.details }, 'raft request rejected');
    fail(error);
  }

  /** Validate, register and deliver one inbound request. */
  #accept<T extends RequestMessage>(validated: Validated<T>, respond: (m: ResponseMessage) => void, fail: (e: RpcError) => void, onCancel: (fn: () => void) => void): void {
    this.stats.inboundCalls++;
    if (this.#closed) {
      fail({ code: grpc.status.UNAVAILABLE, reason: 'closing', details: 'the node is shutting down' });
      return;
    }
    if (!validated.ok) {
      this.#reject(validated.error, fail);
      return;
    }
    const m = validated.message;
    const key = `${m.from}:${m.correlationId}`;
    if (this.#inbound.has(key)) {
      this.#reject({ code: grpc.status.ALREADY_EXISTS, reason: 'duplicate', details: `request ${key} is already being answered` }, fail);
      return;
    }
    const count = this.#inboundPerPeer.get(m.from) ?? 0;
    if (count >= this.#limits.maxInboundPerPeer) {
      this.#reject({ code: grpc.status.RESOURCE_EXHAUSTED, reason: 'overloaded', details: `${count} requests from node ${m.from} in flight` }, fail);
      return;
    }
    this.#inboundPerPeer.set(m.from, count + 1);
    const call: InboundCall = { key, from: m.from, request: m, respond, fail, maxWaitMs: validated.maxWaitMs, waitExpired: validated.maxWaitMs === 0, parked: null, timers: [] };
    this.#inbound.set(key, call);
    const timer = this.#opts.timer;
    if (call.maxWaitMs > 0) {
      call.timers.push(
        timer.after(call.maxWaitMs, () => {
          call.waitExpired = true;
          const parked = call.parked;
          if (parked && this.#inbound.get(key) === call) {
            this.#finish(call);
            this.#hwSent.set(parked.to, parked.highWatermark);
            call.respond(parked);
          }
        }),
      );
    }
    call.timers.push(
      timer.after(call.maxWaitMs + this.#limits.inboundAnswerTimeoutMs, () => {
        if (this.#inbound.get(key) !== call) return;
        this.#finish(call);
        call.fail({ code: grpc.status.UNAVAILABLE, reason: 'not-answered', details: 'the node did not answer in time' });
      }),
    );
    onCancel(() => {
      if (this.#inbound.get(key) === call) this.#finish(call);
    });
    this.#opts.deliver(m);
  }

  #unary<W, T extends RequestMessage>(validate: (ctx: ValidationContext, w: W) => Validated<T>): grpc.handleUnaryCall<W, object> {
    return (call, callback) => {
      let done = false;
      const respond = (m: ResponseMessage): void => {
        if (done) return;
        done = true;
        assert(m.type !== 'FetchSnapshotResponse', 'FetchSnapshot is streamed');
        callback(null, responseToWire(m));
      };
      const fail = (e: RpcError): void => {
        if (done) return;
        done = true;
        callback(toServiceError(e) as grpc.ServiceError, null);
      };
      this.#accept(validate(this.#ctx, call.request), respond, fail, (fn) => call.on('cancelled', fn));
    };
  }

  /** Register RaftService on a server. */
  addTo(server: grpc.Server): void {
    const Client = raftServiceClient();
    const fetchSnapshot: grpc.handleServerStreamingCall<WireFetchSnapshotRequest, WireFetchSnapshotResponse> = (call) => {
      let done = false;
      const respond = (m: ResponseMessage): void => {
        if (done) return;
        done = true;
        assert(m.type === 'FetchSnapshotResponse', 'FetchSnapshot answered with the wrong type');
        for (const piece of snapshotResponseToWire(m, this.#limits.snapshotPieceBytes)) call.write(piece);
        call.end();
      };
      const fail = (e: RpcError): void => {
        if (done) return;
        done = true;
        call.emit('error', toServiceError(e));
      };
      this.#accept(validateFetchSnapshot(this.#ctx, call.request), respond, fail, (fn) => call.on('cancelled', fn));
    };
    const describeQuorum: grpc.handleUnaryCall<WireDescribeQuorumRequest, object> = (call, callback) => {
      const error = validateDescribeQuorum(this.#ctx, call.request);
      if (error) {
        this.#reject(error, (e) => callback(toServiceError(e) as grpc.ServiceError, null));
        return;
      }
      const d = this.#opts.describeQuorum();
      if (d === null) {
        const e: RpcError = { code: grpc.status.FAILED_PRECONDITION, reason: 'not-leader', details: `node ${this.#opts.nodeId} is not the leader`, leaderId: this.#opts.local().leaderId };
        callback(toServiceError(e) as grpc.ServiceError, null);
        return;
      }
      callback(null, describeQuorumToWire(d.description, d.currentTick));
    };
    server.addService(Client.service, {
      Vote: this.#unary(validateVote),
      BeginQuorumEpoch: this.#unary(validateBeginQuorumEpoch),
      EndQuorumEpoch: this.#unary(validateEndQuorumEpoch),
      Fetch: this.#unary(validateFetch),
      FetchSnapshot: fetchSnapshot,
      DescribeQuorum: describeQuorum,
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const call of [...this.#inbound.values()]) {
      this.#finish(call);
      call.fail({ code: grpc.status.UNAVAILABLE, reason: 'closing', details: 'the node is shutting down' });
    }
    for (const peer of this.#peers.values()) peer.client.close();
  }
}

/** Starts a gRPC server on `address` (host:port; port 0 picks a free one) with the given registrations. */
export async function startGrpcServer(address: string, register: (server: grpc.Server) => void, limits: Partial<TransportLimits> = {}): Promise<{ server: grpc.Server; port: number }> {
  const server = new grpc.Server(grpcChannelOptions({ ...defaultTransportLimits, ...limits }));
  register(server);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
  });
  return { server, port };
}

export function stopGrpcServer(server: grpc.Server, graceMs = 500): Promise<void> {
  return new Promise((resolve) => {
    const force = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(force);
      resolve();
    });
  });
}
