/**
 * Partition replication on this broker: the roles the committed metadata gives each hosted partition (leader,
 * follower, none), the gRPC ReplicaService that followers fetch from, the fetchers that follow other leaders, and the
 * ISR changes a leader proposes to the controller (AlterPartition), which take effect only once committed.
 */
import type { Clock, Logger, Rng, Timer } from '@tributary/common';
import type { ControllerApi } from '@tributary/controller';
import { ErrorCode } from '@tributary/protocol';
import type { IsrChangeProposal } from '@tributary/replication';
import { addReplicaService, startGrpcServer, stopGrpcServer, type GrpcServer, type ReplicaService } from '@tributary/rpc';
import type { Broker } from '../broker.ts';
import type { Partition } from '../partition.ts';
import { LeaderFetchService } from './leader-service.ts';
import { ReplicaFetcherManager } from './replica-fetcher.ts';
import { ByteRateThrottle } from './throttle.ts';

/** The listener name brokers register their replication endpoint under (never given to clients). */
export const REPLICATION_LISTENER = 'REPLICATION';
const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
/** Between AlterPartition attempts for a change the controller did not settle (unavailable, retriable errors). */
const ALTER_PARTITION_RETRY_MS = 500;

export interface ReplicationOptions {
  broker: Broker;
  controller: ControllerApi;
  clusterId: string;
  brokerEpoch: () => number;
  clock: Clock;
  timer: Timer;
  rng: Rng;
  logger: Logger;
  replicaLagTimeMaxMs: number;
  fetchWaitMaxMs: number;
  fetchMaxBytes: number;
  fetchResponseMaxBytes: number;
  fetchBackoffMs: number;
  /** leader.replication.throttled.rate / follower.replication.throttled.rate (bytes/s; MAX = unthrottled). */
  leaderThrottledRate: number;
  followerThrottledRate: number;
}

/** Whether `replicaId` is being added to `p` by a reassignment (the replicas throttling applies to). */
function isAdding(broker: Broker, p: Partition, replicaId: number): boolean {
  return broker.metadata.image.partition(p.topicId, p.index)?.addingReplicas.includes(replicaId) === true;
}

export class ReplicationManager {
  readonly fetchers: ReplicaFetcherManager;
  /** The leader- and follower-side buckets; throttle-config.ts changes their rates as the metadata does. */
  readonly leaderThrottle: ByteRateThrottle;
  readonly followerThrottle: ByteRateThrottle;
  readonly #o: ReplicationOptions;
  readonly #leaderService: LeaderFetchService;
  readonly #logger: Logger;
  #server: GrpcServer | null = null;
  #service: ReplicaService | null = null;
  #isrTimer: { cancel(): void } | null = null;
  #closed = false;

  constructor(o: ReplicationOptions) {
    this.#o = o;
    this.#logger = o.logger.child({ component: 'replication' });
    this.leaderThrottle = new ByteRateThrottle(o.leaderThrottledRate, o.clock.monotonicMs());
    this.followerThrottle = new ByteRateThrottle(o.followerThrottledRate, o.clock.monotonicMs());
    this.#leaderService = new LeaderFetchService(o.broker, (p) => this.#maybeExpand(p), this.leaderThrottle, (p, replicaId) => isAdding(o.broker, p, replicaId));
    this.fetchers = new ReplicaFetcherManager({
      nodeId: o.broker.nodeId,
      clusterId: o.clusterId,
      brokerEpoch: o.brokerEpoch,
      endpointOf: (id) => {
        const e = o.broker.metadata.image.broker(id)?.listeners.find((l) => l.name === REPLICATION_LISTENER);
        return e === undefined ? null : `${e.host.includes(':') ? `[${e.host}]` : e.host}:${e.port}`;
      },
      clock: o.clock,
      timer: o.timer,
      rng: o.rng,
      logger: o.logger,
      maxWaitMs: o.fetchWaitMaxMs,
      partitionMaxBytes: o.fetchMaxBytes,
      maxBytes: o.fetchResponseMaxBytes,
      backoffMs: o.fetchBackoffMs,
      throttle: this.followerThrottle,
      isThrottled: (p) => isAdding(o.broker, p, o.broker.nodeId),
    });
  }

  /** Serves ReplicaService on `listen` (host:port; port 0 picks one); returns the bound port. */
  async start(listen: string): Promise<number> {
    const { server, port } = await startGrpcServer(
      listen,
      (s) => {
        this.#service = addReplicaService(s, { clusterId: this.#o.clusterId, handler: this.#leaderService, logger: this.#o.logger });
      },
      { maxMessageBytes: MAX_MESSAGE_BYTES },
    );
    this.#server = server;
    this.#scheduleIsrCheck();
    return port;
  }

  /** After a metadata step: every changed partition takes the role the metadata gives it. */
  async applyRoles(changed: readonly Partition[], removed: readonly Partition[]): Promise<void> {
    for (const p of removed) this.fetchers.remove(p);
    const nowMs = this.#o.clock.nowMs();
    const brokerEpoch = this.#o.brokerEpoch();
    for (const p of changed) {
      if (this.#closed) return;
      if (p.isLeader) {
        const state = p.leaderState;
        const replicasChanged = state !== null && (state.replicas.length !== p.replicas.length || state.replicas.some((r) => !p.replicas.includes(r)));
        if (state !== null && state.leaderEpoch === p.leaderEpoch && replicasChanged) {
          // A reassignment changed the replica set under the same leader: the rules start over with the new set (the
          // followers' progress is relearned from their next fetches; the high watermark carries over).
          try {
            await p.becomeLeader(brokerEpoch, nowMs, { keepWaiters: true });
          } catch (err) {
            this.#logger.error({ topic: p.topic, partition: p.index, err }, 'adopting a new replica set failed');
            p.endRole();
          }
          continue;
        }
        if (state === null || state.leaderEpoch !== p.leaderEpoch) {
          this.fetchers.remove(p);
          try {
            await p.becomeLeader(brokerEpoch, nowMs);
          } catch (err) {
            this.#logger.error({ topic: p.topic, partition: p.index, err }, 'becoming leader failed; the partition is not served until the next leadership change');
            p.endRole();
          }
          continue;
        }
        const outcome = state.onPartitionMetadata({ leaderId: p.leaderId, leaderEpoch: p.leaderEpoch, partitionEpoch: p.partitionEpoch, isr: p.isr });
        if (outcome.action === 'not-leader') p.endRole();
        else if (outcome.isrChanged || outcome.highWatermarkChanged) p.highWatermarkOrIsrChanged();
      } else if (p.leaderId >= 0) {
        const f = p.followerState;
        if (f === null || f.leaderId !== p.leaderId || f.leaderEpoch !== p.leaderEpoch) {
          p.becomeFollower(brokerEpoch);
          this.fetchers.add(p);
        }
      } else {
        this.fetchers.remove(p);
        p.endRole();
      }
    }
    this.fetchers.endpointsChanged();
  }

  #scheduleIsrCheck(): void {
    // Kafka checks every replica.lag.time.max.ms / 2.
    const intervalMs = Math.max(50, Math.floor(this.#o.replicaLagTimeMaxMs / 2));
    this.#isrTimer = this.#o.timer.after(intervalMs, () => {
      if (this.#closed) return;
      const nowMs = this.#o.clock.nowMs();
      for (const p of this.#o.broker.replicas.allPartitions()) {
        const state = p.leaderState;
        // The rules keep one change pending per partition and propose nothing while it is.
        if (state === null) continue;
        const proposal = state.maybeShrinkIsr(nowMs, this.#o.replicaLagTimeMaxMs);
        if (proposal !== null) {
          this.#logger.info({ topic: p.topic, partition: p.index, isr: state.isr, newIsr: proposal.newIsr }, 'shrinking the ISR: followers have not caught up within replica.lag.time.max.ms');
          this.#send(p, proposal);
        }
      }
      this.#scheduleIsrCheck();
    });
  }

  #maybeExpand(p: Partition): void {
    const state = p.leaderState;
    if (state === null) return;
    const image = this.#o.broker.metadata.image;
    const proposal = state.maybeExpandIsr(this.#o.clock.nowMs(), (id) => image.isUsable(id));
    if (proposal === null) return;
    this.#logger.info({ topic: p.topic, partition: p.index, isr: state.isr, newIsr: proposal.newIsr }, 'expanding the ISR: a follower caught up');
    this.#send(p, proposal);
  }

  /** Sends one ISR change and follows it until the rules settle it (committed, reset, or left to the metadata). */
  #send(p: Partition, proposal: IsrChangeProposal): void {
    const attempt = async (): Promise<void> => {
      const state = p.leaderState;
      if (this.#closed || state === null || state.pendingIsrChange?.proposalId !== proposal.proposalId) return;
      let result;
      try {
        const response = await this.#o.controller.alterPartition(
          {
            brokerId: this.#o.broker.nodeId,
            brokerEpoch: this.#o.brokerEpoch(),
            topics: [{ topicId: p.topicId, partitions: [{ partitionIndex: p.index, leaderEpoch: proposal.leaderEpoch, newIsrWithEpochs: proposal.newIsrWithEpochs, partitionEpoch: proposal.partitionEpoch }] }],
          },
          { timeoutMs: 10_000 },
        );
        result =
          response.errorCode !== ErrorCode.NONE
            ? { errorCode: response.errorCode, leaderEpoch: -1, isr: [], partitionEpoch: -1 }
            : response.topics[0]?.partitions[0] ?? { errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, leaderEpoch: -1, isr: [], partitionEpoch: -1 };
      } catch (err) {
        this.#logger.warn({ topic: p.topic, partition: p.index, err: (err as Error).message }, 'AlterPartition failed; retrying');
        this.#o.timer.after(ALTER_PARTITION_RETRY_MS, () => void attempt());
        return;
      }
      if (p.leaderState !== state) return;
      const outcome = state.onAlterPartitionResult(proposal.proposalId, { errorCode: result.errorCode, leaderEpoch: result.leaderEpoch, isr: result.isr, partitionEpoch: result.partitionEpoch });
      if (outcome.isrChanged || outcome.highWatermarkChanged) p.highWatermarkOrIsrChanged();
      if (outcome.action === 'retry') {
        this.#o.timer.after(ALTER_PARTITION_RETRY_MS, () => void attempt());
        return;
      }
      if (outcome.action === 'committed') this.#logger.info({ topic: p.topic, partition: p.index, isr: state.isr, partitionEpoch: state.partitionEpoch }, 'ISR change committed');
    };
    void attempt();
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#isrTimer?.cancel();
    await this.fetchers.close();
    this.#service?.close();
    if (this.#server !== null) await stopGrpcServer(this.#server);
  }
}
