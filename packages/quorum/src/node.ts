/**
 * QuorumNode: one voter (or observer) process: data directory, storage-backed Raft log, RaftNode, driver, gRPC
 * server with RaftService (peers) and QuorumClientService (clients) on one port.
 *
 * Data directory:
 *   <data-dir>/quorum-state.json     election state (files.ts)
 *   <data-dir>/snapshots/*.snapshot  the latest snapshot (files.ts)
 *   <data-dir>/raft-log/             the Raft log, a PartitionLog directory (stored-log.ts)
 */
import type { Clock, Logger, Rng, Timer } from '@tributary/common';
import { RaftNode, type RaftLimits } from '@tributary/raft';
import { GrpcRaftTransport, startGrpcServer, stopGrpcServer, type GrpcServer, type TransportLimits } from '@tributary/rpc';
import { joinPath, NodeFileSystem, type FileSystem } from '@tributary/storage';
import { addClientService } from './client-service.ts';
import { QuorumDriver } from './driver.ts';
import { readQuorumState, SnapshotStore, writeQuorumState } from './files.ts';
import { KvStateMachine, type StateMachine } from './state-machine.ts';
import { StoredRaftLog, type StoredLogLimits } from './stored-log.ts';
import { cryptoRng, systemClock, systemTimer } from './system.ts';

export interface QuorumTiming {
  tickMs: number;
  electionTimeoutTicks: number;
  fetchTimeoutTicks: number;
  fetchIntervalTicks: number;
  requestTimeoutTicks: number;
  /** Long-poll wait of a caught-up follower's Fetch (ms); below requestTimeoutTicks * tickMs. */
  fetchMaxWaitMs: number;
}

/**
 * 50 ms ticks. A follower stands 750 ms after its last answer from the leader; a split vote costs one more
 * randomised election timeout of 300-600 ms; so a failover takes about 0.8-1.5 s. A caught-up follower fetches again
 * as soon as an answer arrives (fetchIntervalTicks 0) and the leader holds that fetch for up to 200 ms until it has
 * something new, so an entry reaches the followers as soon as the leader has it durable.
 */
export const defaultTiming: Readonly<QuorumTiming> = Object.freeze({
  tickMs: 50,
  electionTimeoutTicks: 6,
  fetchTimeoutTicks: 15,
  fetchIntervalTicks: 0,
  requestTimeoutTicks: 8,
  fetchMaxWaitMs: 200,
});

/** What `registerServices` gets to build more services on the node's gRPC server. */
export interface QuorumNodeParts {
  driver: QuorumDriver;
  node: RaftNode;
  log: StoredRaftLog;
  transport: GrpcRaftTransport;
}

export interface QuorumNodeOptions<S extends StateMachine = KvStateMachine> {
  nodeId: number;
  /** Every voter's id and host:port (this node's included if it is a voter). */
  voters: ReadonlyMap<number, string>;
  /** Observers allowed to fetch from this node (id -> host:port, the address is unused). */
  observers?: ReadonlyMap<number, string>;
  /** host:port to listen on (port 0: any free port). */
  listen: string;
  dataDir: string;
  clusterId?: string;
  timing?: Partial<QuorumTiming>;
  snapshotIntervalEntries?: number;
  proposalTimeoutMs?: number;
  maxPendingProposals?: number;
  raftLimits?: Partial<RaftLimits>;
  transportLimits?: Partial<TransportLimits>;
  logLimits?: Partial<StoredLogLimits>;
  fs?: FileSystem;
  clock?: Clock;
  timer?: Timer;
  rng?: Rng;
  logger: Logger;
  onFatal?: (err: unknown) => void;
  /**
   * The replicated state machine, restored from the latest snapshot before the driver starts. Default: a
   * KvStateMachine, driven through QuorumClientService (which is served only with the default).
   */
  stateMachine?: S;
  /** Adds services to the node's gRPC server; called once the driver exists, before it starts. */
  registerServices?: (server: GrpcServer, parts: QuorumNodeParts) => void;
}

export const DEFAULT_CLUSTER_ID = 'tributary-quorum';

export class QuorumNode<S extends StateMachine = KvStateMachine> {
  readonly nodeId: number;
  readonly port: number;
  readonly driver: QuorumDriver;
  readonly stateMachine: S;
  readonly transport: GrpcRaftTransport;
  readonly log: StoredRaftLog;
  readonly #server: GrpcServer;
  #stopped = false;

  private constructor(nodeId: number, port: number, driver: QuorumDriver, sm: S, transport: GrpcRaftTransport, log: StoredRaftLog, server: GrpcServer) {
    this.nodeId = nodeId;
    this.port = port;
    this.driver = driver;
    this.stateMachine = sm;
    this.transport = transport;
    this.log = log;
    this.#server = server;
  }

  static async start<S extends StateMachine = KvStateMachine>(opts: QuorumNodeOptions<S>): Promise<QuorumNode<S>> {
    const fs = opts.fs ?? new NodeFileSystem();
    const clock = opts.clock ?? systemClock;
    const timer = opts.timer ?? systemTimer;
    const rng = opts.rng ?? cryptoRng;
    const timing = { ...defaultTiming, ...opts.timing };
    const logger = opts.logger.child({ node: opts.nodeId });
    const limits: Partial<RaftLimits> = { maxCommittedPerReady: 1024, ...opts.raftLimits };

    await fs.mkdir(opts.dataDir);
    const quorumState = await readQuorumState(fs, opts.dataDir);
    const snapshots = new SnapshotStore(fs, opts.dataDir);
    const snapshot = await snapshots.loadLatest();
    const log = await StoredRaftLog.open({ fs, dir: joinPath(opts.dataDir, 'raft-log'), clock, logger, snapshotId: snapshot?.id ?? null, limits: opts.logLimits });
    const kv = opts.stateMachine === undefined ? new KvStateMachine() : null;
    const sm = (opts.stateMachine ?? kv) as S;
    sm.restore(snapshot);
    const voterIds = [...opts.voters.keys()];
    const node = new RaftNode({
      nodeId: opts.nodeId,
      voters: voterIds,
      electionTimeoutTicks: timing.electionTimeoutTicks,
      fetchTimeoutTicks: timing.fetchTimeoutTicks,
      fetchIntervalTicks: timing.fetchIntervalTicks,
      requestTimeoutTicks: timing.requestTimeoutTicks,
      rng,
      limits,
      restored: { quorumState, snapshot, log },
    });
    logger.info({ role: node.role.kind, epoch: node.epoch, logStart: log.startOffset, logEnd: log.endOffset, snapshot: snapshot?.id ?? null }, 'quorum node starting');

    let driver: QuorumDriver | null = null;
    const peers = new Map([...opts.voters].filter(([id]) => id !== opts.nodeId));
    const transport = new GrpcRaftTransport({
      nodeId: opts.nodeId,
      clusterId: opts.clusterId ?? DEFAULT_CLUSTER_ID,
      voters: voterIds,
      observers: [...(opts.observers?.keys() ?? [])],
      peers,
      deliver: (m) => driver?.deliver(m),
      local: () => ({ epoch: node.epoch, leaderId: node.role.leaderId }),
      describeQuorum: () => {
        const description = node.describeQuorum();
        return description ? { description, currentTick: node.currentTick } : null;
      },
      timer,
      clock,
      rng,
      logger,
      limits: { fetchMaxWaitMs: timing.fetchMaxWaitMs, ...opts.transportLimits },
    });
    driver = new QuorumDriver({
      node,
      store: {
        writeQuorumState: (q) => writeQuorumState(fs, opts.dataDir, q),
        writeSnapshot: (s) => snapshots.write(s),
        log,
      },
      transport,
      stateMachine: sm,
      timer,
      clock,
      logger,
      tickMs: timing.tickMs,
      snapshotIntervalEntries: opts.snapshotIntervalEntries ?? 0,
      proposalTimeoutMs: opts.proposalTimeoutMs,
      maxPendingProposals: opts.maxPendingProposals,
      maxCommittedPerReady: limits.maxCommittedPerReady,
      maxProposalEntries: limits.maxProposalEntries,
      maxFetchEntries: limits.maxFetchEntries,
      maxEntryBytes: limits.maxEntryBytes,
      onFatal: opts.onFatal,
    });
    const d = driver;
    const { server, port } = await startGrpcServer(opts.listen, (s) => {
      transport.addTo(s);
      if (kv !== null) addClientService(s, { driver: d, stateMachine: kv, log, node });
      opts.registerServices?.(s, { driver: d, node, log, transport });
    }, opts.transportLimits);
    driver.start();
    logger.info({ port }, 'quorum node listening');
    return new QuorumNode(opts.nodeId, port, driver, sm, transport, log, server);
  }

  /** Graceful stop: no new input, the Ready in progress completes, the log is closed cleanly. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    await this.driver.stop();
    await this.transport.close();
    await stopGrpcServer(this.#server);
    await this.log.close();
  }
}

/** Parses `1@127.0.0.1:19091,2@127.0.0.1:19092`. */
export function parseVoters(text: string): Map<number, string> {
  const out = new Map<number, string>();
  for (const part of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const at = part.indexOf('@');
    const id = Number(part.slice(0, at));
    const address = part.slice(at + 1);
    if (at <= 0 || !Number.isSafeInteger(id) || id < 0 || !/^[^:]+:\d+$/.test(address)) throw new Error(`bad voter ${JSON.stringify(part)}: expected id@host:port`);
    if (out.has(id)) throw new Error(`voter ${id} listed twice`);
    out.set(id, address);
  }
  if (out.size === 0) throw new Error('no voters');
  return out;
}
