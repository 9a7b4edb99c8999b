import { ConfigError, parseConfigValue, type ConfigDef, type ConfigValue } from './config-def.ts';
import { topicConfigDefs, type BrokerDefaults } from './topic-config.ts';

const def = (d: ConfigDef): ConfigDef => d;
const LONG_MAX = String(Number.MAX_SAFE_INTEGER);

/**
 * Broker-level configs with Kafka's names. Keys that only matter to features not built yet are
 * accepted (`inert`) so existing Kafka deployments start unchanged; their docs say so.
 */
export const brokerConfigDefs: readonly ConfigDef[] = [
  def({ name: 'node.id', type: 'int', defaultValue: '1', min: 0, doc: 'this node\'s id in the cluster' }),
  def({ name: 'broker.id', type: 'int', defaultValue: null, min: -1, doc: 'alias of node.id' }),
  def({ name: 'process.roles', type: 'list', defaultValue: 'broker,controller', oneOf: ['broker', 'controller'], doc: 'roles this process plays' }),
  def({ name: 'cluster.id', type: 'string', defaultValue: null, doc: 'cluster id; generated and stored on first start when unset' }),
  def({ name: 'listeners', type: 'list', defaultValue: 'PLAINTEXT://127.0.0.1:9092', doc: 'listeners as NAME://host:port' }),
  def({ name: 'advertised.listeners', type: 'list', defaultValue: null, doc: 'listeners given to clients; defaults to listeners' }),
  def({ name: 'listener.security.protocol.map', type: 'list', defaultValue: 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT', doc: 'listener name to security protocol' }),
  def({ name: 'controller.listener.names', type: 'list', defaultValue: null, doc: 'listeners used by the controller quorum' }),
  def({ name: 'controller.quorum.voters', type: 'list', defaultValue: null, doc: 'id@host:port of each voter' }),
  def({ name: 'controller.quorum.bootstrap.servers', type: 'list', defaultValue: null, doc: 'host:port of controllers', inert: true }),
  def({ name: 'inter.broker.listener.name', type: 'string', defaultValue: null, doc: 'listener used between brokers' }),
  def({ name: 'broker.rack', type: 'string', defaultValue: null, doc: 'rack of this broker' }),
  def({ name: 'log.dirs', type: 'list', defaultValue: null, doc: 'data directories; the first one is used' }),
  def({ name: 'log.dir', type: 'string', defaultValue: './data', doc: 'data directory when log.dirs is unset' }),
  def({ name: 'metadata.log.dir', type: 'string', defaultValue: null, doc: 'directory of the controller quorum\'s metadata log; defaults to __cluster_metadata-0 in the data directory' }),
  def({ name: 'num.partitions', type: 'int', defaultValue: '1', min: 1, max: 100000, doc: 'partitions of auto-created topics' }),
  def({ name: 'default.replication.factor', type: 'int', defaultValue: '1', min: 1, max: 32767, doc: 'replication factor of auto-created topics' }),
  def({ name: 'auto.create.topics.enable', type: 'boolean', defaultValue: 'true', doc: 'create topics on Metadata and Produce' }),
  def({ name: 'delete.topic.enable', type: 'boolean', defaultValue: 'true', doc: 'allow DeleteTopics' }),
  def({ name: 'log.retention.ms', type: 'long', defaultValue: null, min: -1, doc: 'retention time; wins over minutes and hours' }),
  def({ name: 'log.retention.minutes', type: 'int', defaultValue: null, min: -1, doc: 'retention time in minutes' }),
  def({ name: 'log.retention.hours', type: 'int', defaultValue: '168', min: -1, doc: 'retention time in hours' }),
  def({ name: 'log.retention.bytes', type: 'long', defaultValue: '-1', min: -1, doc: 'retention size per partition' }),
  def({ name: 'log.retention.check.interval.ms', type: 'long', defaultValue: '300000', min: 1, doc: 'how often retention runs' }),
  def({ name: 'log.segment.bytes', type: 'int', defaultValue: '1073741824', min: 14, doc: 'segment size' }),
  def({ name: 'log.roll.ms', type: 'long', defaultValue: null, min: 1, doc: 'segment age before a roll' }),
  def({ name: 'log.roll.hours', type: 'int', defaultValue: '168', min: 1, doc: 'segment age before a roll, in hours' }),
  def({ name: 'log.roll.jitter.ms', type: 'long', defaultValue: null, min: 0, doc: 'roll jitter', inert: true }),
  def({ name: 'log.index.interval.bytes', type: 'int', defaultValue: '4096', min: 0, doc: 'bytes between index entries' }),
  def({ name: 'log.index.size.max.bytes', type: 'int', defaultValue: '10485760', min: 8, doc: 'largest index file' }),
  def({ name: 'log.flush.interval.messages', type: 'long', defaultValue: LONG_MAX, min: 1, doc: 'messages between forced fsyncs' }),
  def({ name: 'log.flush.interval.ms', type: 'long', defaultValue: null, min: 0, doc: 'time between forced fsyncs' }),
  def({ name: 'log.flush.scheduler.interval.ms', type: 'long', defaultValue: LONG_MAX, min: 1, doc: 'how often partitions are checked against flush.ms' }),
  def({ name: 'log.segment.delete.delay.ms', type: 'long', defaultValue: '60000', min: 0, doc: 'delay before deleting segment files' }),
  def({ name: 'log.cleanup.policy', type: 'list', defaultValue: 'delete', oneOf: ['delete', 'compact'], doc: 'default cleanup policy' }),
  def({ name: 'log.cleaner.enable', type: 'boolean', defaultValue: 'true', doc: 'run the log cleaner' }),
  def({ name: 'log.cleaner.delete.retention.ms', type: 'long', defaultValue: '86400000', min: 0, doc: 'tombstone retention' }),
  def({ name: 'log.cleaner.min.cleanable.ratio', type: 'double', defaultValue: '0.5', min: 0, max: 1, doc: 'dirty ratio that triggers compaction' }),
  def({ name: 'log.cleaner.min.compaction.lag.ms', type: 'long', defaultValue: '0', min: 0, doc: 'minimum compaction lag' }),
  def({ name: 'log.cleaner.max.compaction.lag.ms', type: 'long', defaultValue: LONG_MAX, min: 1, doc: 'maximum compaction lag' }),
  def({ name: 'log.cleaner.threads', type: 'int', defaultValue: '1', min: 0, doc: 'cleaner threads', inert: true }),
  def({ name: 'log.cleaner.backoff.ms', type: 'long', defaultValue: '15000', min: 1, doc: 'pause between cleaner rounds' }),
  def({ name: 'log.cleaner.dedupe.buffer.size', type: 'long', defaultValue: '134217728', min: 1048576, max: 2147483647, doc: 'memory for the key → offset map of one cleaner pass' }),
  def({ name: 'log.message.timestamp.type', type: 'string', defaultValue: 'CreateTime', oneOf: ['CreateTime', 'LogAppendTime'], doc: 'timestamp type' }),
  def({ name: 'log.message.timestamp.before.max.ms', type: 'long', defaultValue: LONG_MAX, min: 0, doc: 'max timestamp lag into the past' }),
  def({ name: 'log.message.timestamp.after.max.ms', type: 'long', defaultValue: '3600000', min: 0, doc: 'max timestamp lead into the future' }),
  def({ name: 'log.message.downconversion.enable', type: 'boolean', defaultValue: 'true', doc: 'down-conversion', inert: true }),
  def({ name: 'log.preallocate', type: 'boolean', defaultValue: 'false', doc: 'preallocate segments', inert: true }),
  def({ name: 'compression.type', type: 'string', defaultValue: 'producer', oneOf: ['producer', 'uncompressed', 'gzip', 'snappy', 'lz4', 'zstd'], doc: 'final compression type' }),
  def({ name: 'message.max.bytes', type: 'int', defaultValue: '1048588', min: 0, doc: 'largest record batch' }),
  def({ name: 'min.insync.replicas', type: 'int', defaultValue: '1', min: 1, doc: 'minimum in-sync replicas for acks=all' }),
  def({ name: 'unclean.leader.election.enable', type: 'boolean', defaultValue: 'false', doc: 'allow unclean leader election' }),
  def({ name: 'replica.lag.time.max.ms', type: 'long', defaultValue: '30000', min: 1, doc: 'follower lag before leaving the ISR' }),
  def({ name: 'replica.fetch.wait.max.ms', type: 'int', defaultValue: '500', min: 0, max: 30000, doc: 'how long a follower\'s fetch waits at the leader for new records' }),
  def({ name: 'replica.fetch.max.bytes', type: 'int', defaultValue: '1048576', min: 0, doc: 'bytes per partition a follower asks for in one fetch' }),
  def({ name: 'replica.fetch.response.max.bytes', type: 'int', defaultValue: '10485760', min: 0, doc: 'bytes a follower asks for in one fetch, all partitions' }),
  def({ name: 'leader.replication.throttled.rate', type: 'long', defaultValue: LONG_MAX, min: 1, dynamic: true, doc: 'bytes/s a leader sends to replicas being added by a reassignment (all partitions together); dynamic: set per broker or cluster-wide while brokers run (trib partition reassign --throttle does)' }),
  def({ name: 'follower.replication.throttled.rate', type: 'long', defaultValue: LONG_MAX, min: 1, dynamic: true, doc: 'bytes/s a follower fetches for replicas it is being added as by a reassignment; dynamic, like leader.replication.throttled.rate' }),
  def({ name: 'replica.fetch.backoff.ms', type: 'int', defaultValue: '1000', min: 0, doc: 'pause after a failed replica fetch' }),
  def({ name: 'replica.high.watermark.checkpoint.interval.ms', type: 'long', defaultValue: '5000', min: 1, max: 2147483647, doc: 'how often every partition\'s high watermark is written to replication-offset-checkpoint in the data directory (also on clean shutdown); a restarted broker starts each partition from it instead of 0' }),
  def({ name: 'replication.listener', type: 'string', defaultValue: null, doc: 'host:port the broker serves replica fetches on (gRPC); default: the first client listener\'s host on a free port' }),
  def({ name: 'replication.advertised.listener', type: 'string', defaultValue: null, doc: 'host:port other brokers reach the replication listener at; default: the first advertised listener\'s host and the bound port' }),
  def({ name: 'socket.request.max.bytes', type: 'int', defaultValue: '104857600', min: 64, doc: 'largest request frame' }),
  def({ name: 'socket.send.buffer.bytes', type: 'int', defaultValue: '102400', min: -1, doc: 'socket send buffer', inert: true }),
  def({ name: 'socket.receive.buffer.bytes', type: 'int', defaultValue: '102400', min: -1, doc: 'socket receive buffer', inert: true }),
  def({ name: 'queued.max.requests', type: 'int', defaultValue: '500', min: 1, doc: 'requests queued per connection before reading pauses' }),
  def({ name: 'max.connections', type: 'int', defaultValue: '10000', min: 1, doc: 'open client connections at most' }),
  def({ name: 'connections.max.idle.ms', type: 'long', defaultValue: '600000', min: 1, doc: 'idle connections are closed after this' }),
  def({ name: 'num.network.threads', type: 'int', defaultValue: '3', min: 1, doc: 'network threads', inert: true }),
  def({ name: 'num.io.threads', type: 'int', defaultValue: '8', min: 1, doc: 'I/O threads', inert: true }),
  def({ name: 'num.recovery.threads.per.data.dir', type: 'int', defaultValue: '1', min: 1, doc: 'recovery threads', inert: true }),
  def({ name: 'num.replica.fetchers', type: 'int', defaultValue: '1', min: 1, doc: 'replica fetchers', inert: true }),
  def({ name: 'offsets.topic.num.partitions', type: 'int', defaultValue: '50', min: 1, max: 1000, doc: 'partitions of __consumer_offsets' }),
  def({ name: 'offsets.topic.replication.factor', type: 'int', defaultValue: '3', min: 1, doc: 'replication factor of __consumer_offsets' }),
  def({ name: 'offsets.topic.segment.bytes', type: 'int', defaultValue: '104857600', min: 14, doc: 'segment size of __consumer_offsets' }),
  def({ name: 'offsets.retention.minutes', type: 'int', defaultValue: '10080', min: 1, doc: 'committed offsets of empty groups expire after this' }),
  def({ name: 'offsets.commit.timeout.ms', type: 'int', defaultValue: '5000', min: 1, doc: 'how long a commit to __consumer_offsets waits for every in-sync replica before it fails' }),
  def({ name: 'offsets.retention.check.interval.ms', type: 'long', defaultValue: '600000', min: 1, doc: 'how often offset expiry runs' }),
  def({ name: 'offset.metadata.max.bytes', type: 'int', defaultValue: '4096', min: 0, doc: 'largest offset commit metadata' }),
  def({ name: 'group.initial.rebalance.delay.ms', type: 'int', defaultValue: '3000', min: 0, doc: 'wait for more members before the first rebalance' }),
  def({ name: 'group.min.session.timeout.ms', type: 'int', defaultValue: '6000', min: 0, doc: 'smallest session timeout' }),
  def({ name: 'group.max.session.timeout.ms', type: 'int', defaultValue: '1800000', min: 0, doc: 'largest session timeout' }),
  def({ name: 'group.max.size', type: 'int', defaultValue: '1000', min: 1, doc: 'members per group at most' }),
  def({ name: 'transaction.state.log.replication.factor', type: 'int', defaultValue: '3', min: 1, doc: 'replication of the transaction log', inert: true }),
  def({ name: 'transaction.state.log.min.isr', type: 'int', defaultValue: '2', min: 1, doc: 'min ISR of the transaction log', inert: true }),
  def({ name: 'transaction.state.log.num.partitions', type: 'int', defaultValue: '50', min: 1, doc: 'partitions of the transaction log', inert: true }),
  def({ name: 'broker.heartbeat.interval.ms', type: 'int', defaultValue: '2000', min: 1, doc: 'broker heartbeat interval' }),
  def({ name: 'broker.session.timeout.ms', type: 'int', defaultValue: '9000', min: 1, doc: 'broker session timeout' }),
  def({ name: 'auto.leader.rebalance.enable', type: 'boolean', defaultValue: 'true', doc: 'preferred leader rebalancing' }),
  def({ name: 'leader.imbalance.check.interval.seconds', type: 'long', defaultValue: '300', min: 1, doc: 'how often the active controller checks the leader imbalance (auto.leader.rebalance.enable)' }),
  def({ name: 'leader.imbalance.per.broker.percentage', type: 'int', defaultValue: '10', min: 0, max: 100, doc: 'share of a broker\'s preferred partitions led elsewhere above which their leadership moves back' }),
  def({ name: 'producer.id.expiration.ms', type: 'int', defaultValue: '86400000', min: 1, doc: 'idle producer state expiry' }),
  def({ name: 'fetch.max.bytes', type: 'int', defaultValue: '57671680', min: 0, doc: 'largest fetch response' }),
];

export const brokerConfigDefsByName: ReadonlyMap<string, ConfigDef> = new Map(brokerConfigDefs.map((d) => [d.name, d]));

/** The broker configs that may change while brokers run (dynamic broker configs, per broker or cluster-wide). */
export const dynamicBrokerConfigDefs: readonly ConfigDef[] = brokerConfigDefs.filter((d) => d.dynamic === true);

export interface Listener {
  name: string;
  host: string;
  port: number;
}

/** The broker config after parsing: typed values plus the explicit strings for DescribeConfigs. */
export class BrokerConfig implements BrokerDefaults {
  readonly #explicit: ReadonlyMap<string, string>;
  readonly #values = new Map<string, ConfigValue>();

  /** `explicit` holds only keys the operator set; every key is validated (unknown keys are an error). */
  constructor(explicit: Record<string, string>) {
    const map = new Map<string, string>();
    for (const [key, raw] of Object.entries(explicit)) {
      const d = brokerConfigDefsByName.get(key);
      if (!d) {
        throw new ConfigError(key, `unknown config ${key}: check its spelling against Kafka's broker configs (docs/config.md lists the supported keys)`);
      }
      this.#values.set(key, parseConfigValue(d, raw));
      map.set(key, raw.trim());
    }
    for (const d of brokerConfigDefs) {
      if (!this.#values.has(d.name)) this.#values.set(d.name, d.defaultValue === null ? null : parseConfigValue(d, d.defaultValue));
    }
    this.#explicit = map;
    this.#checkCrossKeyRules();
  }

  get(key: string): ConfigValue {
    if (!this.#values.has(key)) throw new ConfigError(key, `unknown config ${key}`);
    return this.#values.get(key)!;
  }
  int(key: string): number {
    return this.get(key) as number;
  }
  bool(key: string): boolean {
    return this.get(key) as boolean;
  }
  str(key: string): string | null {
    return this.get(key) as string | null;
  }
  list(key: string): string[] | null {
    return this.get(key) as string[] | null;
  }
  isExplicit(key: string): boolean {
    return this.#explicit.has(key);
  }
  explicitEntries(): [string, string][] {
    return [...this.#explicit.entries()];
  }

  /** For topic-config defaults: Kafka's precedence of ms over minutes over hours. */
  explicitValue(brokerKey: string): string | null {
    const direct = this.#explicit.get(brokerKey);
    if (direct !== undefined) return direct;
    if (brokerKey === 'log.retention.ms') {
      const minutes = this.#explicit.get('log.retention.minutes');
      if (minutes !== undefined) return String(scaleDuration(Number(minutes), 60_000));
      const hours = this.#explicit.get('log.retention.hours');
      if (hours !== undefined) return String(scaleDuration(Number(hours), 3_600_000));
    }
    if (brokerKey === 'log.roll.ms') {
      const hours = this.#explicit.get('log.roll.hours');
      if (hours !== undefined) return String(Number(hours) * 3_600_000);
    }
    if (brokerKey === 'log.flush.interval.ms') return null;
    return null;
  }

  get nodeId(): number {
    const brokerId = this.#values.get('broker.id') as number | null;
    if (!this.isExplicit('node.id') && brokerId !== null && brokerId >= 0) return brokerId;
    return this.int('node.id');
  }

  get dataDir(): string {
    const dirs = this.list('log.dirs');
    return dirs && dirs.length > 0 ? dirs[0]! : (this.str('log.dir') as string);
  }

  get listeners(): Listener[] {
    return (this.list('listeners') ?? []).map((l) => parseListener('listeners', l));
  }

  get advertisedListeners(): Listener[] {
    const advertised = this.list('advertised.listeners');
    if (advertised && advertised.length > 0) return advertised.map((l) => parseListener('advertised.listeners', l));
    return this.listeners.filter((l) => !this.controllerListenerNames.includes(l.name));
  }

  get controllerListenerNames(): string[] {
    return this.list('controller.listener.names') ?? [];
  }

  get roles(): { broker: boolean; controller: boolean } {
    const roles = this.list('process.roles') ?? [];
    return { broker: roles.includes('broker'), controller: roles.includes('controller') };
  }

  /** The listener the controller quorum serves on (the first of controller.listener.names found in listeners). */
  get controllerListener(): Listener | null {
    for (const name of this.controllerListenerNames) {
      const l = this.listeners.find((x) => x.name === name);
      if (l) return l;
    }
    return null;
  }

  /** controller.quorum.voters as id -> host:port (empty when unset). */
  get voters(): Map<number, string> {
    const voters = new Map<number, string>();
    for (const entry of this.list('controller.quorum.voters') ?? []) {
      const match = /^(\d+)@(\[[^\]]*\]|[^:@]+):(\d+)$/.exec(entry.trim());
      if (!match) throw new ConfigError('controller.quorum.voters', `invalid voter "${entry}" in controller.quorum.voters: expected id@host:port`);
      const id = Number(match[1]);
      if (voters.has(id)) throw new ConfigError('controller.quorum.voters', `voter ${id} appears twice in controller.quorum.voters`);
      const host = match[2]!.startsWith('[') ? match[2]!.slice(1, -1) : match[2]!;
      voters.set(id, `${host}:${match[3]}`);
    }
    return voters;
  }

  /** The listeners that serve Kafka clients: all but the controller ones. */
  get clientListeners(): Listener[] {
    return this.listeners.filter((l) => !this.controllerListenerNames.includes(l.name));
  }

  #checkCrossKeyRules(): void {
    const roles = this.roles;
    if (!roles.broker && !roles.controller) throw new ConfigError('process.roles', 'process.roles is empty: use broker, controller or broker,controller');
    const voters = this.voters;
    if (roles.broker && this.clientListeners.length === 0) {
      throw new ConfigError('listeners', 'listeners has no client listener: add one such as PLAINTEXT://127.0.0.1:9092');
    }
    if (roles.controller) {
      const others = [...voters.keys()].some((id) => id !== this.nodeId);
      if (voters.size > 0 && !voters.has(this.nodeId)) {
        throw new ConfigError('controller.quorum.voters', `node ${this.nodeId} has the controller role but is not in controller.quorum.voters (${this.list('controller.quorum.voters')!.join(',')}): add ${this.nodeId}@host:port or drop the role`);
      }
      if (others && this.controllerListener === null) {
        throw new ConfigError('controller.listener.names', 'a controller in a quorum of several voters needs a controller listener: set controller.listener.names=CONTROLLER and add CONTROLLER://host:port to listeners');
      }
      if (!roles.broker && this.controllerListener === null) {
        throw new ConfigError('listeners', 'a controller-only node needs a controller listener: set controller.listener.names=CONTROLLER and listeners=CONTROLLER://host:port');
      }
    } else if (voters.size === 0) {
      throw new ConfigError('controller.quorum.voters', 'a broker-only node needs controller.quorum.voters (id@host:port of each controller) to find the controller quorum');
    }
    const protocolMap = new Map((this.list('listener.security.protocol.map') ?? []).map((e) => {
      const [name, proto] = e.split(':');
      if (!name || !proto) throw new ConfigError('listener.security.protocol.map', `invalid entry "${e}" in listener.security.protocol.map: expected NAME:PROTOCOL`);
      return [name.trim(), proto.trim()] as const;
    }));
    for (const l of this.listeners) {
      const proto = protocolMap.get(l.name) ?? (l.name === 'PLAINTEXT' ? 'PLAINTEXT' : undefined);
      if (proto === undefined) {
        throw new ConfigError('listener.security.protocol.map', `listener ${l.name} has no security protocol: add ${l.name}:PLAINTEXT to listener.security.protocol.map`);
      }
      if (proto !== 'PLAINTEXT') {
        throw new ConfigError('listener.security.protocol.map', `listener ${l.name} uses ${proto}; only PLAINTEXT is supported so far`);
      }
    }
    if (!roles.broker) return;
    const advertisedNames = new Set(this.advertisedListeners.map((l) => l.name));
    for (const l of this.advertisedListeners) {
      if (!this.listeners.some((x) => x.name === l.name)) {
        throw new ConfigError('advertised.listeners', `advertised listener ${l.name} is not among listeners`);
      }
    }
    if (advertisedNames.size === 0) throw new ConfigError('advertised.listeners', 'no advertised client listener');
  }
}

function scaleDuration(value: number, unitMs: number): number {
  return value < 0 ? -1 : value * unitMs;
}

/** NAME://host:port; an empty host means all interfaces (advertised as localhost). */
export function parseListener(key: string, text: string): Listener {
  const match = /^([A-Za-z0-9_]+):\/\/(\[[^\]]*\]|[^:]*):(\d+)$/.exec(text.trim());
  if (!match) throw new ConfigError(key, `invalid listener "${text}" in ${key}: expected NAME://host:port`);
  const port = Number(match[3]);
  if (port > 65535) throw new ConfigError(key, `invalid port ${port} in ${key}`);
  let host = match[2]!;
  if (host.startsWith('[')) host = host.slice(1, -1);
  return { name: match[1]!.toUpperCase(), host, port };
}

/** Every topic config's broker-level default key, so a broker property can set a topic default. */
export const topicDefaultBrokerKeys: ReadonlySet<string> = new Set(topicConfigDefs.map((d) => d.brokerKey).filter((k): k is string => k !== null));
