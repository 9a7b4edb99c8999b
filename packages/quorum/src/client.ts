/**
 * QuorumClient: talks QuorumClientService to a set of quorum nodes (tests, benchmarks, operators). `propose` follows
 * the leader: it tries the node it believes leads, moves to the one a not-leader error names, and otherwise walks
 * the nodes, within a total deadline.
 */
import * as grpc from '@grpc/grpc-js';
import { errorLeader, errorReason, grpcChannelOptions, quorumClientServiceClient, defaultTransportLimits } from '@tributary/rpc';

export interface NodeDescription {
  nodeId: number;
  role: string;
  epoch: number;
  leaderId?: number;
  highWatermark: number;
  appliedOffset: number;
  logStartOffset: number;
  logEndOffset: number;
  snapshotEndOffset: number;
  snapshotsInstalled: number;
  snapshotsCreated: number;
  quorumJson: string;
}

export interface ReadResult {
  entries: { key: string; value: string }[];
  appliedOffset: number;
}

export class QuorumCallError extends Error {
  override name = 'QuorumCallError';
  readonly code: grpc.status;
  readonly reason: string;
  readonly leaderId: number | null;
  constructor(err: grpc.ServiceError) {
    super(err.details || err.message);
    this.code = err.code;
    this.reason = errorReason(err);
    this.leaderId = errorLeader(err);
  }
}

type Unary = (req: object, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: unknown) => void) => void;

export class QuorumClient {
  readonly #clients = new Map<number, grpc.Client>();
  #leader: number | null = null;

  constructor(nodes: ReadonlyMap<number, string>) {
    const Client = quorumClientServiceClient();
    for (const [id, address] of nodes) this.#clients.set(id, new Client(address, grpc.credentials.createInsecure(), grpcChannelOptions(defaultTransportLimits)));
  }

  get leaderHint(): number | null {
    return this.#leader;
  }

  #call<T>(nodeId: number, method: string, req: object, timeoutMs: number): Promise<T> {
    const client = this.#clients.get(nodeId);
    if (!client) return Promise.reject(new Error(`unknown node ${nodeId}`));
    const fn = (client as unknown as Record<string, Unary>)[method]!;
    return new Promise((resolve, reject) => {
      fn.call(client, req, { deadline: new Date(Date.now() + timeoutMs) }, (err, res) => (err ? reject(new QuorumCallError(err)) : resolve(res as T)));
    });
  }

  proposeTo(nodeId: number, key: string, value: string, timeoutMs = 5000): Promise<{ offset: number; epoch: number }> {
    return this.#call(nodeId, 'Propose', { key, value }, timeoutMs);
  }

  /** Propose through whichever node leads, retrying until `timeoutMs` passes. */
  async propose(key: string, value: string, timeoutMs = 10_000): Promise<{ offset: number; epoch: number; nodeId: number }> {
    const deadline = Date.now() + timeoutMs;
    const ids = [...this.#clients.keys()];
    let next = this.#leader ?? ids[0]!;
    let lastError: unknown = null;
    // Bounded by the deadline; each failed attempt waits a little before the next.
    for (let attempt = 0; Date.now() < deadline; attempt++) {
      try {
        const r = await this.proposeTo(next, key, value, Math.max(1, deadline - Date.now()));
        this.#leader = next;
        return { ...r, nodeId: next };
      } catch (err) {
        lastError = err;
        if (err instanceof QuorumCallError && err.reason === 'not-leader' && err.leaderId !== null && err.leaderId !== next && this.#clients.has(err.leaderId)) {
          next = err.leaderId;
          continue;
        }
        if (err instanceof QuorumCallError && (err.reason === 'timeout' || err.reason === 'lost')) throw err;
        this.#leader = null;
        next = ids[(ids.indexOf(next) + 1) % ids.length]!;
        await new Promise((r) => setTimeout(r, Math.min(50, 5 * (attempt + 1))));
      }
    }
    throw lastError ?? new Error('propose timed out');
  }

  read(nodeId: number, timeoutMs = 2000): Promise<ReadResult> {
    return this.#call(nodeId, 'Read', {}, timeoutMs);
  }

  describe(nodeId: number, timeoutMs = 2000): Promise<NodeDescription> {
    return this.#call(nodeId, 'Describe', {}, timeoutMs);
  }

  createSnapshot(nodeId: number, timeoutMs = 5000): Promise<{ endOffset: number; epoch: number }> {
    return this.#call(nodeId, 'CreateSnapshot', {}, timeoutMs);
  }

  /** The node every reachable node agrees leads (null if none does, or they disagree). */
  async findLeader(timeoutMs = 1000): Promise<number | null> {
    const answers = await Promise.all([...this.#clients.keys()].map((id) => this.describe(id, timeoutMs).catch(() => null)));
    const leaders = answers.filter((a): a is NodeDescription => a !== null && a.role === 'leader');
    if (leaders.length === 0) return null;
    const best = leaders.reduce((a, b) => (b.epoch > a.epoch ? b : a));
    this.#leader = best.nodeId;
    return best.nodeId;
  }

  close(): void {
    for (const c of this.#clients.values()) c.close();
  }
}
