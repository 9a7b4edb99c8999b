/**
 * ControllerNode: one controller quorum voter: a QuorumNode (Raft log, driver, RaftService) whose state machine is a
 * QuorumController, with ControllerService on the same gRPC server and port. A combined broker+controller node starts
 * one of these and gives its `controller` to ControllerClient's `local` list (no network hop to itself).
 */
import type { Logger } from '@tributary/common';
import type { ConfigSchema } from '@tributary/metadata';
import { DEFAULT_CLUSTER_ID, QuorumNode, type QuorumNodeOptions, type QuorumTiming } from '@tributary/quorum';
import { addControllerService } from './service.ts';
import { QuorumController, type ControllerSettings, type QuorumControllerLimits } from './quorum-controller.ts';
import { cryptoRng, systemClock, systemTimer } from '@tributary/quorum';
import type { WireLimits } from './wire.ts';

export interface ControllerNodeOptions {
  nodeId: number;
  /** controller.quorum.voters: id -> host:port (this node included). */
  voters: ReadonlyMap<number, string>;
  /** host:port to listen on (port 0: any free port). */
  listen: string;
  dataDir: string;
  clusterId?: string;
  configSchema?: ConfigSchema;
  /** num.partitions, default.replication.factor, delete.topic.enable, broker.session.timeout.ms, ... */
  settings?: ControllerSettings;
  fenceCheckIntervalMs?: number;
  controllerLimits?: Partial<QuorumControllerLimits>;
  wireLimits?: Partial<WireLimits>;
  /** Snapshot the metadata once this many entries were applied beyond the log start (default 20 000). */
  snapshotIntervalEntries?: number;
  /** Anything else for the Raft runtime (timing, limits, fs, clock, timer, rng). */
  quorum?: Partial<Omit<QuorumNodeOptions<QuorumController>, 'stateMachine' | 'registerServices' | 'nodeId' | 'voters' | 'listen' | 'dataDir' | 'clusterId' | 'logger'>>;
  verifyImages?: boolean;
  logger: Logger;
  onFatal?: (err: unknown) => void;
}

/**
 * The controller quorum's Raft timing: the quorum's time constants (election timeout 300-600 ms, fetch timeout
 * 750 ms, 200 ms long-poll) on 25 ms ticks instead of 50, so the randomised election timeout takes 12 values
 * instead of 6: two voters that time out together (both lose the leader at the same moment) draw the same timeout
 * half as often, and a split vote repeats less.
 */
export const controllerTiming: Readonly<QuorumTiming> = Object.freeze({
  tickMs: 25,
  electionTimeoutTicks: 12,
  fetchTimeoutTicks: 30,
  fetchIntervalTicks: 0,
  requestTimeoutTicks: 16,
  fetchMaxWaitMs: 200,
});

export class ControllerNode {
  readonly nodeId: number;
  readonly controller: QuorumController;
  readonly quorum: QuorumNode<QuorumController>;

  private constructor(controller: QuorumController, quorum: QuorumNode<QuorumController>) {
    this.nodeId = controller.nodeId;
    this.controller = controller;
    this.quorum = quorum;
  }

  get port(): number {
    return this.quorum.port;
  }

  static async start(opts: ControllerNodeOptions): Promise<ControllerNode> {
    const clusterId = opts.clusterId ?? DEFAULT_CLUSTER_ID;
    const logger = opts.logger.child({ node: opts.nodeId });
    const controller = new QuorumController({
      nodeId: opts.nodeId,
      voters: opts.voters,
      configSchema: opts.configSchema,
      settings: opts.settings,
      fenceCheckIntervalMs: opts.fenceCheckIntervalMs,
      tickMs: opts.quorum?.timing?.tickMs ?? controllerTiming.tickMs,
      limits: opts.controllerLimits,
      clock: opts.quorum?.clock ?? systemClock,
      timer: opts.quorum?.timer ?? systemTimer,
      rng: opts.quorum?.rng ?? cryptoRng,
      logger,
      verifyImages: opts.verifyImages,
      onFatal: opts.onFatal,
    });
    const quorum = await QuorumNode.start<QuorumController>({
      snapshotIntervalEntries: opts.snapshotIntervalEntries ?? 20_000,
      ...opts.quorum,
      timing: { ...controllerTiming, ...opts.quorum?.timing },
      nodeId: opts.nodeId,
      voters: opts.voters,
      listen: opts.listen,
      dataDir: opts.dataDir,
      clusterId,
      logger: opts.logger,
      onFatal: opts.onFatal,
      stateMachine: controller,
      registerServices: (server, parts) => {
        controller.bind(parts.driver);
        addControllerService(server, { controller, clusterId, limits: opts.wireLimits, logger });
      },
    });
    return new ControllerNode(controller, quorum);
  }

  /** Graceful stop: pending operations fail (stopped), the Raft node stops and closes its log. */
  async stop(): Promise<void> {
    this.controller.close();
    await this.quorum.stop();
  }
}
