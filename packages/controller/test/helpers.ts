/** Test plumbing: bounded waits, free ports, temp dirs, and a simulated broker (lifecycle + metadata follower). */
import type { ControllerApi } from '../src/api.ts';
import { MetadataFollower, type MetadataListener } from '../src/follower.ts';
import { BrokerLifecycle } from '../src/lifecycle.ts';

// Ports and bounded waits are the quorum package's test support, shared with its process tests.
export { freePort, waitFor } from '@tributary/quorum/test-support';

/** A broker as the controller sees it: registration + heartbeats, and a metadata follower feeding its offset. */
export class SimBroker {
  readonly brokerId: number;
  readonly follower: MetadataFollower;
  lifecycle: BrokerLifecycle;
  readonly events: string[] = [];
  readonly #client: ControllerApi;
  readonly #heartbeatIntervalMs: number;

  constructor(client: ControllerApi, brokerId: number, opts: { heartbeatIntervalMs?: number; rack?: string | null; listener?: MetadataListener } = {}) {
    this.brokerId = brokerId;
    this.#client = client;
    this.#heartbeatIntervalMs = opts.heartbeatIntervalMs ?? 500;
    this.follower = new MetadataFollower({ client, brokerId, maxWaitMs: 200, listener: opts.listener });
    this.lifecycle = this.#newLifecycle(opts.rack ?? null);
  }

  #newLifecycle(rack: string | null): BrokerLifecycle {
    return new BrokerLifecycle({
      client: this.#client,
      brokerId: this.brokerId,
      listeners: [{ name: 'PLAINTEXT', host: '127.0.0.1', port: 9000 + this.brokerId }],
      rack,
      heartbeatIntervalMs: this.#heartbeatIntervalMs,
      metadataOffset: () => this.follower.lastAppliedOffset,
      onRegistered: (epoch) => this.events.push(`registered:${epoch}`),
      onFenced: () => this.events.push('fenced'),
      onUnfenced: () => this.events.push('unfenced'),
      onShouldShutDown: () => this.events.push('shouldShutDown'),
    });
  }

  start(): this {
    this.follower.start();
    this.lifecycle.start();
    return this;
  }

  /** Stops heartbeating (as if the process hung or died); the follower keeps running. */
  async stopHeartbeats(): Promise<void> {
    await this.lifecycle.stop();
  }

  /** A restart: a new incarnation registers and heartbeats again. */
  restart(): void {
    this.lifecycle = this.#newLifecycle(null);
    this.lifecycle.start();
  }

  async stop(): Promise<void> {
    await this.lifecycle.stop();
    await this.follower.stop();
  }
}
