/**
 * A Tributary node: config, storage, the broker and its client listeners, with a clean shutdown.
 * `startNode` is also the in-process entry point for tests.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { Broker, BrokerConfig, ConfigError, type Listener } from '@tributary/broker';
import type { Clock, Logger, Rng, Timer } from '@tributary/common';
import { NodeFileSystem } from '@tributary/storage';
import { configFromEnv, parseOverride, parseProperties } from './config-sources.ts';
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
}

export interface RunningNode {
  host: string;
  port: number;
  nodeId: number;
  clusterId: string;
  broker: Broker;
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
  const explicit: Record<string, string> = { ...configFromEnv(opts.env ?? {}) };
  if (opts.configFile) {
    let text: string;
    try {
      text = readFileSync(opts.configFile, 'utf8');
    } catch (err) {
      throw new ConfigError('--config', `cannot read config file ${opts.configFile}: ${(err as Error).message}`);
    }
    Object.assign(explicit, parseProperties(text, opts.configFile));
  }
  Object.assign(explicit, opts.overrides ?? {});
  return new BrokerConfig(explicit);
}

export { parseOverride };

export async function startNode(opts: StartNodeOptions = {}): Promise<RunningNode> {
  const config = loadConfig(opts);
  const logger = opts.logger ?? createLogger({ node: config.nodeId });
  const fs = new NodeFileSystem();
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
  // Connections that arrive while storage recovers wait here (bounded) instead of being dropped.
  const early: Socket[] = [];
  const accept = (socket: Socket): void => {
    if (connections.size + early.length >= maxConnections) {
      socket.destroy();
      return;
    }
    if (!broker) {
      socket.pause();
      socket.once('close', () => early.splice(early.indexOf(socket) >>> 0, 1));
      early.push(socket);
      return;
    }
    const conn = new Connection(socket, broker, logger, limits);
    connections.add(conn);
    conn.onClose = () => connections.delete(conn);
  };
  for (const listener of listeners) {
    const server = createServer({ noDelay: true }, accept);
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) => reject(new Error(`cannot listen on ${listener.name}://${listener.host}:${listener.port}: ${err.message}; choose another port in listeners`)));
      server.listen(listener.port, listener.host === '' ? undefined : listener.host, () => resolve());
    });
    servers.push({ server, listener });
  }
  const bound = servers.map(({ server, listener }) => {
    const addr = server.address();
    return { ...listener, port: typeof addr === 'object' && addr ? addr.port : listener.port };
  });

  // Advertise the first advertised client listener; a port of 0 (tests) becomes the bound port.
  const adv = config.advertisedListeners[0]!;
  const boundSame = bound.find((l) => l.name === adv.name) ?? bound[0]!;
  const advertised: Listener = {
    name: adv.name,
    host: adv.host === '' || adv.host === '0.0.0.0' || adv.host === '::' ? 'localhost' : adv.host,
    port: adv.port === 0 ? boundSame.port : adv.port,
  };

  try {
    broker = await Broker.start(
      { config, fs, clock: systemClock, timer: systemTimer, rng: cryptoRng, logger, newUuid: () => randomBytes(16).toString('base64url') },
      advertised,
    );
  } catch (err) {
    for (const { server } of servers) server.close();
    for (const socket of early.splice(0)) socket.destroy();
    throw err;
  }
  const running = broker;
  for (const socket of early.splice(0)) {
    accept(socket);
    socket.resume();
  }
  logger.info(
    { nodeId: config.nodeId, clusterId: running.clusterId, listeners: bound.map((l) => `${l.name}://${l.host}:${l.port}`), advertised: `${advertised.host}:${advertised.port}`, dataDir: config.dataDir, roles: config.list('process.roles') },
    'node started',
  );

  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      logger.info({}, 'node stopping');
      for (const { server } of servers) server.close();
      for (const c of connections) c.close('node shutting down');
      await running.close();
      logger.info({}, 'node stopped');
    })();
    return stopping;
  };
  return { host: boundSame.host, port: boundSame.port, nodeId: config.nodeId, clusterId: running.clusterId, broker: running, stop };
}
