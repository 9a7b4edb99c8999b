/**
 * The broker: the Kafka request handlers over the replica manager, topic registry and group
 * coordinator. The network layer (in @tributary/server) decodes frames and calls `handle`;
 * everything here works on decoded bodies and returns response bodies, so it is testable
 * without sockets.
 */
import { BufferPool, type Clock, type Logger, type Rng, type Timer } from '@tributary/common';
import { ApiKey, ErrorCode, type RequestHeader } from '@tributary/protocol';
import type { FileSystem } from '@tributary/storage';
import { advertisedRange, assertProfileWithinCodec } from './api-versions.ts';
import type { BrokerConfig, Listener } from './config/broker-config.ts';
import { TopicRegistry } from './metadata/topic-registry.ts';
import { ProducerIdManager } from './producer-id-manager.ts';
import { ReplicaManager } from './replica-manager.ts';
import { handlers, type Handler } from './handlers/index.ts';
import { GroupCoordinator } from './group/index.ts';
import { createGroupStore } from './group-store.ts';

export interface RequestContext {
  header: RequestHeader;
  clientHost: string;
  /** Aborted when the connection closes, so parked requests stop waiting. */
  signal: AbortSignal;
}

export interface BrokerOptions {
  config: BrokerConfig;
  fs: FileSystem;
  clock: Clock;
  timer: Timer;
  rng: Rng;
  logger: Logger;
  /** 16 random bytes as base64url: topic ids and generated cluster ids. */
  newUuid: () => string;
}

/** How often partitions with a finite flush.ms are checked when log.flush.scheduler.interval.ms is unset. */
const FLUSH_CHECK_INTERVAL_MS = 1000;

export const NO_RESPONSE = Symbol('no response');
export type HandlerResult = object | typeof NO_RESPONSE;

export class Broker {
  readonly config: BrokerConfig;
  readonly nodeId: number;
  readonly clock: Clock;
  readonly timer: Timer;
  readonly logger: Logger;
  readonly registry: TopicRegistry;
  readonly replicas: ReplicaManager;
  readonly producerIds: ProducerIdManager;
  readonly groups: GroupCoordinator;
  readonly newUuid: () => string;
  /**
   * Buffers that fetch reads land in. The network layer releases a response's record buffers once the
   * socket is done with them (see BufferPool's rule), so consumers reading from page cache reuse warm memory.
   */
  readonly readPool = new BufferPool({ minBytes: 64 * 1024, maxPooledBytes: 128 * 1024 * 1024 });
  readonly #advertised: Listener;
  #retentionTimer: { cancel(): void } | null = null;
  #flushTimer: { cancel(): void } | null = null;
  #cleanerTimer: { cancel(): void } | null = null;
  #stopGroupStore: () => void = () => {};
  #closed = false;

  private constructor(opts: BrokerOptions, registry: TopicRegistry, replicas: ReplicaManager, groups: GroupCoordinator, advertised: Listener) {
    this.config = opts.config;
    this.nodeId = opts.config.nodeId;
    this.clock = opts.clock;
    this.timer = opts.timer;
    this.logger = opts.logger;
    this.newUuid = opts.newUuid;
    this.registry = registry;
    this.replicas = replicas;
    this.groups = groups;
    this.producerIds = new ProducerIdManager(registry);
    this.#advertised = advertised;
  }

  static async start(opts: BrokerOptions, advertised: Listener): Promise<Broker> {
    assertProfileWithinCodec();
    const { config, fs, logger } = opts;
    const dataDir = config.dataDir;
    await fs.mkdir(dataDir);
    const registry = await TopicRegistry.open({ fs, dataDir, nodeId: config.nodeId, clusterId: config.str('cluster.id'), newClusterId: opts.newUuid });
    const replicas = new ReplicaManager({ fs, dataDir, registry, brokerDefaults: config, clock: opts.clock, timer: opts.timer, logger });
    await replicas.start();
    const { coordinator, stop: stopGroupStore } = await createGroupStore({ config, replicas, clock: opts.clock, timer: opts.timer, rng: opts.rng, logger, newUuid: opts.newUuid });
    const broker = new Broker(opts, registry, replicas, coordinator, advertised);
    broker.#stopGroupStore = stopGroupStore;
    broker.#scheduleRetention();
    broker.#scheduleFlush();
    if (opts.config.bool('log.cleaner.enable')) broker.#scheduleCleaner();
    return broker;
  }

  get clusterId(): string {
    return this.registry.clusterId;
  }

  /** The single broker of this cluster as clients should reach it. */
  get advertisedListener(): Listener {
    return this.#advertised;
  }

  /** Handles one decoded request. Never throws for a client's mistake: errors become error codes. */
  async handle(ctx: RequestContext, body: any): Promise<HandlerResult> {
    const handler: Handler | undefined = handlers.get(ctx.header.apiKey);
    if (!handler) throw new Error(`no handler for api key ${ctx.header.apiKey}`);
    return handler(this, ctx, body);
  }

  /**
   * Whether the connection may start the next request before this one completes. True only for a
   * Produce whose every partition exists here: its handler queues the appends synchronously, in
   * request order, so overlapping keeps the log order of pipelined produces.
   */
  isPipelineSafe(apiKey: number, body: any): boolean {
    if (apiKey !== ApiKey.Produce) return false;
    for (const t of body.topicData as any[]) {
      for (const p of t.partitionData as any[]) if (this.replicas.partition(t.name, p.index) === undefined) return false;
    }
    return true;
  }

  isAdvertised(apiKey: number, version: number): boolean {
    const r = advertisedRange(apiKey);
    if (!r) return false;
    if (apiKey === ApiKey.Produce && version < 3) return true;
    return version >= r.minVersion && version <= r.maxVersion;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#retentionTimer?.cancel();
    this.#flushTimer?.cancel();
    this.#cleanerTimer?.cancel();
    this.#stopGroupStore();
    this.groups.close();
    await this.replicas.close();
  }

  /** flush.ms needs a clock tick even when a partition receives no appends. */
  #scheduleFlush(): void {
    const configured = this.config.int('log.flush.scheduler.interval.ms');
    const intervalMs = configured >= Number.MAX_SAFE_INTEGER ? FLUSH_CHECK_INTERVAL_MS : configured;
    this.#flushTimer = this.timer.after(intervalMs, () => {
      if (this.#closed) return;
      this.replicas
        .flushDue()
        .catch((err) => this.logger.error({ err }, 'flush pass failed'))
        .finally(() => !this.#closed && this.#scheduleFlush());
    });
  }

  #scheduleCleaner(): void {
    this.#cleanerTimer = this.timer.after(this.config.int('log.cleaner.backoff.ms'), () => {
      if (this.#closed) return;
      this.replicas
        .compactDue(this.config.int('log.cleaner.dedupe.buffer.size'))
        .catch((err) => this.logger.error({ err }, 'cleaner round failed'))
        .finally(() => !this.#closed && this.#scheduleCleaner());
    });
  }

  #scheduleRetention(): void {
    const intervalMs = this.config.int('log.retention.check.interval.ms');
    this.#retentionTimer = this.timer.after(intervalMs, () => {
      if (this.#closed) return;
      this.replicas
        .enforceRetention()
        .then((n) => n > 0 && this.logger.info({ deletedSegments: n }, 'retention deleted segments'))
        .catch((err) => this.logger.error({ err }, 'retention pass failed'))
        .finally(() => !this.#closed && this.#scheduleRetention());
    });
  }
}

export { ErrorCode };
