/**
 * Talking to the controller quorum from a broker or a tool.
 *
 * GrpcControllerConnection: one controller over gRPC (ControllerService), every call with a deadline.
 * ControllerClient: the voters of `controller.quorum.voters`; sends each call to the controller it believes active,
 * follows NOT_CONTROLLER answers to the controller they name, walks the voters when one is unreachable, with a
 * jittered exponential backoff, all within the call's timeout and a bound on attempts. A voter running in this
 * process (a combined broker+controller node) is called directly: no network hop, same code path.
 */
import * as grpc from '@grpc/grpc-js';
import { assert, silentLogger, type Logger } from '@tributary/common';
import { DEFAULT_CLUSTER_ID } from '@tributary/quorum';
import { grpcChannelOptions } from '@tributary/rpc';
import type { CallOptions, ControllerApi, ControllerStatus, DescribeQuorumResponse, RequestOf, ResponseOf } from './api.ts';
import { ControllerError } from './errors.ts';
import type { QuorumController } from './quorum-controller.ts';
import { API_WIRES, controllerErrorFromStatus, controllerServiceClient, describeQuorumWire, describeWire, type MethodWire } from './wire.ts';

/** A controller the client can ask for its own status as well (any controller answers Describe). */
export interface ControllerConnection extends ControllerApi {
  readonly nodeId: number;
  describe(includeImage?: boolean, options?: CallOptions): Promise<ControllerStatus>;
  close(): void;
}

export interface GrpcConnectionOptions {
  nodeId: number;
  /** host:port */
  address: string;
  clusterId?: string;
  /** Names the caller in the server's logs. */
  clientId?: string;
  /** Deadline of a call given no timeout. */
  defaultTimeoutMs?: number;
  maxMessageBytes?: number;
}

type Unary = (request: object, options: grpc.CallOptions, callback: (err: grpc.ServiceError | null, response: unknown) => void) => grpc.ClientUnaryCall;

export class GrpcControllerConnection implements ControllerConnection {
  readonly nodeId: number;
  readonly address: string;
  readonly #client: grpc.Client;
  readonly #header: { clusterId: string; clientId: string };
  readonly #defaultTimeoutMs: number;

  constructor(opts: GrpcConnectionOptions) {
    this.nodeId = opts.nodeId;
    this.address = opts.address;
    this.#header = { clusterId: opts.clusterId ?? DEFAULT_CLUSTER_ID, clientId: opts.clientId ?? 'controller-client' };
    this.#defaultTimeoutMs = opts.defaultTimeoutMs ?? 30_000;
    const Client = controllerServiceClient();
    this.#client = new Client(opts.address, grpc.credentials.createInsecure(), grpcChannelOptions({ maxMessageBytes: opts.maxMessageBytes ?? 8 * 1024 * 1024 }));
  }

  #call<Req, Res>(wire: MethodWire<Req, Res>, request: Req, options: CallOptions | undefined): Promise<Res> {
    const timeoutMs = options?.timeoutMs ?? this.#defaultTimeoutMs;
    const fn = (this.#client as unknown as Record<string, Unary>)[wire.rpc];
    assert(typeof fn === 'function', () => `no rpc ${wire.rpc}`);
    return new Promise((resolve, reject) => {
      fn.call(this.#client, { header: this.#header, ...wire.requestToWire(request) }, { deadline: new Date(Date.now() + Math.max(1, timeoutMs)) }, (err, response) => {
        if (err) reject(controllerErrorFromStatus(err, `controller ${this.nodeId} (${this.address})`));
        else resolve(wire.responseFromWire(response as Record<string, unknown>));
      });
    });
  }

  registerBroker(r: RequestOf<'registerBroker'>, o?: CallOptions): Promise<ResponseOf<'registerBroker'>> {
    return this.#call(API_WIRES.registerBroker, r, o);
  }
  brokerHeartbeat(r: RequestOf<'brokerHeartbeat'>, o?: CallOptions): Promise<ResponseOf<'brokerHeartbeat'>> {
    return this.#call(API_WIRES.brokerHeartbeat, r, o);
  }
  unregisterBroker(r: RequestOf<'unregisterBroker'>, o?: CallOptions): Promise<ResponseOf<'unregisterBroker'>> {
    return this.#call(API_WIRES.unregisterBroker, r, o);
  }
  alterPartition(r: RequestOf<'alterPartition'>, o?: CallOptions): Promise<ResponseOf<'alterPartition'>> {
    return this.#call(API_WIRES.alterPartition, r, o);
  }
  allocateProducerIds(r: RequestOf<'allocateProducerIds'>, o?: CallOptions): Promise<ResponseOf<'allocateProducerIds'>> {
    return this.#call(API_WIRES.allocateProducerIds, r, o);
  }
  fetchMetadata(r: RequestOf<'fetchMetadata'>, o?: CallOptions): Promise<ResponseOf<'fetchMetadata'>> {
    return this.#call(API_WIRES.fetchMetadata, r, o);
  }
  createTopics(r: RequestOf<'createTopics'>, o?: CallOptions): Promise<ResponseOf<'createTopics'>> {
    return this.#call(API_WIRES.createTopics, r, o);
  }
  deleteTopics(r: RequestOf<'deleteTopics'>, o?: CallOptions): Promise<ResponseOf<'deleteTopics'>> {
    return this.#call(API_WIRES.deleteTopics, r, o);
  }
  createPartitions(r: RequestOf<'createPartitions'>, o?: CallOptions): Promise<ResponseOf<'createPartitions'>> {
    return this.#call(API_WIRES.createPartitions, r, o);
  }
  incrementalAlterConfigs(r: RequestOf<'incrementalAlterConfigs'>, o?: CallOptions): Promise<ResponseOf<'incrementalAlterConfigs'>> {
    return this.#call(API_WIRES.incrementalAlterConfigs, r, o);
  }
  alterConfigs(r: RequestOf<'alterConfigs'>, o?: CallOptions): Promise<ResponseOf<'alterConfigs'>> {
    return this.#call(API_WIRES.alterConfigs, r, o);
  }
  electLeaders(r: RequestOf<'electLeaders'>, o?: CallOptions): Promise<ResponseOf<'electLeaders'>> {
    return this.#call(API_WIRES.electLeaders, r, o);
  }
  alterPartitionReassignments(r: RequestOf<'alterPartitionReassignments'>, o?: CallOptions): Promise<ResponseOf<'alterPartitionReassignments'>> {
    return this.#call(API_WIRES.alterPartitionReassignments, r, o);
  }
  listPartitionReassignments(r: RequestOf<'listPartitionReassignments'>, o?: CallOptions): Promise<ResponseOf<'listPartitionReassignments'>> {
    return this.#call(API_WIRES.listPartitionReassignments, r, o);
  }
  describeQuorum(o?: CallOptions): Promise<DescribeQuorumResponse> {
    return this.#call(describeQuorumWire, null, o);
  }
  describe(includeImage = false, o?: CallOptions): Promise<ControllerStatus> {
    return this.#call(describeWire, { includeImage }, o);
  }

  close(): void {
    this.#client.close();
  }
}

/** A controller in this process, behind the ControllerConnection interface (no serialization, no socket). */
export class LocalControllerConnection implements ControllerConnection {
  readonly nodeId: number;
  readonly #controller: QuorumController;

  constructor(controller: QuorumController) {
    this.nodeId = controller.nodeId;
    this.#controller = controller;
  }

  registerBroker(r: RequestOf<'registerBroker'>, o?: CallOptions): Promise<ResponseOf<'registerBroker'>> {
    return this.#controller.registerBroker(r, o);
  }
  brokerHeartbeat(r: RequestOf<'brokerHeartbeat'>, o?: CallOptions): Promise<ResponseOf<'brokerHeartbeat'>> {
    return this.#controller.brokerHeartbeat(r, o);
  }
  unregisterBroker(r: RequestOf<'unregisterBroker'>, o?: CallOptions): Promise<ResponseOf<'unregisterBroker'>> {
    return this.#controller.unregisterBroker(r, o);
  }
  alterPartition(r: RequestOf<'alterPartition'>, o?: CallOptions): Promise<ResponseOf<'alterPartition'>> {
    return this.#controller.alterPartition(r, o);
  }
  allocateProducerIds(r: RequestOf<'allocateProducerIds'>, o?: CallOptions): Promise<ResponseOf<'allocateProducerIds'>> {
    return this.#controller.allocateProducerIds(r, o);
  }
  fetchMetadata(r: RequestOf<'fetchMetadata'>, o?: CallOptions): Promise<ResponseOf<'fetchMetadata'>> {
    return this.#controller.fetchMetadata(r, o);
  }
  createTopics(r: RequestOf<'createTopics'>, o?: CallOptions): Promise<ResponseOf<'createTopics'>> {
    return this.#controller.createTopics(r, o);
  }
  deleteTopics(r: RequestOf<'deleteTopics'>, o?: CallOptions): Promise<ResponseOf<'deleteTopics'>> {
    return this.#controller.deleteTopics(r, o);
  }
  createPartitions(r: RequestOf<'createPartitions'>, o?: CallOptions): Promise<ResponseOf<'createPartitions'>> {
    return this.#controller.createPartitions(r, o);
  }
  incrementalAlterConfigs(r: RequestOf<'incrementalAlterConfigs'>, o?: CallOptions): Promise<ResponseOf<'incrementalAlterConfigs'>> {
    return this.#controller.incrementalAlterConfigs(r, o);
  }
  alterConfigs(r: RequestOf<'alterConfigs'>, o?: CallOptions): Promise<ResponseOf<'alterConfigs'>> {
    return this.#controller.alterConfigs(r, o);
  }
  electLeaders(r: RequestOf<'electLeaders'>, o?: CallOptions): Promise<ResponseOf<'electLeaders'>> {
    return this.#controller.electLeaders(r, o);
  }
  alterPartitionReassignments(r: RequestOf<'alterPartitionReassignments'>, o?: CallOptions): Promise<ResponseOf<'alterPartitionReassignments'>> {
    return this.#controller.alterPartitionReassignments(r, o);
  }
  listPartitionReassignments(r: RequestOf<'listPartitionReassignments'>, o?: CallOptions): Promise<ResponseOf<'listPartitionReassignments'>> {
    return this.#controller.listPartitionReassignments(r, o);
  }
  describeQuorum(o?: CallOptions): Promise<DescribeQuorumResponse> {
    return this.#controller.describeQuorum(o);
  }
  async describe(includeImage = false): Promise<ControllerStatus> {
    return this.#controller.status(includeImage);
  }
  close(): void {}
}

export interface ControllerClientOptions {
  /** controller.quorum.voters: node id -> host:port. */
  voters: ReadonlyMap<number, string>;
  clusterId?: string;
  clientId?: string;
  /** Controllers running in this process (combined node): called directly instead of over gRPC. */
  local?: readonly QuorumController[];
  /** Whole-call timeout given none (retries included). Default 30 s. */
  requestTimeoutMs?: number;
  /** One attempt's timeout (a controller that hangs is left after this). Default 10 s. */
  attemptTimeoutMs?: number;
  /** First retry backoff; doubles up to maxRetryBackoffMs, with jitter. */
  retryBackoffMs?: number;
  maxRetryBackoffMs?: number;
  /** Attempts per call, whatever the timeout. */
  maxAttempts?: number;
  logger?: Logger;
}

/**
 * Calls whose repetition is harmless: a timed-out attempt is retried for them (for writes a timeout means the
 * outcome is unknown, and the caller decides).
 */
const REPEATABLE: ReadonlySet<string> = new Set(['fetchMetadata', 'describeQuorum', 'brokerHeartbeat']);

export class ControllerClient implements ControllerApi {
  readonly #connections = new Map<number, ControllerConnection>();
  readonly #ids: number[];
  readonly #requestTimeoutMs: number;
  readonly #attemptTimeoutMs: number;
  readonly #backoffMs: number;
  readonly #maxBackoffMs: number;
  readonly #maxAttempts: number;
  readonly #logger: Logger;
  #active: number | null = null;
  #next = 0;
  #closed = false;

  constructor(opts: ControllerClientOptions) {
    const local = new Map((opts.local ?? []).map((c) => [c.nodeId, c]));
    for (const [id, address] of opts.voters) {
      const controller = local.get(id);
      this.#connections.set(
        id,
        controller !== undefined ? new LocalControllerConnection(controller) : new GrpcControllerConnection({ nodeId: id, address, clusterId: opts.clusterId, clientId: opts.clientId }),
      );
    }
    for (const id of local.keys()) assert(opts.voters.has(id), () => `local controller ${id} is not a voter`);
    assert(this.#connections.size > 0, 'no controller voters');
    this.#ids = [...this.#connections.keys()].sort((a, b) => a - b);
    // Start with an in-process controller if there is one, else somewhere in the list (spreads first contacts).
    this.#next = local.size > 0 ? this.#ids.indexOf([...local.keys()][0]!) : Math.floor(Math.random() * this.#ids.length);
    this.#requestTimeoutMs = opts.requestTimeoutMs ?? 30_000;
    this.#attemptTimeoutMs = opts.attemptTimeoutMs ?? 10_000;
    this.#backoffMs = opts.retryBackoffMs ?? 20;
    this.#maxBackoffMs = opts.maxRetryBackoffMs ?? 1000;
    this.#maxAttempts = opts.maxAttempts ?? 200;
    this.#logger = (opts.logger ?? silentLogger).child({ component: 'controller-client' });
  }

  /** A client for a single in-process controller (a combined node with one voter). */
  static inProcess(controller: QuorumController, opts: Omit<ControllerClientOptions, 'voters' | 'local'> = {}): ControllerClient {
    return new ControllerClient({ ...opts, voters: new Map([[controller.nodeId, 'in-process']]), local: [controller] });
  }

  /** The controller the last successful call went to (or a NOT_CONTROLLER answer named); null when unknown. */
  get activeControllerId(): number | null {
    return this.#active;
  }

  get voterIds(): readonly number[] {
    return this.#ids;
  }

  connection(nodeId: number): ControllerConnection {
    const c = this.#connections.get(nodeId);
    if (c === undefined) throw new Error(`controller ${nodeId} is not a voter`);
    return c;
  }

  /** One controller's own status (no retry, no redirect). */
  describe(nodeId: number, includeImage = false, options?: CallOptions): Promise<ControllerStatus> {
    return this.connection(nodeId).describe(includeImage, { timeoutMs: options?.timeoutMs ?? 2000 });
  }

  async #call<R>(method: string, invoke: (c: ControllerConnection, options: CallOptions) => Promise<R>, options: CallOptions | undefined): Promise<R> {
    if (this.#closed) throw new ControllerError('stopped', 'the controller client is closed');
    const timeoutMs = options?.timeoutMs ?? this.#requestTimeoutMs;
    const deadline = performance.now() + timeoutMs;
    let target = this.#active ?? this.#ids[this.#next % this.#ids.length]!;
    let last: ControllerError | null = null;
    let backoff = this.#backoffMs;
    // Bounded by maxAttempts and the deadline.
    for (let attempt = 0; attempt < this.#maxAttempts && !this.#closed; attempt++) {
      const remaining = deadline - performance.now();
      if (remaining <= 0) break;
      try {
        const result = await invoke(this.connection(target), { timeoutMs: Math.max(1, Math.min(remaining, this.#attemptTimeoutMs)) });
        this.#active = target;
        return result;
      } catch (err) {
        if (!(err instanceof ControllerError)) throw err;
        last = err;
        if (!err.retriable && !(err.reason === 'timeout' && REPEATABLE.has(method))) throw err;
        const named = err.reason === 'not-controller' ? err.activeControllerId : null;
        if (named !== null && named !== target && this.#connections.has(named) && attempt < this.#ids.length * 2) {
          // Redirect at once: the answering controller knows who is active.
          this.#active = named;
          target = named;
          continue;
        }
        this.#active = null;
        const i = this.#ids.indexOf(target);
        this.#next = (i + 1) % this.#ids.length;
        target = named !== null && named !== target && this.#connections.has(named) ? named : this.#ids[this.#next]!;
        const sleepMs = Math.min(backoff * (0.5 + Math.random() / 2), Math.max(0, deadline - performance.now()));
        backoff = Math.min(backoff * 2, this.#maxBackoffMs);
        this.#logger.debug({ method, attempt, reason: err.reason, next: target, sleepMs: Math.round(sleepMs) }, 'retrying controller call');
        if (sleepMs > 0) await new Promise((r) => setTimeout(r, sleepMs));
      }
    }
    throw new ControllerError('timeout', `${method}: no active controller answered within ${timeoutMs} ms${last ? ` (last: ${last.reason}: ${last.message})` : ''}`, last?.activeControllerId ?? null, last?.activeControllerEndpoint ?? null);
  }

  registerBroker(r: RequestOf<'registerBroker'>, o?: CallOptions): Promise<ResponseOf<'registerBroker'>> {
    return this.#call('registerBroker', (c, co) => c.registerBroker(r, co), o);
  }
  brokerHeartbeat(r: RequestOf<'brokerHeartbeat'>, o?: CallOptions): Promise<ResponseOf<'brokerHeartbeat'>> {
    return this.#call('brokerHeartbeat', (c, co) => c.brokerHeartbeat(r, co), o);
  }
  unregisterBroker(r: RequestOf<'unregisterBroker'>, o?: CallOptions): Promise<ResponseOf<'unregisterBroker'>> {
    return this.#call('unregisterBroker', (c, co) => c.unregisterBroker(r, co), o);
  }
  alterPartition(r: RequestOf<'alterPartition'>, o?: CallOptions): Promise<ResponseOf<'alterPartition'>> {
    return this.#call('alterPartition', (c, co) => c.alterPartition(r, co), o);
  }
  allocateProducerIds(r: RequestOf<'allocateProducerIds'>, o?: CallOptions): Promise<ResponseOf<'allocateProducerIds'>> {
    return this.#call('allocateProducerIds', (c, co) => c.allocateProducerIds(r, co), o);
  }
  fetchMetadata(r: RequestOf<'fetchMetadata'>, o?: CallOptions): Promise<ResponseOf<'fetchMetadata'>> {
    return this.#call('fetchMetadata', (c, co) => c.fetchMetadata(r, co), o);
  }
  createTopics(r: RequestOf<'createTopics'>, o?: CallOptions): Promise<ResponseOf<'createTopics'>> {
    return this.#call('createTopics', (c, co) => c.createTopics(r, co), o);
  }
  deleteTopics(r: RequestOf<'deleteTopics'>, o?: CallOptions): Promise<ResponseOf<'deleteTopics'>> {
    return this.#call('deleteTopics', (c, co) => c.deleteTopics(r, co), o);
  }
  createPartitions(r: RequestOf<'createPartitions'>, o?: CallOptions): Promise<ResponseOf<'createPartitions'>> {
    return this.#call('createPartitions', (c, co) => c.createPartitions(r, co), o);
  }
  incrementalAlterConfigs(r: RequestOf<'incrementalAlterConfigs'>, o?: CallOptions): Promise<ResponseOf<'incrementalAlterConfigs'>> {
    return this.#call('incrementalAlterConfigs', (c, co) => c.incrementalAlterConfigs(r, co), o);
  }
  alterConfigs(r: RequestOf<'alterConfigs'>, o?: CallOptions): Promise<ResponseOf<'alterConfigs'>> {
    return this.#call('alterConfigs', (c, co) => c.alterConfigs(r, co), o);
  }
  electLeaders(r: RequestOf<'electLeaders'>, o?: CallOptions): Promise<ResponseOf<'electLeaders'>> {
    return this.#call('electLeaders', (c, co) => c.electLeaders(r, co), o);
  }
  alterPartitionReassignments(r: RequestOf<'alterPartitionReassignments'>, o?: CallOptions): Promise<ResponseOf<'alterPartitionReassignments'>> {
    return this.#call('alterPartitionReassignments', (c, co) => c.alterPartitionReassignments(r, co), o);
  }
  listPartitionReassignments(r: RequestOf<'listPartitionReassignments'>, o?: CallOptions): Promise<ResponseOf<'listPartitionReassignments'>> {
    return this.#call('listPartitionReassignments', (c, co) => c.listPartitionReassignments(r, co), o);
  }
  describeQuorum(o?: CallOptions): Promise<DescribeQuorumResponse> {
    return this.#call('describeQuorum', (c, co) => c.describeQuorum(co), o);
  }

  close(): void {
    this.#closed = true;
    for (const c of this.#connections.values()) c.close();
  }
}
