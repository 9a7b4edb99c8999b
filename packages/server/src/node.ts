/**
 * A Tributary node: config, storage, and the roles `process.roles` names: a controller quorum voter
 * (ControllerNode on the controller listener), a broker (registered with the quorum, serving Kafka clients on
 * its client listeners), or both in one process (the broker then calls its own controller in process).
 * `startNode` is also the in-process entry point for tests.
 */
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { Broker, BrokerConfig, ConfigError, brokerConfigSchema, type Listener } from '@tributary/broker';
import type { Clock, Logger, Rng, Timer } from '@tributary/common';
import { ControllerClient, ControllerNode } from '@tributary/controller';
import { LazyFileSystem, NodeFileSystem, joinPath, writeFileAtomic, type FileSystem } from '@tributary/storage';
import { configFromEnv, keyToEnvName, parseOverride, parseProperties } from './config-sources.ts';
import { createLogger } from './logger.ts';
import { Connection } from './network/connection.ts';

export interface StartNodeOptions {
  /** A server.properties-style file. */
  configFile?: string;
  /** key=value pairs that win over the file and the environment. */
  overrides?: Record<string, string>;
  /** Environment to read KAFKA_* variables from (default: none for in-process use, process.env for the daemon). */
  env?: Record<string, string | undefined>;
  logger?: Logger;
  /** Storage for every log of the node (tests: a MemoryFileSystem whose crash() is a power loss). Default: the disk. */
  fs?: FileSystem;
  /** A controller failure the process cannot continue from; default: log and exit 70 (a restart recovers). */
  onFatal?: (err: unknown) => void;
}

export interface RunningNode {
  /** The first client listener (for a controller-only node: the controller listener). */
  host: string;
  port: number;
  nodeId: number;
  clusterId: string;
  /** Null on a controller-only node. */
  broker: Broker | null;
  /** Null on a broker-only node. */
  controller: ControllerNode | null;
  /** The bound controller listener port (0 when this node is no controller). */
  controllerPort: number;
  stop(): Promise<void>;
}

export const systemClock: Clock = {
  nowMs: () => Date.now(),
  monotonicMs: () => performance.now(),
};

export const systemTimer: Timer = {
  after(delayMs, fn) {
    const handle = setTimeout(fn, Math.max(0, Math.min(delayMs, 2_147_483_647)));
    handle.unref?.();
    return { cancel: () => clearTimeout(handle) };
  },
};

export const cryptoRng: Rng = {
  // randomInt needs max - min below 2^48.
  next: () => randomInt(0, 2 ** 47) / 2 ** 47,
  int: (bound) => randomInt(0, bound),
};

/** Merges config sources, lowest precedence first: environment, file, overrides. */
export function loadConfig(opts: StartNodeOptions): BrokerConfig {
  // Where each key's winning value came from, so a bad value's error names the place to fix.
  const origin = new Map<string, string>();
  const explicit: Record<string, string> = {};
  const merge = (values: Record<string, string>, from: (key: string) => string): void => {
    for (const [key, value] of Object.entries(values)) {
      explicit[key] = value;
      origin.set(key, from(key));
    }
  };
  merge(configFromEnv(opts.env ?? {}), (key) => `environment variable ${keyToEnvName(key)}`);
  if (opts.configFile) {
    let text: string;
    try {
      text = readFileSync(opts.configFile, 'utf8');
    } catch (err) {
      throw new ConfigError('--config', `cannot read config file ${opts.configFile}: ${(err as Error).message}`);
    }
    const file = opts.configFile;
    merge(parseProperties(text, file), () => `config file ${file}`);
  }
  merge(opts.overrides ?? {}, (key) => `--override ${key}=...`);
  try {
    return new BrokerConfig(explicit);
  } catch (err) {
    const from = err instanceof ConfigError ? origin.get(err.key) : undefined;
    if (from === undefined) throw err;
    throw new ConfigError((err as ConfigError).key, `${(err as Error).message} (set by ${from})`);
  }
}

export { parseOverride };

export async function startNode(opts: StartNodeOptions = {}): Promise<RunningNode> {
  const config = loadConfig(opts);
  const logger = opts.logger ?? createLogger({ node: config.nodeId });
  // TRIB_FAULT_FS=lazy: unsynced writes live in memory only, so kill -9 is a power cut (the harness' power-loss fault).
  const fs = opts.fs ?? (process.env.TRIB_FAULT_FS === 'lazy' ? new LazyFileSystem() : new NodeFileSystem());
  const roles = config.roles;
  await fs.mkdir(config.dataDir);
  const clusterId = await resolveClusterId(fs, config);

  // The controller first: a broker in the same process needs it to register.
  let controller: ControllerNode | null = null;
  let voters = config.voters;
  if (roles.controller) {
    const listener = config.controllerListener;
    // Zero config: a single voter on an ephemeral loopback port (nobody else needs to reach it).
    const listen = listener ? `${listener.host === '' ? '0.0.0.0' : listener.host}:${listener.port}` : '127.0.0.1:0';
    if (voters.size === 0) voters = new Map([[config.nodeId, listener ? `${listener.host === '' ? '127.0.0.1' : listener.host}:${listener.port}` : '127.0.0.1:0']]);
    try {
      controller = await ControllerNode.start({
        nodeId: config.nodeId,
        voters,
        listen,
        dataDir: config.str('metadata.log.dir') ?? joinPath(config.dataDir, '__cluster_metadata-0'),
        clusterId,
        configSchema: brokerConfigSchema(),
        settings: {
          defaultNumPartitions: config.int('num.partitions'),
          defaultReplicationFactor: config.int('default.replication.factor'),
          deleteTopicEnable: config.bool('delete.topic.enable'),
          uncleanLeaderElectionEnable: config.bool('unclean.leader.election.enable'),
          brokerSessionTimeoutMs: config.int('broker.session.timeout.ms'),
          autoLeaderRebalanceEnable: config.bool('auto.leader.rebalance.enable'),
          leaderImbalanceCheckIntervalMs: config.int('leader.imbalance.check.interval.seconds') * 1000,
          leaderImbalancePerBrokerPercentage: config.int('leader.imbalance.per.broker.percentage'),
        },
        logger,
        // The same file system as the partition logs, so a power-loss fault (TRIB_FAULT_FS) reaches the metadata log too.
        quorum: { fs },
        onFatal: opts.onFatal ?? ((err) => {
          logger.error({ err }, 'controller failed; stopping the process so a restart recovers from the log');
          process.exit(70);
        }),
      });
    } catch (err) {
      throw new Error(`cannot start the controller on ${listen}: ${(err as Error).message}; check controller.listener.names, listeners and metadata.log.dir`);
    }
  }
  const controllerPort = controller?.port ?? 0;
  // An ephemeral controller port (zero config, tests) is known only now.
  if (controller) voters = new Map([...voters].map(([id, address]) => [id, id === config.nodeId && address.endsWith(':0') ? `${address.slice(0, -2)}:${controllerPort}` : address]));

  if (!roles.broker) {
    const running = controller!;
    logger.info({ nodeId: config.nodeId, clusterId, roles: config.list('process.roles'), controllerPort, voters: [...voters].map(([id, a]) => `${id}@${a}`).join(','), dataDir: config.dataDir }, 'node started');
    let stopping: Promise<void> | null = null;
    const stop = (): Promise<void> => {
      stopping ??= (async () => {
        logger.info({}, 'node stopping');
        await running.stop();
        logger.info({}, 'node stopped');
      })();
      return stopping;
    };
    const host = config.controllerListener?.host ?? '127.0.0.1';
    return { host: host === '' ? '127.0.0.1' : host, port: controllerPort, nodeId: config.nodeId, clusterId, broker: null, controller, controllerPort, stop };
  }

  const controllerClient = new ControllerClient({
    voters,
    clusterId,
    clientId: `broker-${config.nodeId}`,
    local: controller ? [controller.controller] : [],
    // One unanswering controller (paused, partitioned) must not eat a whole heartbeat: give up on it in a third of the
    // session timeout and ask the next voter, so the broker reaches the new active controller before its session ends.
    attemptTimeoutMs: Math.max(1000, Math.min(10_000, Math.floor(config.int('broker.session.timeout.ms') / 3))),
    logger: logger.child({ component: 'controller-client' }),
  });

  const listeners = config.clientListeners;
  const servers: { server: Server; listener: Listener }[] = [];
  const connections = new Set<Connection>();

  // Bind first so a port conflict fails fast, before storage recovery; accept once the broker is up.
  let broker: Broker | null = null;
  const maxConnections = config.int('max.connections');
  const limits = {
    maxRequestBytes: config.int('socket.request.max.bytes'),
    maxQueuedRequests: config.int('queued.max.requests'),
    idleTimeoutMs: config.int('connections.max.idle.ms'),
  };
  // Connections that arrive while the broker starts wait here (bounded) instead of being dropped.
  const early: { socket: Socket; listenerName: string }[] = [];
  const accept = (socket: Socket, listenerName: string): void => {
    if (connections.size + early.length >= maxConnections) {
      socket.destroy();
      return;
    }
    if (!broker) {
      socket.pause();
      const entry = { socket, listenerName };
      socket.once('close', () => early.splice(early.indexOf(entry) >>> 0, 1));
      early.push(entry);
      return;
    }
    const conn = new Connection(socket, broker, logger, limits, listenerName);
    connections.add(conn);
    conn.onClose = () => connections.delete(conn);
  };
  const closeAll = async (): Promise<void> => {
    for (const { server } of servers) server.close();
    for (const { socket } of early.splice(0)) socket.destroy();
    controllerClient.close();
    await controller?.stop();
  };
  try {
    for (const listener of listeners) {
      const server = createServer({ noDelay: true }, (socket) => accept(socket, listener.name));
      await new Promise<void>((resolve, reject) => {
        server.once('error', (err) => reject(new Error(`cannot listen on ${listener.name}://${listener.host}:${listener.port}: ${err.message}; choose another port in listeners`)));
        server.listen(listener.port, listener.host === '' ? undefined : listener.host, () => resolve());
      });
      servers.push({ server, listener });
    }
  } catch (err) {
    await closeAll();
    throw err;
  }
  const bound = servers.map(({ server, listener }) => {
    const addr = server.address();
    return { ...listener, port: typeof addr === 'object' && addr ? addr.port : listener.port };
  });

  // Advertised client listeners; a port of 0 (tests) becomes the bound port, an empty host localhost.
  const advertised: Listener[] = config.advertisedListeners.map((adv) => {
    const boundSame = bound.find((l) => l.name === adv.name) ?? bound[0]!;
    return {
      name: adv.name,
      host: adv.host === '' || adv.host === '0.0.0.0' || adv.host === '::' ? 'localhost' : adv.host,
      port: adv.port === 0 ? boundSame.port : adv.port,
    };
  });
  const first = bound.find((l) => l.name === advertised[0]!.name) ?? bound[0]!;

  // A broken partition log (failed fsync, disk error) refuses writes until reopened, and this broker would keep leading
  // it: stop instead (controlled shutdown moves the leaderships), as Kafka stops a broker whose only log dir failed.
  // A restart recovers the logs from disk. Bounded: the process exits even if the shutdown hangs on the disk.
  let stopForStorage: (() => Promise<void>) | null = null;
  let storageFailed = false;
  const onStorageFailure = (dir: string, err: Error): void => {
    if (storageFailed) return;
    storageFailed = true;
    logger.error({ dir, err: err.message }, 'a partition log failed (the disk refused a write or an fsync): stopping this broker so its leaderships move; fix the disk and restart it to recover the logs');
    const fatal = opts.onFatal ?? (() => process.exit(74));
    void (async () => {
      if (stopForStorage !== null) await Promise.race([stopForStorage().catch(() => {}), new Promise((r) => setTimeout(r, 15_000).unref())]);
      fatal(err);
    })();
  };
  try {
    broker = await Broker.start({
      onStorageFailure,
      config,
      fs,
      clock: systemClock,
      timer: systemTimer,
      rng: cryptoRng,
      logger,
      newUuid: () => randomBytes(16).toString('base64url'),
      controller: controllerClient,
      clusterId,
      advertised,
      voters,
    });
    logger.info({ voters: [...voters].map(([id, a]) => `${id}@${a}`).join(',') }, 'broker waiting to be registered, caught up and unfenced by the controller quorum');
    await broker.ready;
  } catch (err) {
    await broker?.close();
    broker = null;
    await closeAll();
    throw err;
  }
  const running = broker;
  for (const { socket, listenerName } of early.splice(0)) {
    accept(socket, listenerName);
    socket.resume();
  }
  logger.info(
    {
      nodeId: config.nodeId,
      clusterId,
      roles: config.list('process.roles'),
      listeners: bound.map((l) => `${l.name}://${l.host}:${l.port}`),
      advertised: advertised.map((l) => `${l.host}:${l.port}`).join(','),
      controllerPort: controllerPort || undefined,
      dataDir: config.dataDir,
    },
    'node started',
  );

  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      logger.info({}, 'node stopping');
      for (const { server } of servers) server.close();
      for (const c of connections) c.close('node shutting down');
      await running.close();
      controllerClient.close();
      await controller?.stop();
      logger.info({}, 'node stopped');
    })();
    return stopping;
  };
  stopForStorage = stop;
  return { host: first.host, port: first.port, nodeId: config.nodeId, clusterId, broker: running, controller, controllerPort, stop };
}

const META_PROPERTIES = 'meta.properties';

/**
 * The cluster id, kept in `<data dir>/meta.properties` with the node id (as Kafka's storage format does), so
 * a data directory is never used by another cluster or node. When `cluster.id` is unset on the first start,
 * a one-voter quorum (zero config) gets a random id and a multi-voter quorum one derived from its voters, so
 * every node of a cluster configured alike agrees without a format step.
 */
async function resolveClusterId(fs: FileSystem, config: BrokerConfig): Promise<string> {
  const path = joinPath(config.dataDir, META_PROPERTIES);
  const configured = config.str('cluster.id');
  if (await fs.exists(path)) {
    const stored = new Map(
      (await fs.readFile(path))
        .toString('utf8')
        .split('\n')
        .map((line) => line.trim())
        .filter((line) => line !== '' && !line.startsWith('#'))
        .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)] as const),
    );
    const storedId = stored.get('cluster.id');
    const storedNode = stored.get('node.id');
    if (storedId !== undefined) {
      if (configured !== null && configured !== storedId) {
        throw new ConfigError('cluster.id', `data directory ${config.dataDir} belongs to cluster ${storedId} but cluster.id is ${configured}: point log.dirs at this cluster's data`);
      }
      if (storedNode !== undefined && Number(storedNode) !== config.nodeId) {
        throw new ConfigError('node.id', `data directory ${config.dataDir} belongs to node ${storedNode} but node.id is ${config.nodeId}`);
      }
      return storedId;
    }
  }
  const voters = config.list('controller.quorum.voters') ?? [];
  const others = config.voters.size > 1 || (config.voters.size === 1 && !config.voters.has(config.nodeId));
  const clusterId =
    configured ??
    (others
      ? createHash('sha256').update(`tributary-cluster:${[...voters].map((v) => v.trim()).sort().join(',')}`).digest().subarray(0, 16).toString('base64url')
      : randomBytes(16).toString('base64url'));
  await writeFileAtomic(fs, path, Buffer.from(`# written on the first start; a data directory belongs to one cluster and node\nversion=1\ncluster.id=${clusterId}\nnode.id=${config.nodeId}\n`));
  return clusterId;
}
