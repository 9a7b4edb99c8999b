/**
 * The broker: the Kafka request handlers over the replica manager, the cluster metadata and the group
 * coordinator. It registers with the controller quorum and heartbeats (BrokerLifecycle), follows the
 * committed metadata (MetadataFollower) and makes its partition logs follow it; admin requests go to the
 * active controller. The network layer (in @tributary/server) decodes frames and calls `handle`; everything
 * here works on decoded bodies and returns response bodies, so it is testable without sockets.
 */
import { hostname } from 'node:os';
import { BufferPool, type Clock, type Logger, type Rng, type Timer } from '@tributary/common';
import { MetadataFollower, registerAndHeartbeat, type BrokerLifecycle, type ControllerApi, type MetadataUpdate } from '@tributary/controller';
import { ApiKey, ErrorCode, type RequestHeader } from '@tributary/protocol';
import type { FileSystem } from '@tributary/storage';
import { advertisedRange, assertProfileWithinCodec } from './api-versions.ts';
import type { BrokerConfig, Listener } from './config/broker-config.ts';
import { ClusterMetadata } from './cluster-metadata.ts';
import { ProducerIdManager } from './producer-id-manager.ts';
import { ReplicaManager } from './replica-manager.ts';
import { handlers, type Handler } from './handlers/index.ts';
import { GroupCoordinator } from './group/index.ts';
import { createGroupStore, OFFSETS_TOPIC, type GroupStore } from './group-store.ts';
import { REPLICATION_LISTENER, ReplicationManager } from './replication/manager.ts';
import { ReplicationThrottleConfig } from './replication/throttle-config.ts';

export interface RequestContext {
  header: RequestHeader;
  clientHost: string;
  /** Aborted when the connection closes, so parked requests stop waiting. */
  signal: AbortSignal;
  /** The listener the request arrived on: Metadata answers with the brokers' addresses on the same one. */
  listenerName?: string;
}

export interface BrokerOptions {
  config: BrokerConfig;
  fs: FileSystem;
  clock: Clock;
  timer: Timer;
  rng: Rng;
  logger: Logger;
  /** 16 random bytes as base64url: incarnation ids. */
  newUuid: () => string;
  /** The controller quorum (a ControllerClient; in process for a combined node). */
  controller: ControllerApi;
  clusterId: string;
  /** Client listeners as clients reach them, registered with the controller. */
  advertised: Listener[];
  /** The controller quorum's voters, id -> host:port of their controller listener (DescribeQuorum v2). */
  voters: ReadonlyMap<number, string>;
  /**
   * A partition log broke (failed fsync or disk error) and refuses writes until reopened. Kafka takes the log dir
   * offline and, with no log dir left, stops the broker; the node does the same (see packages/server). Unset: logged.
   */
  onStorageFailure?: (dir: string, err: Error) => void;
}

/** How often partitions with a finite flush.ms are checked when log.flush.scheduler.interval.ms is unset. */
const FLUSH_CHECK_INTERVAL_MS = 1000;
/** Bound on waiting for the local metadata to show this broker unfenced before declaring it ready. */
const READY_WAIT_MS = 10_000;
/** How long stopping waits for the metadata follower and the heartbeat loop to finish their current call. */
const STOP_WAIT_MS = 1_000;

/** Waits for `promise` (ignoring its outcome) or `ms`, whichever comes first. */
function settleWithin(promise: Promise<unknown>, ms: number, timer: Timer): Promise<void> {
  return new Promise<void>((resolve) => {
    const handle = timer.after(ms, resolve);
    promise.then(
      () => {
        handle.cancel();
        resolve();
      },
      () => {
        handle.cancel();
        resolve();
      },
    );
  });
}

/** How long a stopping broker waits for the controller to move its leaderships away. */
const CONTROLLED_SHUTDOWN_TIMEOUT_MS = 10_000;

export const NO_RESPONSE = Symbol('no response');
export type HandlerResult = object | typeof NO_RESPONSE;

export class Broker {
  readonly config: BrokerConfig;
  readonly nodeId: number;
  readonly clock: Clock;
  readonly timer: Timer;
  readonly logger: Logger;
  readonly metadata: ClusterMetadata;
  readonly controller: ControllerApi;
  readonly replicas: ReplicaManager;
  readonly producerIds: ProducerIdManager;
  readonly groups: GroupCoordinator;
  readonly newUuid: () => string;
  /**
   * Buffers that fetch reads land in. The network layer releases a response's record buffers once the
   * socket is done with them (see BufferPool's rule), so consumers reading from page cache reuse warm memory.
   */
  readonly readPool = new BufferPool({ minBytes: 64 * 1024, maxPooledBytes: 128 * 1024 * 1024 });
  /** Resolves once the broker is registered, caught up with the metadata and unfenced for the first time. */
  readonly ready: Promise<void>;
  readonly #advertised: Listener[];
  readonly #voters: ReadonlyMap<number, string>;
  readonly #groupStore: GroupStore;
  readonly #follower: MetadataFollower;
  readonly replication: ReplicationManager;
  readonly #throttleConfig: ReplicationThrottleConfig;
  #lifecycle: BrokerLifecycle | null = null;
  #markReady: () => void = () => {};
  #strayLogsRemoved = false;
  #retentionTimer: { cancel(): void } | null = null;
  #flushTimer: { cancel(): void } | null = null;
  #cleanerTimer: { cancel(): void } | null = null;
  #hwCheckpointTimer: { cancel(): void } | null = null;
  #offsetsTopicCreation: Promise<void> | null = null;
  #closed = false;

  private constructor(opts: BrokerOptions, replicas: ReplicaManager, groupStore: GroupStore) {
    this.config = opts.config;
    this.nodeId = opts.config.nodeId;
    this.clock = opts.clock;
    this.timer = opts.timer;
    this.logger = opts.logger;
    this.newUuid = opts.newUuid;
    this.controller = opts.controller;
    this.metadata = new ClusterMetadata(this.nodeId, opts.clusterId, opts.timer);
    this.replicas = replicas;
    this.#groupStore = groupStore;
    this.groups = groupStore.coordinator;
    this.#advertised = opts.advertised;
    this.#voters = opts.voters;
    this.producerIds = new ProducerIdManager(async () => {
      const epoch = this.#lifecycle?.brokerEpoch ?? -1;
      const r = await this.controller.allocateProducerIds({ brokerId: this.nodeId, brokerEpoch: epoch }, { timeoutMs: 10_000 });
      if (r.errorCode !== ErrorCode.NONE) throw new Error(`the controller refused a producer id block: ${r.errorMessage ?? `error ${r.errorCode}`}`);
      return { start: r.producerIdStart, length: r.producerIdLen };
    });
    this.ready = new Promise<void>((resolve) => {
      this.#markReady = resolve;
    });
    this.replication = new ReplicationManager({
      broker: this,
      controller: opts.controller,
      clusterId: opts.clusterId,
      brokerEpoch: () => this.#lifecycle?.brokerEpoch ?? -1,
      clock: opts.clock,
      timer: opts.timer,
      rng: opts.rng,
      logger: opts.logger,
      replicaLagTimeMaxMs: opts.config.int('replica.lag.time.max.ms'),
      fetchWaitMaxMs: opts.config.int('replica.fetch.wait.max.ms'),
      fetchMaxBytes: opts.config.int('replica.fetch.max.bytes'),
      fetchResponseMaxBytes: opts.config.int('replica.fetch.response.max.bytes'),
      fetchBackoffMs: opts.config.int('replica.fetch.backoff.ms'),
      leaderThrottledRate: opts.config.int('leader.replication.throttled.rate'),
      followerThrottledRate: opts.config.int('follower.replication.throttled.rate'),
    });
    this.#throttleConfig = new ReplicationThrottleConfig({ nodeId: this.nodeId, config: opts.config, leader: this.replication.leaderThrottle, follower: this.replication.followerThrottle, clock: opts.clock, logger: opts.logger });
    this.#follower = new MetadataFollower({
      client: opts.controller,
      brokerId: this.nodeId,
      listener: (u) => this.#onMetadata(u),
      logger: opts.logger.child({ component: 'metadata-follower' }),
      onError: (err) => this.logger.warn({ err }, 'fetching metadata from the controller failed; retrying'),
    });
  }

  static async start(opts: BrokerOptions): Promise<Broker> {
    assertProfileWithinCodec();
    const { config, fs, logger } = opts;
    await fs.mkdir(config.dataDir);
    const onLogFailed = (dir: string, err: Error): void => {
      logger.error({ dir, err: err.message }, 'a partition log failed and refuses writes until reopened');
      opts.onStorageFailure?.(dir, err);
    };
    const replicas = new ReplicaManager({ fs, dataDir: config.dataDir, nodeId: config.nodeId, brokerDefaults: config, clock: opts.clock, timer: opts.timer, logger, onLogFailed });
    const groupStore = createGroupStore({ config, replicas, clock: opts.clock, timer: opts.timer, rng: opts.rng, logger });
    const broker = new Broker(opts, replicas, groupStore);
    // The replication endpoint exists before registration, so other brokers find it in the metadata.
    const replication = replicationAddresses(config);
    let replicationPort: number;
    try {
      replicationPort = await broker.replication.start(replication.listen);
    } catch (err) {
      throw new Error(`cannot serve replication on ${replication.listen}: ${(err as Error).message}; set replication.listener to a free host:port`);
    }
    const replicationEndpoint = { name: REPLICATION_LISTENER, host: replication.advertisedHost, port: replication.advertisedPort ?? replicationPort };
    broker.#follower.start();
    broker.#lifecycle = registerAndHeartbeat({
      client: opts.controller,
      brokerId: config.nodeId,
      incarnationId: opts.newUuid(),
      listeners: [...opts.advertised.map((l) => ({ name: l.name, host: l.host, port: l.port })), replicationEndpoint],
      rack: config.str('broker.rack'),
      heartbeatIntervalMs: config.int('broker.heartbeat.interval.ms'),
      // What this broker serves, not what the follower fetched: caught up only once the logs follow the metadata.
      metadataOffset: () => broker.metadata.nextOffset - 1,
      logger: logger.child({ component: 'broker-lifecycle' }),
      onRegistered: (brokerEpoch) => logger.info({ brokerEpoch }, 'registered with the controller quorum'),
      onFenced: () => logger.warn({}, 'fenced by the controller: not leading partitions until unfenced'),
      onUnfenced: () => broker.#onUnfenced(),
      onError: (err) => logger.warn({ err }, 'broker heartbeat failed; retrying'),
    });
    broker.#scheduleRetention();
    broker.#scheduleFlush();
    broker.#scheduleHighWatermarkCheckpoint();
    if (config.bool('log.cleaner.enable')) broker.#scheduleCleaner();
    return broker;
  }

  get clusterId(): string {
    return this.metadata.clusterId;
  }

  /** This broker's first client listener as clients reach it. */
  get advertisedListener(): Listener {
    return this.#advertised[0]!;
  }

  /** The controller quorum's voters as DescribeQuorum v2 lists them (their controller listener). */
  controllerEndpoints(): { nodeId: number; listeners: { name: string; host: string; port: number }[] }[] {
    const name = this.config.controllerListenerNames[0] ?? 'CONTROLLER';
    return [...this.#voters].map(([nodeId, address]) => {
      const colon = address.lastIndexOf(':');
      return { nodeId, listeners: [{ name, host: address.slice(0, colon), port: Number(address.slice(colon + 1)) }] };
    });
  }

  get lifecycleState(): string {
    return this.#lifecycle?.state ?? 'registering';
  }

  /**
   * Creates `__consumer_offsets` through the controller (once at a time), as Kafka does on the first
   * FindCoordinator. Its replication factor is offsets.topic.replication.factor, lowered to the number of
   * live brokers so a cluster smaller than the setting (one zero-config node) still gets group coordination.
   */
  ensureOffsetsTopic(): void {
    if (this.#offsetsTopicCreation !== null || this.metadata.image.topic(OFFSETS_TOPIC) !== undefined) return;
    const live = this.metadata.liveBrokers().length;
    const wanted = this.config.int('offsets.topic.replication.factor');
    const replicationFactor = Math.max(1, Math.min(wanted, live));
    if (replicationFactor < wanted) this.logger.warn({ wanted, liveBrokers: live }, `creating ${OFFSETS_TOPIC} with replication factor ${replicationFactor}: fewer live brokers than offsets.topic.replication.factor`);
    this.#offsetsTopicCreation = this.controller
      .createTopics({
        topics: [
          {
            name: OFFSETS_TOPIC,
            numPartitions: this.config.int('offsets.topic.num.partitions'),
            replicationFactor,
            assignments: [],
            configs: [
              { name: 'cleanup.policy', value: 'compact' },
              { name: 'segment.bytes', value: String(this.config.int('offsets.topic.segment.bytes')) },
              { name: 'compression.type', value: 'producer' },
            ],
          },
        ],
        validateOnly: false,
      })
      .then((r) => {
        const t = r.topics[0];
        // Created (or already there): it reaches this broker with the metadata; nothing more to ask.
        if (t === undefined || t.errorCode === ErrorCode.NONE || t.errorCode === ErrorCode.TOPIC_ALREADY_EXISTS) return;
        this.logger.warn({ errorCode: t.errorCode, message: t.errorMessage }, `creating ${OFFSETS_TOPIC} failed; will retry on the next FindCoordinator`);
        this.#offsetsTopicCreation = null;
      })
      .catch((err) => {
        this.logger.warn({ err }, `creating ${OFFSETS_TOPIC} failed; will retry on the next FindCoordinator`);
        this.#offsetsTopicCreation = null;
      });
  }

  async #onMetadata(update: MetadataUpdate): Promise<void> {
    if (this.#closed) return;
    // Throttle rates first: a reassignment in this image starts at the rate set before it.
    this.#throttleConfig.apply(update.image);
    const changes = await this.replicas.applyImage(update.image);
    await this.replication.applyRoles(changes.changed, changes.removed);
    this.metadata.publish(update.image, update.nextOffset);
    for (const p of changes.stoppedLeading) if (p.topic === OFFSETS_TOPIC) this.#groupStore.unload(p.index);
    for (const p of changes.becameLeader) if (p.topic === OFFSETS_TOPIC) this.#groupStore.load(p);
    // Create the offsets topic as soon as the cluster has enough brokers for it (the lowest live broker asks),
    // so the first consumer group does not wait for it; FindCoordinator creates it otherwise.
    const live = this.metadata.liveBrokers();
    if (
      update.image.topic(OFFSETS_TOPIC) === undefined &&
      live[0]?.brokerId === this.nodeId &&
      live.length >= this.config.int('offsets.topic.replication.factor')
    ) {
      this.ensureOffsetsTopic();
    }
  }

  #onUnfenced(): void {
    this.logger.info({ brokerEpoch: this.#lifecycle?.brokerEpoch, metadataOffset: this.#follower.lastAppliedOffset }, 'unfenced: caught up with the cluster metadata');
    if (!this.#strayLogsRemoved) {
      this.#strayLogsRemoved = true;
      this.replicas.removeStrayLogs().catch((err) => this.logger.error({ err }, 'removing stray partition logs failed'));
    }
    // Ready once this broker's own metadata shows the unfencing (and the leaderships it brought): a client arriving
    // then finds its partitions led.
    void this.metadata
      .waitFor((image) => image.broker(this.nodeId)?.fenced === false, READY_WAIT_MS)
      .then(() => this.#markReady());
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
      for (const p of t.partitionData as any[]) if (this.replicas.leaderPartition(t.name, p.index) === undefined) return false;
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
    this.#hwCheckpointTimer?.cancel();
    // Controlled shutdown: the controller moves this broker's leaderships to other in-sync replicas before
    // it goes (clients fail over at once instead of after the session timeout) and ends its session fenced,
    // so the next start registers at once instead of waiting out the old session.
    if (this.#lifecycle?.state === 'unfenced') {
      const done = await this.#lifecycle.controlledShutdown(CONTROLLED_SHUTDOWN_TIMEOUT_MS).catch(() => false);
      if (!done) this.logger.warn({ timeoutMs: CONTROLLED_SHUTDOWN_TIMEOUT_MS }, 'controlled shutdown did not finish in time; stopping anyway (leaderships move after the session timeout)');
    }
    this.metadata.close();
    this.#groupStore.stop();
    this.groups.close();
    // Both may be waiting on a controller call (a long poll, a heartbeat); with the quorum gone that call only ends at
    // its timeout, and stopping must not wait for it: the calls' results are ignored once closed.
    await settleWithin(this.#follower.stop(), STOP_WAIT_MS, this.timer);
    await settleWithin(this.#lifecycle?.stop() ?? Promise.resolve(), STOP_WAIT_MS, this.timer);
    await this.replication.close();
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

  /** The next checkpoint is scheduled when the previous write is done, so writes never pile up. */
  #scheduleHighWatermarkCheckpoint(): void {
    this.#hwCheckpointTimer = this.timer.after(this.config.int('replica.high.watermark.checkpoint.interval.ms'), () => {
      if (this.#closed) return;
      void this.replicas.checkpointHighWatermarks().finally(() => !this.#closed && this.#scheduleHighWatermarkCheckpoint());
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

/** Where replica fetches are served (bind) and how other brokers reach them (registered with the controller). */
function replicationAddresses(config: BrokerConfig): { listen: string; advertisedHost: string; advertisedPort: number | null } {
  const split = (key: string, text: string): { host: string; port: number } => {
    const m = /^(\[[^\]]*\]|[^:]*):(\d+)$/.exec(text.trim());
    if (!m || Number(m[2]) > 65535) throw new Error(`${key}=${text} is not host:port`);
    return { host: m[1]!.startsWith('[') ? m[1]!.slice(1, -1) : m[1]!, port: Number(m[2]) };
  };
  const configured = config.str('replication.listener');
  const bindHost = configured !== null ? split('replication.listener', configured).host : (config.clientListeners[0]?.host ?? '');
  const bindPort = configured !== null ? split('replication.listener', configured).port : 0;
  const host = bindHost === '' ? '0.0.0.0' : bindHost;
  const adv = config.str('replication.advertised.listener');
  if (adv !== null) {
    const a = split('replication.advertised.listener', adv);
    return { listen: `${host.includes(':') ? `[${host}]` : host}:${bindPort}`, advertisedHost: a.host, advertisedPort: a.port === 0 ? null : a.port };
  }
  // Bound to every interface: the machine's name is what other brokers on the network (a container network too)
  // resolve; the clients' advertised name may be a host-side alias such as localhost.
  const advHost = host === '0.0.0.0' || host === '::' ? hostname() : host;
  return { listen: `${host.includes(':') ? `[${host}]` : host}:${bindPort}`, advertisedHost: advHost, advertisedPort: bindPort === 0 ? null : bindPort };
}
