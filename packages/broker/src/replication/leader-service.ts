/**
 * The leader side of replica fetching: answers a follower broker's ReplicaFetch (one request for every partition it
 * follows from this broker). Each partition goes through LeaderPartitionState.onFollowerFetch (epoch fencing,
 * divergence, the follower's progress, the high watermark), then records are read from the fetch offset up to the
 * log end. When nothing is there yet the request long-polls until an append (or the wait ends). A fetch that moved
 * a follower forward may also let it rejoin the ISR.
 */
import type { Logger } from '@tributary/common';
import { ErrorCode } from '@tributary/protocol';
import type { ReplicaFetchHandler, ReplicaFetchPartitionResult, ReplicaFetchRequest, ReplicaFetchResponse } from '@tributary/rpc';
import { OffsetOutOfRangeError } from '@tributary/storage';
import type { Broker } from '../broker.ts';
import type { Partition } from '../partition.ts';
import type { ByteRateThrottle } from './throttle.ts';

const EMPTY = Buffer.alloc(0);
/** A parked fetch re-reads at most this many times before answering with what it has. */
const MAX_WAKEUPS = 64;

export class LeaderFetchService implements ReplicaFetchHandler {
  readonly #broker: Broker;
  readonly #logger: Logger;
  readonly #onIsrCandidate: (p: Partition) => void;

  readonly #throttle: ByteRateThrottle;
  readonly #isThrottled: (p: Partition, replicaId: number) => boolean;

  /** `onIsrCandidate`: a follower of `p` made progress; the ISR may expand. `throttle` caps what replicas being added get. */
  constructor(broker: Broker, onIsrCandidate: (p: Partition) => void, throttle: ByteRateThrottle, isThrottled: (p: Partition, replicaId: number) => boolean) {
    this.#broker = broker;
    this.#throttle = throttle;
    this.#isThrottled = isThrottled;
    this.#logger = broker.logger.child({ component: 'replica-fetch-leader' });
    this.#onIsrCandidate = onIsrCandidate;
  }

  async fetch(request: ReplicaFetchRequest, signal: AbortSignal): Promise<ReplicaFetchResponse> {
    const broker = this.#broker;
    const keys = request.partitions.map((p) => this.#partitionFor(p.topicId, p.partition)?.key).filter((k): k is string => k !== undefined);
    const startMs = broker.clock.monotonicMs();
    for (let wakeups = 0; ; wakeups++) {
      const since = broker.replicas.waiters.sequence();
      const { partitions, bytes, progressed } = await this.#readOnce(request, wakeups === 0);
      const remainingMs = request.maxWaitMs - (broker.clock.monotonicMs() - startMs);
      // A fetch that reported progress (new offsets, a flush) is answered at once so the follower learns the new high
      // watermark; otherwise wait for data.
      if (bytes >= request.minBytes || progressed || remainingMs <= 0 || wakeups >= MAX_WAKEUPS || signal.aborted) {
        return { sequence: request.sequence, errorCode: ErrorCode.NONE, errorMessage: '', partitions };
      }
      await broker.replicas.waiters.wait(keys, remainingMs, signal, since);
    }
  }

  #partitionFor(topicId: string, index: number): Partition | undefined {
    const topic = this.#broker.metadata.image.topicById(topicId);
    if (topic === undefined) return undefined;
    const p = this.#broker.replicas.partition(topic.name, index);
    return p !== undefined && p.topicId === topicId ? p : undefined;
  }

  async #readOnce(request: ReplicaFetchRequest, first: boolean): Promise<{ partitions: ReplicaFetchPartitionResult[]; bytes: number; progressed: boolean }> {
    const broker = this.#broker;
    const nowMs = broker.clock.nowMs();
    let bytes = 0;
    let progressed = false;
    const partitions: ReplicaFetchPartitionResult[] = [];
    for (const req of request.partitions) {
      const out: ReplicaFetchPartitionResult = {
        topicId: req.topicId,
        partition: req.partition,
        errorCode: ErrorCode.NONE,
        highWatermark: -1,
        logStartOffset: -1,
        logEndOffset: -1,
        divergingEpoch: null,
        records: EMPTY,
      };
      partitions.push(out);
      const p = this.#partitionFor(req.topicId, req.partition);
      const state = p?.leaderState ?? null;
      if (p === undefined || state === null || !p.isServingLeader) {
        out.errorCode = broker.metadata.image.topicById(req.topicId)?.partitions[req.partition] === undefined ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : ErrorCode.NOT_LEADER_OR_FOLLOWER;
        continue;
      }
      const decision = state.onFollowerFetch(request.replicaId, {
        replicaEpoch: request.brokerEpoch,
        currentLeaderEpoch: req.currentLeaderEpoch,
        fetchOffset: req.fetchOffset,
        lastFetchedEpoch: req.lastFetchedEpoch,
        flushedOffset: req.flushedOffset,
        nowMs,
      });
      out.highWatermark = decision.highWatermark;
      out.logStartOffset = decision.logStartOffset;
      out.logEndOffset = decision.logEndOffset;
      if (decision.kind === 'error') {
        out.errorCode = decision.errorCode;
        continue;
      }
      if (decision.kind === 'diverging') {
        out.divergingEpoch = { epoch: decision.divergingEpoch.epoch, endOffset: decision.divergingEpoch.endOffset };
        progressed = true;
        continue;
      }
      if (decision.highWatermarkChanged) {
        p.highWatermarkOrIsrChanged();
        // The follower learns the new high watermark now rather than after the long poll.
        if (first) progressed = true;
      }
      if (!state.isr.includes(request.replicaId)) this.#onIsrCandidate(p);
      if (req.fetchOffset >= decision.logEndOffset) continue;
      const throttled = this.#isThrottled(p, request.replicaId);
      if (throttled && !this.#throttle.allows(broker.clock.monotonicMs())) continue;
      const budget = Math.min(req.maxBytes, request.maxBytes - bytes);
      const minOneMessage = bytes === 0;
      if (budget <= 0 && !minOneMessage) continue;
      try {
        const read = await p.log.read(req.fetchOffset, { maxBytes: Math.max(0, budget), minOneMessage });
        out.records = read.records;
        bytes += read.records.length;
        if (throttled) this.#throttle.record(read.records.length, broker.clock.monotonicMs());
      } catch (err) {
        if (err instanceof OffsetOutOfRangeError) {
          out.errorCode = ErrorCode.OFFSET_OUT_OF_RANGE;
          out.logStartOffset = p.log.logStartOffset;
          out.logEndOffset = p.log.logEndOffset;
        } else {
          this.#logger.error({ topic: p.topic, partition: p.index, err }, 'replica fetch read failed');
          out.errorCode = ErrorCode.KAFKA_STORAGE_ERROR;
        }
      }
    }
    return { partitions, bytes, progressed };
  }
}
