/**
 * The broker's view of the cluster: the committed metadata image it has applied (and whose partitions it
 * has reconciled locally), plus waits for a condition on it. Handlers read only this, so a broker never
 * answers from metadata the controller quorum has not committed.
 */
import type { Timer } from '@tributary/common';
import { MetadataImage, type BrokerImage } from '@tributary/metadata';
import type { Listener } from './config/broker-config.ts';

/** Parked waits at most; beyond that a wait answers "not yet" at once (bounded memory). */
const MAX_WAITERS = 10_000;

interface Waiter {
  check: (image: MetadataImage) => boolean;
  resolve: (ok: boolean) => void;
  cancel: () => void;
}

export class ClusterMetadata {
  readonly nodeId: number;
  readonly clusterId: string;
  readonly #timer: Timer;
  #image: MetadataImage = MetadataImage.EMPTY;
  #nextOffset = 0;
  readonly #waiters = new Set<Waiter>();

  constructor(nodeId: number, clusterId: string, timer: Timer) {
    this.nodeId = nodeId;
    this.clusterId = clusterId;
    this.#timer = timer;
  }

  get image(): MetadataImage {
    return this.#image;
  }

  /** Everything below this metadata offset is in the image. */
  get nextOffset(): number {
    return this.#nextOffset;
  }

  publish(image: MetadataImage, nextOffset: number): void {
    this.#image = image;
    this.#nextOffset = nextOffset;
    for (const w of [...this.#waiters]) {
      if (!w.check(image)) continue;
      this.#waiters.delete(w);
      w.cancel();
      w.resolve(true);
    }
  }

  /** Resolves true once `check` holds for the applied image, false after `timeoutMs`. */
  waitFor(check: (image: MetadataImage) => boolean, timeoutMs: number): Promise<boolean> {
    if (check(this.#image)) return Promise.resolve(true);
    if (this.#waiters.size >= MAX_WAITERS || timeoutMs <= 0) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const waiter: Waiter = { check, resolve, cancel: () => {} };
      const handle = this.#timer.after(timeoutMs, () => {
        this.#waiters.delete(waiter);
        resolve(false);
      });
      waiter.cancel = () => handle.cancel();
      this.#waiters.add(waiter);
    });
  }

  /** Brokers clients may use: registered and unfenced, by id. */
  liveBrokers(): BrokerImage[] {
    return [...this.#image.brokers.values()].filter((b) => !b.fenced).sort((a, b) => a.brokerId - b.brokerId);
  }

  isLive(brokerId: number): boolean {
    const b = this.#image.broker(brokerId);
    return b !== undefined && !b.fenced;
  }

  /** A broker's address on the named listener (the one the client connected through), or its first. */
  endpoint(brokerId: number, listenerName: string): Listener | null {
    const b = this.#image.broker(brokerId);
    if (b === undefined || b.listeners.length === 0) return null;
    // The replication endpoint is for brokers only; never hand it to a Kafka client.
    const l = b.listeners.find((x) => x.name === listenerName) ?? b.listeners.find((x) => x.name !== 'REPLICATION');
    if (l === undefined) return null;
    return { name: l.name, host: l.host, port: l.port };
  }

  /**
   * The id Metadata and DescribeCluster report as "controller". Clients send admin requests there; every
   * broker forwards them to the active controller, so any live broker is right. Like Kafka, report a live
   * broker: this one when it is live (stable across requests to the same broker), else the lowest live id.
   */
  controllerIdForClients(): number {
    if (this.isLive(this.nodeId)) return this.nodeId;
    return this.liveBrokers()[0]?.brokerId ?? -1;
  }

  /** Topic config overrides as a plain object (what the topic-config helpers take). */
  topicConfigs(name: string): Record<string, string> {
    const m = this.#image.topicConfigs.get(name);
    return m ? Object.fromEntries(m) : {};
  }

  close(): void {
    for (const w of this.#waiters) {
      w.cancel();
      w.resolve(false);
    }
    this.#waiters.clear();
  }
}
