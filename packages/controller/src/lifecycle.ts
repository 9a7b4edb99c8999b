/**
 * BrokerLifecycle (registerAndHeartbeat): a broker's side of registration, heartbeats and controlled shutdown.
 *
 *   registering --registered--> fenced --heartbeat: not fenced--> unfenced
 *   unfenced --heartbeat: fenced (session expired, wantFence)--> fenced
 *   any --controlledShutdown()--> shutting-down --heartbeat: shouldShutDown--> shut-down (loop ends)
 *   any --STALE_BROKER_EPOCH / BROKER_ID_NOT_REGISTERED--> registering (same incarnation, new epoch)
 *
 * Heartbeats go out every `heartbeatIntervalMs` (broker.heartbeat.interval.ms, 2000), faster while fenced or shutting
 * down so a caught-up broker is unfenced, and a shutting-down one released, without waiting a whole interval. Every
 * call is bounded by `requestTimeoutMs`; failed calls are retried with backoff, forever, until stop().
 */
import { silentLogger, type Logger } from '@tributary/common';
import { randomUuid, type BrokerListener, type BrokerRegistrationFeature } from '@tributary/metadata';
import { cryptoRng } from '@tributary/quorum';
import type { ControllerApi } from './api.ts';
import { ErrorCode } from './errors.ts';

export type BrokerLifecycleState = 'registering' | 'fenced' | 'unfenced' | 'shutting-down' | 'shut-down' | 'stopped';

export interface BrokerLifecycleOptions {
  client: ControllerApi;
  brokerId: number;
  /** New per process start (default: a random uuid, Kafka's 22-character base64url text). */
  incarnationId?: string;
  listeners: readonly BrokerListener[];
  rack?: string | null;
  features?: readonly BrokerRegistrationFeature[];
  /** broker.heartbeat.interval.ms */
  heartbeatIntervalMs?: number;
  /** Interval while fenced or shutting down (default min(heartbeatIntervalMs, 200)). */
  fastHeartbeatIntervalMs?: number;
  /** The last metadata offset this broker has applied (MetadataFollower.lastAppliedOffset). */
  metadataOffset: () => number;
  /** One registration or heartbeat call, retries to other controllers included. Default 5 s. */
  requestTimeoutMs?: number;
  onRegistered?: (brokerEpoch: number) => void;
  onFenced?: () => void;
  onUnfenced?: () => void;
  onShouldShutDown?: () => void;
  onError?: (err: unknown) => void;
  logger?: Logger;
}

export class BrokerLifecycle {
  readonly brokerId: number;
  readonly incarnationId: string;
  readonly #opts: BrokerLifecycleOptions;
  readonly #intervalMs: number;
  readonly #fastIntervalMs: number;
  readonly #requestTimeoutMs: number;
  readonly #logger: Logger;
  #state: BrokerLifecycleState = 'registering';
  #brokerEpoch = -1;
  #caughtUp = false;
  #wantFence = false;
  #wantShutDown = false;
  #running: Promise<void> | null = null;
  #wake: (() => void) | null = null;
  #shutdownWaiters: ((done: boolean) => void)[] = [];
  readonly stats = { registrations: 0, heartbeats: 0, errors: 0 };

  constructor(opts: BrokerLifecycleOptions) {
    this.#opts = opts;
    this.brokerId = opts.brokerId;
    this.incarnationId = opts.incarnationId ?? randomUuid(cryptoRng, () => false);
    this.#intervalMs = opts.heartbeatIntervalMs ?? 2000;
    this.#fastIntervalMs = opts.fastHeartbeatIntervalMs ?? Math.min(this.#intervalMs, 200);
    this.#requestTimeoutMs = opts.requestTimeoutMs ?? 5000;
    this.#logger = (opts.logger ?? silentLogger).child({ component: 'broker-lifecycle', broker: opts.brokerId });
    if (!(this.#intervalMs > 0 && this.#fastIntervalMs > 0)) throw new Error('heartbeat intervals must be positive');
  }

  get state(): BrokerLifecycleState {
    return this.#state;
  }

  /** -1 until registered. */
  get brokerEpoch(): number {
    return this.#brokerEpoch;
  }

  get isFenced(): boolean {
    return this.#state !== 'unfenced';
  }

  get isCaughtUp(): boolean {
    return this.#caughtUp;
  }

  start(): void {
    if (this.#running !== null) return;
    this.#running = this.#loop();
  }

  /** Ask the controller to fence (true) or stop fencing (false) this broker, e.g. while its log dirs are offline. */
  setWantFence(wantFence: boolean): void {
    this.#wantFence = wantFence;
    this.#wake?.();
  }

  /**
   * Controlled shutdown: heartbeats ask for it until the controller has moved every leadership away and answers
   * shouldShutDown (committed). True then; false if `timeoutMs` passes first (the caller shuts down anyway).
   */
  controlledShutdown(timeoutMs: number): Promise<boolean> {
    if (this.#state === 'shut-down') return Promise.resolve(true);
    if (this.#state === 'stopped') return Promise.resolve(false);
    this.#wantShutDown = true;
    if (this.#state === 'fenced' || this.#state === 'unfenced') this.#state = 'shutting-down';
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#shutdownWaiters = this.#shutdownWaiters.filter((w) => w !== waiter);
        resolve(false);
      }, timeoutMs);
      const waiter = (done: boolean): void => {
        clearTimeout(timer);
        resolve(done);
      };
      this.#shutdownWaiters.push(waiter);
      this.#wake?.();
    });
  }

  /** Stops heartbeating (the session then expires unless the broker comes back). */
  async stop(): Promise<void> {
    if (this.#state !== 'shut-down') this.#state = 'stopped';
    this.#wake?.();
    await this.#running;
    for (const w of this.#shutdownWaiters.splice(0)) w(this.#state === 'shut-down');
  }

  get #done(): boolean {
    return this.#state === 'stopped' || this.#state === 'shut-down';
  }

  async #loop(): Promise<void> {
    let backoff = 50;
    // Runs until stop() or shouldShutDown; each round is one bounded call and one bounded sleep.
    while (!this.#done) {
      let delayMs: number;
      try {
        delayMs = this.#brokerEpoch < 0 ? await this.#register() : await this.#heartbeat();
        backoff = 50;
      } catch (err) {
        this.stats.errors++;
        this.#logger.debug({ err: String(err), state: this.#state }, 'controller call failed');
        this.#opts.onError?.(err);
        delayMs = backoff * (0.5 + Math.random() / 2);
        backoff = Math.min(backoff * 2, this.#intervalMs);
      }
      if (this.#done) break;
      if (delayMs > 0) await this.#sleep(delayMs);
    }
    for (const w of this.#shutdownWaiters.splice(0)) w(this.#state === 'shut-down');
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#wake = null;
        resolve();
      }, ms);
      this.#wake = () => {
        clearTimeout(timer);
        this.#wake = null;
        resolve();
      };
    });
  }

  /** Returns how long to wait before the next call. */
  async #register(): Promise<number> {
    this.stats.registrations++;
    const r = await this.#opts.client.registerBroker(
      { brokerId: this.brokerId, incarnationId: this.incarnationId, listeners: this.#opts.listeners, rack: this.#opts.rack ?? null, features: this.#opts.features ?? [] },
      { timeoutMs: this.#requestTimeoutMs },
    );
    if (r.errorCode !== ErrorCode.NONE) {
      // DUPLICATE_BROKER_REGISTRATION: an older incarnation's session is still valid; it expires within the session
      // timeout. Anything else is a configuration problem worth repeating in the logs.
      this.#logger.warn({ errorCode: r.errorCode, errorMessage: r.errorMessage }, 'registration refused');
      this.#opts.onError?.(new Error(`registration refused (${r.errorCode}): ${r.errorMessage}`));
      return this.#intervalMs;
    }
    this.#brokerEpoch = r.brokerEpoch;
    this.#caughtUp = false;
    const wasUnfenced = this.#state === 'unfenced';
    this.#state = this.#wantShutDown ? 'shutting-down' : 'fenced';
    this.#logger.info({ brokerEpoch: r.brokerEpoch, incarnationId: this.incarnationId }, 'registered');
    if (wasUnfenced) this.#opts.onFenced?.();
    this.#opts.onRegistered?.(r.brokerEpoch);
    return 0;
  }

  async #heartbeat(): Promise<number> {
    this.stats.heartbeats++;
    const epoch = this.#brokerEpoch;
    const r = await this.#opts.client.brokerHeartbeat(
      { brokerId: this.brokerId, brokerEpoch: epoch, currentMetadataOffset: this.#opts.metadataOffset(), wantFence: this.#wantFence, wantShutDown: this.#wantShutDown },
      { timeoutMs: this.#requestTimeoutMs },
    );
    if (this.#done || epoch !== this.#brokerEpoch) return 0;
    if (r.errorCode === ErrorCode.STALE_BROKER_EPOCH || r.errorCode === ErrorCode.BROKER_ID_NOT_REGISTERED) {
      this.#logger.warn({ errorCode: r.errorCode, errorMessage: r.errorMessage }, 'registration lost; registering again');
      this.#brokerEpoch = -1;
      if (this.#state === 'unfenced') {
        this.#state = 'fenced';
        this.#opts.onFenced?.();
      }
      if (!this.#wantShutDown) this.#state = 'registering';
      return 0;
    }
    if (r.errorCode !== ErrorCode.NONE) throw new Error(`heartbeat refused (${r.errorCode}): ${r.errorMessage}`);
    this.#caughtUp = r.isCaughtUp;
    if (r.shouldShutDown) {
      this.#state = 'shut-down';
      this.#logger.info({}, 'controlled shutdown complete');
      this.#opts.onShouldShutDown?.();
      for (const w of this.#shutdownWaiters.splice(0)) w(true);
      return 0;
    }
    if (this.#wantShutDown) {
      this.#state = 'shutting-down';
    } else if (r.isFenced && this.#state === 'unfenced') {
      this.#state = 'fenced';
      this.#logger.info({}, 'fenced');
      this.#opts.onFenced?.();
    } else if (!r.isFenced && this.#state !== 'unfenced') {
      this.#state = 'unfenced';
      this.#logger.info({}, 'unfenced');
      this.#opts.onUnfenced?.();
    }
    const waiting = this.#wantShutDown || (this.#state !== 'unfenced' && !this.#wantFence);
    return waiting ? this.#fastIntervalMs : this.#intervalMs;
  }
}

/** Registers the broker and keeps heartbeating (BrokerLifecycle, started). */
export function registerAndHeartbeat(opts: BrokerLifecycleOptions): BrokerLifecycle {
  const lifecycle = new BrokerLifecycle(opts);
  lifecycle.start();
  return lifecycle;
}
