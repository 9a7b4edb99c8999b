/**
 * The follower side: one fetch loop per leader broker, carrying every partition this broker follows from it over
 * one ReplicaFetch stream. Each round sends, per partition, what FollowerPartitionState asks (fetch offset, last
 * fetched epoch, current leader epoch, the flushed offset) and applies its decision on the answer: append the records
 * unchanged (the leader's offsets and epochs), truncate to a diverging epoch (KIP-279), restart the log at the
 * leader's start, wait for metadata, or back off. In fsync mode the appended partitions are flushed (one fsync per
 * partition per round) before the next fetch, which reports the new flushed offset and so lets the leader's high
 * watermark move.
 */
import type { Clock, Logger, Rng, Timer } from '@tributary/common';
import { ErrorCode } from '@tributary/protocol';
import { ReplicaFetchClient, type ReplicaFetchPartition, type ReplicaFetchPartitionResult } from '@tributary/rpc';
import type { Partition } from '../partition.ts';
import { ByteRateThrottle } from './throttle.ts';

export interface ReplicaFetcherOptions {
  nodeId: number;
  clusterId: string;
  brokerEpoch: () => number;
  /** The leader's replication endpoint (host:port) from the metadata, or null when it has none (yet). */
  endpointOf: (brokerId: number) => string | null;
  clock: Clock;
  timer: Timer;
  rng: Rng;
  logger: Logger;
  /** replica.fetch.wait.max.ms */
  maxWaitMs?: number;
  /** replica.fetch.max.bytes (per partition) */
  partitionMaxBytes?: number;
  /** replica.fetch.response.max.bytes */
  maxBytes?: number;
  /** replica.fetch.backoff.ms */
  backoffMs?: number;
  /** Called after a follower's high watermark moved or its log changed (tests, metrics). */
  onProgress?: (p: Partition) => void;
  /** follower.replication.throttled.rate, for the partitions `isThrottled` names (replicas being added). */
  throttle?: ByteRateThrottle;
  isThrottled?: (p: Partition) => boolean;
}

export class ReplicaFetcherManager {
  readonly #opts: FetcherSettings;
  readonly #fetchers = new Map<number, LeaderFetcher>();
  #closed = false;

  constructor(opts: ReplicaFetcherOptions) {
    this.#opts = {
      maxWaitMs: 500,
      partitionMaxBytes: 1024 * 1024,
      maxBytes: 10 * 1024 * 1024,
      backoffMs: 1000,
      throttle: new ByteRateThrottle(Number.MAX_SAFE_INTEGER, 0),
      isThrottled: () => false,
      ...opts,
    };
  }

  /** Follow `p` from its current leader (the partition's followerState names it). */
  add(p: Partition): void {
    if (this.#closed || p.followerState === null) return;
    this.remove(p);
    const leaderId = p.followerState.leaderId;
    let fetcher = this.#fetchers.get(leaderId);
    if (fetcher === undefined) {
      fetcher = new LeaderFetcher(leaderId, this.#opts);
      this.#fetchers.set(leaderId, fetcher);
      fetcher.start();
    }
    fetcher.add(p);
  }

  remove(p: Partition): void {
    for (const [leaderId, f] of this.#fetchers) {
      if (!f.remove(p)) continue;
      if (f.size === 0) {
        this.#fetchers.delete(leaderId);
        void f.stop();
      }
    }
  }

  /** Partitions (by key) each leader fetcher carries: tests and status. */
  assignments(): Map<number, string[]> {
    return new Map([...this.#fetchers].map(([id, f]) => [id, f.keys()]));
  }

  /** A metadata change may have given a leader an endpoint, or moved it. */
  endpointsChanged(): void {
    for (const f of this.#fetchers.values()) f.wake();
  }

  async close(): Promise<void> {
    this.#closed = true;
    const all = [...this.#fetchers.values()];
    this.#fetchers.clear();
    await Promise.all(all.map((f) => f.stop()));
  }
}

type FetcherSettings = Required<Omit<ReplicaFetcherOptions, 'onProgress'>> & Pick<ReplicaFetcherOptions, 'onProgress'>;

class LeaderFetcher {
  readonly leaderId: number;
  readonly #opts: FetcherSettings;
  readonly #partitions = new Map<string, Partition>();
  readonly #logger: Logger;
  #client: ReplicaFetchClient | null = null;
  #running: Promise<void> | null = null;
  #stopped = false;
  #wake: (() => void) | null = null;

  constructor(leaderId: number, opts: FetcherSettings) {
    this.leaderId = leaderId;
    this.#opts = opts;
    this.#logger = opts.logger.child({ component: 'replica-fetcher', leader: leaderId });
  }

  get size(): number {
    return this.#partitions.size;
  }

  keys(): string[] {
    return [...this.#partitions.keys()];
  }

  add(p: Partition): void {
    this.#partitions.set(p.key, p);
    this.wake();
  }

  remove(p: Partition): boolean {
    const had = this.#partitions.get(p.key) === p;
    if (had) this.#partitions.delete(p.key);
    return had;
  }

  wake(): void {
    this.#wake?.();
  }

  start(): void {
    this.#running = this.#loop().catch((err) => this.#logger.error({ err }, 'replica fetcher stopped on an unexpected error'));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.wake();
    this.#client?.close();
    await this.#running;
  }

  #sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const handle = this.#opts.timer.after(ms, () => {
        this.#wake = null;
        resolve();
      });
      this.#wake = () => {
        handle.cancel();
        this.#wake = null;
        resolve();
      };
    });
  }

  async #loop(): Promise<void> {
    const o = this.#opts;
    // Bounded by stop(): every iteration either fetches (bounded by the request deadline) or sleeps.
    while (!this.#stopped) {
      if (this.#partitions.size === 0) {
        await this.#sleep(o.backoffMs);
        continue;
      }
      const address = o.endpointOf(this.leaderId);
      if (address === null) {
        await this.#sleep(o.backoffMs);
        continue;
      }
      if (this.#client === null || this.#client.address !== address) {
        this.#client?.close();
        this.#client = new ReplicaFetchClient({ address, timer: o.timer, clock: o.clock, rng: o.rng, logger: this.#logger });
      }
      // Replicas being added in a reassignment sit out a round while the throttle is in debt.
      const throttleOpen = o.throttle.allows(o.clock.monotonicMs());
      const asked = [...this.#partitions.values()].filter((p) => p.followerState !== null && p.followerState.leaderId === this.leaderId && (throttleOpen || !o.isThrottled(p)));
      if (asked.length === 0) {
        await this.#sleep(Math.max(1, Math.min(o.backoffMs, o.throttle.delayMs(o.clock.monotonicMs()))));
        continue;
      }
      const partitions: ReplicaFetchPartition[] = asked.map((p) => {
        const r = p.followerState!.fetchRequest();
        return {
          topicId: p.topicId,
          partition: p.index,
          currentLeaderEpoch: r.currentLeaderEpoch,
          fetchOffset: r.fetchOffset,
          lastFetchedEpoch: r.lastFetchedEpoch,
          logStartOffset: r.logStartOffset,
          flushedOffset: r.flushedOffset,
          maxBytes: o.partitionMaxBytes,
        };
      });
      let response;
      try {
        response = await this.#client.fetch({ clusterId: o.clusterId, replicaId: o.nodeId, brokerEpoch: o.brokerEpoch(), maxWaitMs: o.maxWaitMs, minBytes: 1, maxBytes: o.maxBytes, partitions });
      } catch (err) {
        if (this.#stopped) return;
        this.#logger.warn({ err: (err as Error).message, address }, `fetching from leader ${this.leaderId} failed; retrying after ${o.backoffMs} ms`);
        await this.#sleep(o.backoffMs);
        continue;
      }
      if (response.errorCode !== ErrorCode.NONE) {
        this.#logger.warn({ errorCode: response.errorCode, message: response.errorMessage }, `leader ${this.leaderId} refused the replica fetch; retrying after ${o.backoffMs} ms`);
        await this.#sleep(o.backoffMs);
        continue;
      }
      let backoff = false;
      const appended: Partition[] = [];
      for (let i = 0; i < response.partitions.length && !this.#stopped; i++) {
        const p = asked[i]!;
        const r = response.partitions[i]!;
        if (r.records.length > 0 && o.isThrottled(p)) o.throttle.record(r.records.length, o.clock.monotonicMs());
        // The partition may have changed role while the fetch was out: only its current follower state decides.
        if (this.#partitions.get(p.key) !== p || p.followerState === null || p.followerState.leaderEpoch !== partitions[i]!.currentLeaderEpoch) continue;
        try {
          const outcome = await this.#apply(p, r);
          if (outcome === 'appended') appended.push(p);
          if (outcome === 'backoff') backoff = true;
        } catch (err) {
          this.#logger.error({ topic: p.topic, partition: p.index, err }, 'applying fetched data failed; retrying the partition');
          backoff = true;
        }
      }
      // fsync mode: the next fetch reports what is on disk; one flush per appended partition per round (group commit),
      // the partitions' flushes side by side (each log has its own files; the disk queues them together).
      await Promise.all(
        appended
          .filter((p) => p.durability === 'fsync')
          .map((p) => p.log.flush().catch((err: unknown) => this.#logger.error({ topic: p.topic, partition: p.index, err }, 'flushing a follower log failed'))),
      );
      if (backoff) await this.#sleep(o.backoffMs);
    }
  }

  async #apply(p: Partition, r: ReplicaFetchPartitionResult): Promise<'appended' | 'backoff' | 'none'> {
    const state = p.followerState!;
    const action = state.onFetchResponse({ errorCode: r.errorCode, highWatermark: r.highWatermark, logStartOffset: r.logStartOffset, logEndOffset: r.logEndOffset, divergingEpoch: r.divergingEpoch });
    switch (action.kind) {
      case 'append': {
        let appended = false;
        if (r.records.length > 0) {
          await p.log.appendAsFollower(r.records);
          appended = true;
        }
        if (state.onRecordsAppended(r.highWatermark) || appended) this.#opts.onProgress?.(p);
        return appended ? 'appended' : 'none';
      }
      case 'truncate':
        if (action.belowHighWatermark) this.#logger.warn({ topic: p.topic, partition: p.index, offset: action.offset, highWatermark: state.highWatermark }, 'truncating below the high watermark');
        await p.log.truncateTo(action.offset);
        state.onTruncated();
        this.#opts.onProgress?.(p);
        return 'none';
      case 'truncate-fully':
        await p.log.truncateFullyAndStartAt(action.startOffset);
        state.onTruncated();
        this.#opts.onProgress?.(p);
        return 'none';
      case 'none':
        return 'none';
      case 'await-metadata':
        // The leader says we are behind the metadata: keep asking slowly; the next metadata change re-adds us anyway.
        return 'backoff';
      case 'retry':
        return 'backoff';
    }
  }
}
