/**
 * KafkaClient: bootstraps from a `host:port[,host:port]` list, negotiates versions per broker through
 * ApiVersions, keeps a metadata cache, and routes partition requests (Produce, Fetch, ListOffsets,
 * DeleteRecords) to the partition's leader and admin requests to the controller. Broker error codes
 * become KafkaError with the code's name. Retries are bounded and only for errors that a metadata refresh
 * can cure before the broker acted (leader moved, topic not yet known), so a retried produce never
 * appends twice.
 */
import { assert } from '@tributary/common';
import { protocolCodec, type Codec, type Compression, type FetchedRecord, type ProducerRecord } from './codec.ts';
import { KafkaConnection, type ConnectionOptions } from './connection.ts';
import { ConsumerProtocolError, decodeAssignment, decodeSubscription, type ConsumerAssignment, type ConsumerSubscription } from './consumer-protocol.ts';
import { ConnectionError, KafkaError } from './errors.ts';
import { Api, apiName, CLIENT_VERSIONS, pickVersion, UnsupportedVersionError, type VersionRange } from './versions.ts';

export interface ClientOptions {
  /** `host:port[,host:port]`, or a list of `host:port`. */
  bootstrapServers: string | string[];
  clientId?: string;
  requestTimeoutMs?: number;
  connectTimeoutMs?: number;
  maxInFlight?: number;
  maxFrameBytes?: number;
  /** Attempts for a request that fails with a retriable error (leader moved, topic not ready yet). */
  maxAttempts?: number;
  retryBackoffMs?: number;
  codec?: Codec;
}

export interface BrokerAddress {
  nodeId: number;
  host: string;
  port: number;
  rack: string | null;
}

export interface PartitionMetadata {
  partition: number;
  leader: number;
  leaderEpoch: number;
  replicas: number[];
  isr: number[];
  offlineReplicas: number[];
  errorCode: number;
  errorName: string;
}

export interface TopicMetadata {
  name: string;
  isInternal: boolean;
  errorCode: number;
  errorName: string;
  partitions: PartitionMetadata[];
}

export interface ClusterMetadata {
  clusterId: string | null;
  controllerId: number;
  brokers: BrokerAddress[];
  topics: TopicMetadata[];
}

export interface NewTopic {
  name: string;
  numPartitions?: number;
  replicationFactor?: number;
  configs?: Record<string, string>;
}

export interface ConfigEntry {
  name: string;
  value: string | null;
  readOnly: boolean;
  isDefault: boolean;
  /** The protocol's ConfigSource: 1 dynamic topic, 4 static broker, 5 default, ... (-1 unknown). */
  source: number;
  isSensitive: boolean;
}

export const ConfigSource = {
  Unknown: 0,
  DynamicTopic: 1,
  DynamicBroker: 2,
  DynamicDefaultBroker: 3,
  StaticBroker: 4,
  Default: 5,
  DynamicBrokerLogger: 6,
  ClientMetrics: 7,
  Group: 8,
} as const;

export const ResourceType = { Topic: 2, Broker: 4 } as const;

export type ConfigAlteration =
  | { name: string; op: 'set'; value: string }
  | { name: string; op: 'delete' }
  | { name: string; op: 'append'; value: string }
  | { name: string; op: 'subtract'; value: string };

const CONFIG_OPERATION = { set: 0, delete: 1, append: 2, subtract: 3 } as const;

export interface ProduceOptions {
  /** 0 (no response), 1 (leader), -1 (all in-sync replicas). Default -1. */
  acks?: number;
  compression?: Compression;
  timeoutMs?: number;
}

export interface FetchOptions {
  maxWaitMs?: number;
  maxBytes?: number;
  minBytes?: number;
}

export interface FetchResult {
  records: FetchedRecord[];
  highWatermark: number;
  logStartOffset: number;
  lastStableOffset: number;
}

export interface FetchPartitionRequest {
  topic: string;
  partition: number;
  offset: number;
}

/** One partition of `fetchMany`: its records, or the error the broker (or routing) gave for it. */
export interface FetchPartitionResult extends FetchResult {
  topic: string;
  partition: number;
  error: KafkaError | null;
}

// ---- consumer groups ----

/** Topics for group offset calls: a name (every partition it has now) or explicit partitions. */
export type TopicSelection = string | { topic: string; partitions: number[] };

export interface GroupListing {
  groupId: string;
  protocolType: string;
  /** Null from brokers older than ListGroups v4, which do not report it. */
  state: string | null;
}

export interface GroupMemberDescription {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  /** The member's subscription when the group speaks the consumer protocol and is Stable, else null. */
  subscription: ConsumerSubscription | null;
  assignment: ConsumerAssignment | null;
}

export interface GroupDescription {
  groupId: string;
  /** Empty, PreparingRebalance, CompletingRebalance, Stable or Dead (Dead also for a group that does not exist). */
  state: string;
  protocolType: string;
  /** The assignor the members agreed on (e.g. `range`); empty unless the group is Stable. */
  protocol: string;
  members: GroupMemberDescription[];
  coordinator: BrokerAddress;
}

export interface CommittedOffset {
  topic: string;
  partition: number;
  /** -1 when the group has no committed offset for the partition. */
  offset: number;
  leaderEpoch: number;
  metadata: string | null;
}

export interface OffsetToCommit {
  topic: string;
  partition: number;
  offset: number;
  metadata?: string | null;
  leaderEpoch?: number;
}

/** Who commits: a group member of a generation, or `{ generationId: -1, memberId: '' }` for a group without members. */
export interface GroupMemberIdentity {
  generationId: number;
  memberId: string;
  groupInstanceId?: string | null;
}

export interface JoinGroupRequest {
  groupId: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  memberId: string;
  groupInstanceId?: string | null;
  protocolType: string;
  protocols: { name: string; metadata: Buffer }[];
  reason?: string | null;
}

/** The JoinGroup response; `errorCode` is not thrown because the caller's state machine acts on it. */
export interface JoinGroupResult {
  errorCode: number;
  errorName: string;
  generationId: number;
  protocolType: string | null;
  protocolName: string | null;
  leader: string;
  skipAssignment: boolean;
  memberId: string;
  members: { memberId: string; groupInstanceId: string | null; metadata: Buffer }[];
}

export interface SyncGroupRequest {
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId?: string | null;
  protocolType: string;
  protocolName: string;
  assignments: { memberId: string; assignment: Buffer }[];
  /** How long the broker may park the request (the rebalance timeout). */
  rebalanceTimeoutMs: number;
}

/** Kafka's all-zero uuid in the codec's base64url form: "no topic id". */
const ZERO_UUID = 'AAAAAAAAAAAAAAAAAAAAAA';

/** One replica of the metadata quorum as DescribeQuorum reports it. */
export interface QuorumReplicaInfo {
  replicaId: number;
  /** -1 when unknown. */
  logEndOffset: number;
  /** Leader wall clock of the replica's last fetch; -1 when unknown or before DescribeQuorum v1. */
  lastFetchTimestamp: number;
  /** Leader wall clock when the replica was last caught up; -1 when unknown or before v1. */
  lastCaughtUpTimestamp: number;
}

/** The metadata quorum (`__cluster_metadata-0`): leader, epoch, high watermark, voters and observers. */
export interface QuorumInfo {
  leaderId: number;
  leaderEpoch: number;
  highWatermark: number;
  voters: QuorumReplicaInfo[];
  observers: QuorumReplicaInfo[];
  /** The controllers' endpoints (DescribeQuorum v2+; empty before). */
  nodes: { nodeId: number; listeners: { name: string; host: string; port: number }[] }[];
  /** The DescribeQuorum version the broker answered. */
  version: number;
}

/** ElectLeaders' election types (Kafka's ElectionType): the preferred replica, or any live replica when the ISR has none. */
export const ElectionType = { Preferred: 0, Unclean: 1 } as const;
export type ElectionTypeName = 'preferred' | 'unclean';

/** One partition's outcome of ElectLeaders; ELECTION_NOT_NEEDED (84) means its leader was already the one asked for. */
export interface ElectionResult {
  topic: string;
  partition: number;
  error: KafkaError | null;
}

/** A partition's target replicas for AlterPartitionReassignments; null cancels the reassignment in progress. */
export interface PartitionReassignment {
  topic: string;
  partition: number;
  replicas: number[] | null;
}

/** One partition's outcome of AlterPartitionReassignments. */
export interface ReassignmentResult {
  topic: string;
  partition: number;
  error: KafkaError | null;
}

/** A reassignment in progress (ListPartitionReassignments): replicas = target ∪ original while it runs. */
export interface OngoingReassignment {
  topic: string;
  partition: number;
  replicas: number[];
  addingReplicas: number[];
  removingReplicas: number[];
}

/** One partition replica in a broker's log dir (DescribeLogDirs). */
export interface LogDirReplica {
  topic: string;
  partition: number;
  /** The replica's log segments on disk. */
  sizeBytes: number;
  /** How far the replica's log end is behind (0 when the broker does not know). */
  offsetLag: number;
  /** A replica being moved to this dir from another dir of the same broker. */
  isFuture: boolean;
}

/** One log dir of one broker (DescribeLogDirs). */
export interface LogDirDescription {
  logDir: string;
  /** The dir's error (e.g. KAFKA_STORAGE_ERROR for an offline dir), else null. */
  error: KafkaError | null;
  /** The volume's size and what is still usable, -1 when unknown (brokers before DescribeLogDirs v4). */
  totalBytes: number;
  usableBytes: number;
  replicas: LogDirReplica[];
}

/** Where a leader epoch ends on the partition's leader (OffsetForLeaderEpoch); -1/-1 when the leader knows no such epoch. */
export interface EpochEndOffset {
  leaderEpoch: number;
  endOffset: number;
}

export const METADATA_TOPIC = '__cluster_metadata';

export const OffsetSpec = { Latest: -1, Earliest: -2, MaxTimestamp: -3 } as const;

/** Group coordinator errors cured by waiting (loading) or by finding the coordinator again. */
const COORDINATOR_LOAD_IN_PROGRESS = 14;
const COORDINATOR_NOT_AVAILABLE = 15;
const NOT_COORDINATOR = 16;
const COORDINATOR_CODES: ReadonlySet<number> = new Set([COORDINATOR_LOAD_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR]);
/** FindCoordinator key type of consumer groups. */
const GROUP_KEY_TYPE = 0;
/** Bounds the coordinator cache of a long-lived client that talks to many groups. */
const MAX_CACHED_COORDINATORS = 10_000;
/** Errors after which a partition's leader must be looked up again. */
const STALE_LEADER_CODES: ReadonlySet<number> = new Set([3, 5, 6, 74, 75]);

/** Errors a metadata refresh and a retry can cure (the broker did not act on the request). */
const RETRIABLE_CODES: ReadonlySet<number> = new Set([
  3, // UNKNOWN_TOPIC_OR_PARTITION: just created, metadata not propagated yet
  5, // LEADER_NOT_AVAILABLE
  6, // NOT_LEADER_OR_FOLLOWER
  13, // NETWORK_EXCEPTION
  14, // COORDINATOR_LOAD_IN_PROGRESS
  15, // COORDINATOR_NOT_AVAILABLE
  16, // NOT_COORDINATOR
  41, // NOT_CONTROLLER
  74, // FENCED_LEADER_EPOCH
  75, // UNKNOWN_LEADER_EPOCH
  78, // OFFSET_NOT_AVAILABLE: a new leader's high watermark is not established yet (ListOffsets)
]);

export function parseBootstrap(servers: string | string[]): { host: string; port: number }[] {
  const list = (Array.isArray(servers) ? servers : servers.split(','))
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (list.length === 0) throw new Error('no bootstrap servers given');
  return list.map((entry) => {
    // [v6::addr]:port or host:port
    const m = /^\[([^\]]+)\]:(\d+)$/.exec(entry) ?? /^([^:]+):(\d+)$/.exec(entry);
    const port = m ? Number(m[2]) : NaN;
    if (!m || !Number.isInteger(port) || port < 1 || port > 65535) {
      throw new Error(`invalid bootstrap server "${entry}": expected host:port`);
    }
    return { host: m[1] as string, port };
  });
}

interface BrokerLink {
  connection: KafkaConnection;
  versions: Map<number, VersionRange>;
}

// Body shapes this client reads from responses (schema names, first letter lowercased).
interface ApiVersionsBody {
  errorCode: number;
  apiKeys: { apiKey: number; minVersion: number; maxVersion: number }[];
}
interface MetadataBody {
  brokers: { nodeId: number; host: string; port: number; rack?: string | null }[];
  clusterId?: string | null;
  controllerId?: number;
  topics: {
    errorCode: number;
    name: string | null;
    topicId?: string;
    isInternal?: boolean;
    partitions: {
      errorCode: number;
      partitionIndex: number;
      leaderId: number;
      leaderEpoch?: number;
      replicaNodes: number[];
      isrNodes: number[];
      offlineReplicas?: number[];
    }[];
  }[];
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export class KafkaClient {
  readonly #bootstrap: { host: string; port: number }[];
  readonly #options: ClientOptions;
  readonly #codec: Codec;
  readonly #maxAttempts: number;
  readonly #retryBackoffMs: number;
  /** Links by `host:port`; a link is shared by every node id at that address. */
  readonly #links = new Map<string, Promise<BrokerLink>>();
  /** Links to group coordinators, apart from `#links` (see `#link`). */
  readonly #groupLinks = new Map<string, Promise<BrokerLink>>();
  /** Coordinator of each group we talked to; dropped on NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE or a lost link. */
  readonly #coordinators = new Map<string, BrokerAddress>();
  readonly #brokers = new Map<number, BrokerAddress>();
  readonly #leaders = new Map<string, number>();
  readonly #topicIds = new Map<string, string>();
  readonly #topicNames = new Map<string, string>();
  #controllerId = -1;
  #closed = false;

  constructor(options: ClientOptions) {
    this.#bootstrap = parseBootstrap(options.bootstrapServers);
    this.#options = options;
    this.#codec = options.codec ?? protocolCodec;
    this.#maxAttempts = options.maxAttempts ?? 6;
    this.#retryBackoffMs = options.retryBackoffMs ?? 100;
    assert(this.#maxAttempts >= 1, 'maxAttempts must be at least 1');
  }

  /** Connects to the first reachable bootstrap server and loads cluster metadata. */
  async connect(): Promise<void> {
    await this.metadata([]);
  }

  async close(): Promise<void> {
    this.#closed = true;
    const links = [...this.#links.values(), ...this.#groupLinks.values()];
    this.#links.clear();
    this.#groupLinks.clear();
    await Promise.all(
      links.map(async (p) => {
        try {
          await (await p).connection.close();
        } catch {
          // A link that never connected has nothing to close.
        }
      }),
    );
  }

  // ---- connections and routing -------------------------------------------------------------------

  /**
   * The link to `host:port`. Group coordinator requests use their own pool (`#groupLinks`), as Kafka's
   * clients do: brokers answer one request per connection at a time, so a JoinGroup parked for a whole
   * rebalance must not hold up fetches and metadata, nor a long fetch hold up heartbeats.
   */
  #link(host: string, port: number, pool: Map<string, Promise<BrokerLink>> = this.#links): Promise<BrokerLink> {
    if (this.#closed) return Promise.reject(new Error('client is closed'));
    const key = `${host}:${port}`;
    const existing = pool.get(key);
    if (existing !== undefined) return existing;
    const created = this.#openLink(host, port);
    pool.set(key, created);
    created.then(
      (link) => {
        // Drop a dead link so the next request reconnects.
        link.connection.onClose(() => {
          if (pool.get(key) === created) pool.delete(key);
        });
      },
      () => {
        if (pool.get(key) === created) pool.delete(key);
      },
    );
    return created;
  }

  async #openLink(host: string, port: number): Promise<BrokerLink> {
    const options: ConnectionOptions = { host, port, codec: this.#codec };
    if (this.#options.clientId !== undefined) options.clientId = this.#options.clientId;
    if (this.#options.requestTimeoutMs !== undefined) options.requestTimeoutMs = this.#options.requestTimeoutMs;
    if (this.#options.connectTimeoutMs !== undefined) options.connectTimeoutMs = this.#options.connectTimeoutMs;
    if (this.#options.maxInFlight !== undefined) options.maxInFlight = this.#options.maxInFlight;
    if (this.#options.maxFrameBytes !== undefined) options.maxFrameBytes = this.#options.maxFrameBytes;
    const connection = await KafkaConnection.connect(options);
    try {
      const versions = await this.#negotiate(connection);
      return { connection, versions };
    } catch (err) {
      await connection.close();
      throw err;
    }
  }

  /** ApiVersions at our highest version; a broker that does not know it answers with a v0 body. */
  async #negotiate(connection: KafkaConnection): Promise<Map<number, VersionRange>> {
    const range = CLIENT_VERSIONS.get(Api.ApiVersions) as VersionRange;
    let version = range.max;
    // At most two rounds: our maximum, then the broker's maximum (or v0).
    for (let round = 0; round < 2; round++) {
      const body =
        version >= 3
          ? { clientSoftwareName: 'tributary-client', clientSoftwareVersion: '0.1.0' }
          : {};
      let response: ApiVersionsBody;
      try {
        response = await connection.request<ApiVersionsBody>(Api.ApiVersions, version, body);
      } catch (err) {
        if (err instanceof ConnectionError || round > 0 || version === 0) throw err;
        version = 0; // Could not decode: the broker answered in an older version.
        continue;
      }
      const versions = new Map<number, VersionRange>();
      for (const k of response.apiKeys ?? []) versions.set(k.apiKey, { min: k.minVersion, max: k.maxVersion });
      if (response.errorCode === 35 && round === 0) {
        const theirs = versions.get(Api.ApiVersions);
        version = theirs ? Math.min(theirs.max, range.max) : 0;
        continue;
      }
      this.#check(response.errorCode, `ApiVersions to broker ${connection.broker}`);
      return versions;
    }
    throw new UnsupportedVersionError(`broker ${connection.broker} rejected every ApiVersions version`);
  }

  async #call<T>(link: BrokerLink, apiKey: number, body: (version: number) => object, timeoutMs?: number): Promise<{ body: T; version: number }> {
    const version = pickVersion(apiKey, link.versions, link.connection.broker);
    const options = timeoutMs === undefined ? {} : { timeoutMs };
    const response = await link.connection.request<T>(apiKey, version, body(version), options);
    return { body: response, version };
  }

  /** Any reachable broker: a known one we already talk to, else the bootstrap list in order. */
  async #anyLink(): Promise<BrokerLink> {
    for (const link of this.#links.values()) {
      try {
        return await link;
      } catch {
        // Try the next.
      }
    }
    const errors: string[] = [];
    for (const { host, port } of this.#bootstrap) {
      try {
        return await this.#link(host, port);
      } catch (err) {
        errors.push((err as Error).message);
      }
    }
    const tried = this.#bootstrap.map((b) => `${b.host}:${b.port}`).join(', ');
    throw new ConnectionError(tried, errors.length === 1 ? (errors[0] as string) : `no bootstrap server reachable (${tried}): ${errors.join('; ')}`);
  }

  async #nodeLink(nodeId: number): Promise<BrokerLink> {
    let broker = this.#brokers.get(nodeId);
    if (broker === undefined) {
      await this.metadata([]);
      broker = this.#brokers.get(nodeId);
    }
    if (broker === undefined) throw new KafkaError(5, 'LEADER_NOT_AVAILABLE', `broker ${nodeId} is not in the cluster metadata`, true);
    return this.#link(broker.host, broker.port);
  }

  async #controllerLink(): Promise<BrokerLink> {
    if (this.#controllerId < 0) await this.metadata([]);
    if (this.#controllerId >= 0 && this.#brokers.has(this.#controllerId)) return this.#nodeLink(this.#controllerId);
    return this.#anyLink();
  }

  async #leaderLink(topic: string, partition: number): Promise<BrokerLink> {
    let leader = this.#leaders.get(`${topic}:${partition}`);
    if (leader === undefined || leader < 0) {
      const md = await this.metadata([topic]);
      const t = md.topics.find((x) => x.name === topic);
      if (t === undefined || t.errorCode !== 0) {
        const code = t?.errorCode ?? 3;
        throw this.#error(code, `topic ${topic}`);
      }
      const p = t.partitions.find((x) => x.partition === partition);
      if (p === undefined) {
        const message = `UNKNOWN_TOPIC_OR_PARTITION: partition ${partition} of topic ${topic} does not exist (the topic has ${t.partitions.length})`;
        throw new KafkaError(3, 'UNKNOWN_TOPIC_OR_PARTITION', message, false);
      }
      leader = p.leader;
    }
    if (leader < 0) throw new KafkaError(5, 'LEADER_NOT_AVAILABLE', `partition ${topic}-${partition} has no leader`, true);
    return this.#nodeLink(leader);
  }

  /** Runs `attempt`, refreshing routing and retrying (bounded) on retriable errors. */
  async #retrying<T>(what: string, attempt: () => Promise<T>, options: { idempotent?: boolean } = {}): Promise<T> {
    const retryConnectionLoss = options.idempotent ?? true;
    let lastError: unknown;
    for (let i = 0; i < this.#maxAttempts; i++) {
      try {
        return await attempt();
      } catch (err) {
        lastError = err;
        // A broker that cannot be reached (killed, moved) means the routing is stale, whether or not we retry here:
        // the next call looks the leader up again instead of dialling the dead broker for ever.
        if (err instanceof ConnectionError) {
          this.#leaders.clear();
          this.#controllerId = -1;
        }
        // A connection that never opened sent nothing, so even a non-idempotent request may go again.
        const connectionRetriable = err instanceof ConnectionError && !this.#closed && (err.neverConnected || (retryConnectionLoss && i === 0));
        const retriable = (err instanceof KafkaError && err.retriable) || connectionRetriable;
        if (!retriable || i === this.#maxAttempts - 1) break;
        this.#leaders.clear();
        this.#controllerId = -1;
        await sleep(Math.min(this.#retryBackoffMs * 2 ** i, 2000));
      }
    }
    if (lastError instanceof KafkaError && lastError.retriable) {
      lastError.message = `${lastError.message} (gave up after ${this.#maxAttempts} attempts: ${what})`;
    }
    throw lastError;
  }

  #error(code: number, context: string, message?: string | null): KafkaError {
    const name = this.#codec.errorName(code);
    const detail = message ? `: ${message}` : '';
    return new KafkaError(code, name, `${name}${detail} (${context})`, RETRIABLE_CODES.has(code));
  }

  #check(code: number, context: string, message?: string | null): void {
    if (code !== 0) throw this.#error(code, context, message);
  }

  // ---- metadata ----------------------------------------------------------------------------------

  /** Cluster metadata; `topics` undefined lists every topic, `[]` lists none (brokers only). */
  async metadata(topics?: string[]): Promise<ClusterMetadata> {
    const link = await this.#anyLink();
    const { body } = await this.#call<MetadataBody>(link, Api.Metadata, (v) => ({
      topics: topics === undefined ? null : topics.map((name) => ({ name })),
      // Only from v4 on can a client refuse auto-creation; before that the field does not exist.
      ...(v >= 4 ? { allowAutoTopicCreation: false } : {}),
    }));
    const brokers: BrokerAddress[] = body.brokers.map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack ?? null }));
    for (const b of brokers) this.#brokers.set(b.nodeId, b);
    this.#controllerId = body.controllerId ?? -1;
    const result: ClusterMetadata = {
      clusterId: body.clusterId ?? null,
      controllerId: body.controllerId ?? -1,
      brokers,
      topics: body.topics.map((t) => ({
        name: t.name ?? '',
        isInternal: t.isInternal ?? false,
        errorCode: t.errorCode,
        errorName: this.#codec.errorName(t.errorCode),
        partitions: t.partitions
          .map((p) => ({
            partition: p.partitionIndex,
            leader: p.leaderId,
            leaderEpoch: p.leaderEpoch ?? -1,
            replicas: p.replicaNodes,
            isr: p.isrNodes,
            offlineReplicas: p.offlineReplicas ?? [],
            errorCode: p.errorCode,
            errorName: this.#codec.errorName(p.errorCode),
          }))
          .sort((a, b) => a.partition - b.partition),
      })),
    };
    for (const t of result.topics) {
      for (const p of t.partitions) this.#leaders.set(`${t.name}:${p.partition}`, p.leader);
    }
    for (const t of body.topics) {
      if (t.name && t.topicId && t.topicId !== ZERO_UUID) {
        this.#topicIds.set(t.name, t.topicId);
        this.#topicNames.set(t.topicId, t.name);
      }
    }
    return result;
  }

  async describeCluster(): Promise<{ clusterId: string; controllerId: number; brokers: BrokerAddress[] }> {
    const link = await this.#anyLink();
    if (!link.versions.has(Api.DescribeCluster)) {
      const md = await this.metadata([]);
      return { clusterId: md.clusterId ?? '', controllerId: md.controllerId, brokers: md.brokers };
    }
    const { body } = await this.#call<{
      errorCode: number;
      errorMessage: string | null;
      clusterId: string;
      controllerId: number;
      brokers: { brokerId: number; host: string; port: number; rack: string | null }[];
    }>(link, Api.DescribeCluster, () => ({ includeClusterAuthorizedOperations: false, endpointType: 1 }));
    this.#check(body.errorCode, 'DescribeCluster', body.errorMessage);
    return {
      clusterId: body.clusterId,
      controllerId: body.controllerId,
      brokers: body.brokers.map((b) => ({ nodeId: b.brokerId, host: b.host, port: b.port, rack: b.rack ?? null })),
    };
  }

  // ---- metadata quorum ---------------------------------------------------------------------------

  /**
   * DescribeQuorum (any broker forwards it to the active controller). A broker without the API fails with
   * UnsupportedVersionError naming it; a top-level or partition error becomes a KafkaError.
   */
  async describeQuorum(): Promise<QuorumInfo> {
    const link = await this.#anyLink();
    const { body, version } = await this.#call<DescribeQuorumBody>(link, Api.DescribeQuorum, () => ({
      topics: [{ topicName: METADATA_TOPIC, partitions: [{ partitionIndex: 0 }] }],
    }));
    return quorumInfoFromResponse(body, version, (code, context, message) => this.#check(code, context, message));
  }

  // ---- topic administration ----------------------------------------------------------------------

  async createTopics(topics: NewTopic[], options: { timeoutMs?: number; validateOnly?: boolean } = {}): Promise<void> {
    const timeoutMs = options.timeoutMs ?? 30_000;
    const { body } = await this.#retrying('CreateTopics', async () => {
      const link = await this.#controllerLink();
      return this.#call<{ topics: { name: string; errorCode: number; errorMessage?: string | null }[] }>(
        link,
        Api.CreateTopics,
        (v) => ({
          topics: topics.map((t) => ({
            name: t.name,
            // -1 asks for the broker's default, which CreateTopics understands from v4 on.
            numPartitions: t.numPartitions ?? (v >= 4 ? -1 : 1),
            replicationFactor: t.replicationFactor ?? (v >= 4 ? -1 : 1),
            assignments: [],
            configs: Object.entries(t.configs ?? {}).map(([name, value]) => ({ name, value })),
          })),
          timeoutMs,
          validateOnly: options.validateOnly ?? false,
        }),
        timeoutMs + 5000,
      );
    });
    for (const t of body.topics) this.#check(t.errorCode, `CreateTopics ${t.name}`, t.errorMessage);
  }

  async deleteTopics(names: string[], options: { timeoutMs?: number } = {}): Promise<void> {
    const timeoutMs = options.timeoutMs ?? 30_000;
    const link = await this.#controllerLink();
    const { body } = await this.#call<{ responses: { name: string | null; errorCode: number; errorMessage?: string | null }[] }>(
      link,
      Api.DeleteTopics,
      (v) => (v >= 6 ? { topics: names.map((name) => ({ name, topicId: ZERO_UUID })), timeoutMs } : { topicNames: names, timeoutMs }),
      timeoutMs + 5000,
    );
    for (const r of body.responses) this.#check(r.errorCode, `DeleteTopics ${r.name ?? ''}`, r.errorMessage);
    for (const name of names) {
      for (const key of [...this.#leaders.keys()]) if (key.startsWith(`${name}:`)) this.#leaders.delete(key);
      const id = this.#topicIds.get(name);
      this.#topicIds.delete(name);
      if (id !== undefined) this.#topicNames.delete(id);
    }
  }

  /** Grows each topic to `count` partitions in total. */
  async createPartitions(topics: { name: string; count: number }[], options: { timeoutMs?: number; validateOnly?: boolean } = {}): Promise<void> {
    const timeoutMs = options.timeoutMs ?? 30_000;
    const link = await this.#controllerLink();
    const { body } = await this.#call<{ results: { name: string; errorCode: number; errorMessage?: string | null }[] }>(
      link,
      Api.CreatePartitions,
      () => ({
        topics: topics.map((t) => ({ name: t.name, count: t.count, assignments: null })),
        timeoutMs,
        validateOnly: options.validateOnly ?? false,
      }),
      timeoutMs + 5000,
    );
    for (const r of body.results) this.#check(r.errorCode, `CreatePartitions ${r.name}`, r.errorMessage);
  }

  /** Configs of topics (resourceType 2) or brokers (4); `keys` null for all. */
  async describeConfigs(
    resources: { type: number; name: string; keys?: string[] | null }[],
  ): Promise<{ type: number; name: string; configs: ConfigEntry[] }[]> {
    const link = await this.#anyLink();
    const { body, version } = await this.#call<{
      results: {
        errorCode: number;
        errorMessage: string | null;
        resourceType: number;
        resourceName: string;
        configs: { name: string; value: string | null; readOnly: boolean; isDefault?: boolean; configSource?: number; isSensitive: boolean }[];
      }[];
    }>(link, Api.DescribeConfigs, () => ({
      resources: resources.map((r) => ({ resourceType: r.type, resourceName: r.name, configurationKeys: r.keys ?? null })),
      includeSynonyms: false,
      includeDocumentation: false,
    }));
    return body.results.map((r) => {
      this.#check(r.errorCode, `DescribeConfigs ${r.resourceName}`, r.errorMessage);
      return {
        type: r.resourceType,
        name: r.resourceName,
        configs: r.configs.map((c) => {
          const source = version >= 1 ? (c.configSource ?? -1) : c.isDefault ? ConfigSource.Default : ConfigSource.Unknown;
          return {
            name: c.name,
            value: c.value,
            readOnly: c.readOnly,
            isDefault: version >= 1 ? source === ConfigSource.Default || source === ConfigSource.StaticBroker : (c.isDefault ?? false),
            source,
            isSensitive: c.isSensitive,
          };
        }),
      };
    });
  }

  async incrementalAlterConfigs(
    resources: { type: number; name: string; alterations: ConfigAlteration[] }[],
    options: { validateOnly?: boolean } = {},
  ): Promise<void> {
    const link = await this.#controllerLink();
    const { body } = await this.#call<{ responses: { errorCode: number; errorMessage: string | null; resourceName: string }[] }>(
      link,
      Api.IncrementalAlterConfigs,
      () => ({
        resources: resources.map((r) => ({
          resourceType: r.type,
          resourceName: r.name,
          configs: r.alterations.map((a) => ({
            name: a.name,
            configOperation: CONFIG_OPERATION[a.op],
            value: a.op === 'delete' ? null : a.value,
          })),
        })),
        validateOnly: options.validateOnly ?? false,
      }),
    );
    for (const r of body.responses) this.#check(r.errorCode, `IncrementalAlterConfigs ${r.resourceName}`, r.errorMessage);
  }

  /**
   * Leader elections through the controller (any broker forwards them). `partitions` null asks for every
   * partition; the answer then lists only partitions whose election was tried. Per-partition outcomes are
   * returned, not thrown (ELECTION_NOT_NEEDED is an answer, not a failure); a top-level error throws.
   */
  async electLeaders(type: ElectionTypeName, partitions: { topic: string; partition: number }[] | null, options: { timeoutMs?: number } = {}): Promise<ElectionResult[]> {
    const timeoutMs = options.timeoutMs ?? 60_000;
    const electionType = type === 'unclean' ? ElectionType.Unclean : ElectionType.Preferred;
    const byTopic = new Map<string, number[]>();
    for (const p of partitions ?? []) {
      const list = byTopic.get(p.topic) ?? [];
      if (!list.includes(p.partition)) list.push(p.partition);
      byTopic.set(p.topic, list);
    }
    const { body } = await this.#retrying('ElectLeaders', async () => {
      const link = await this.#controllerLink();
      const version = pickVersion(Api.ElectLeaders, link.versions, link.connection.broker);
      if (version === 0 && electionType !== ElectionType.Preferred) {
        throw new UnsupportedVersionError(`broker ${link.connection.broker} supports only ElectLeaders v0, which cannot ask for an unclean election`);
      }
      const result = await this.#call<{
        errorCode?: number;
        replicaElectionResults: { topic: string; partitionResult: { partitionId: number; errorCode: number; errorMessage: string | null }[] }[];
      }>(
        link,
        Api.ElectLeaders,
        () => ({ electionType, topicPartitions: partitions === null ? null : [...byTopic].map(([topic, ps]) => ({ topic, partitions: ps })), timeoutMs }),
        timeoutMs + 5000,
      );
      this.#check(result.body.errorCode ?? 0, 'ElectLeaders');
      return result;
    });
    return body.replicaElectionResults.flatMap((t) =>
      t.partitionResult.map((p) => ({
        topic: t.topic,
        partition: p.partitionId,
        error: p.errorCode === 0 ? null : this.#error(p.errorCode, `ElectLeaders ${t.topic}-${p.partitionId}`, p.errorMessage),
      })),
    );
  }

  /**
   * Starts, changes or cancels (replicas null) partition reassignments through the controller. Per-partition
   * errors come back in the results; a request-level error (e.g. POLICY_VIOLATION) throws.
   */
  async alterPartitionReassignments(reassignments: readonly PartitionReassignment[], options: { timeoutMs?: number } = {}): Promise<ReassignmentResult[]> {
    const timeoutMs = options.timeoutMs ?? 60_000;
    const byTopic = new Map<string, { partitionIndex: number; replicas: number[] | null }[]>();
    for (const r of reassignments) {
      const list = byTopic.get(r.topic) ?? [];
      list.push({ partitionIndex: r.partition, replicas: r.replicas === null ? null : [...r.replicas] });
      byTopic.set(r.topic, list);
    }
    const { body } = await this.#retrying('AlterPartitionReassignments', async () => {
      const link = await this.#controllerLink();
      const result = await this.#call<{
        errorCode: number;
        errorMessage: string | null;
        responses: { name: string; partitions: { partitionIndex: number; errorCode: number; errorMessage: string | null }[] }[];
      }>(link, Api.AlterPartitionReassignments, () => ({ timeoutMs, topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })) }), timeoutMs + 5000);
      this.#check(result.body.errorCode, 'AlterPartitionReassignments', result.body.errorMessage);
      return result;
    });
    return body.responses.flatMap((t) =>
      t.partitions.map((p) => ({
        topic: t.name,
        partition: p.partitionIndex,
        error: p.errorCode === 0 ? null : this.#error(p.errorCode, `AlterPartitionReassignments ${t.name}-${p.partitionIndex}`, p.errorMessage),
      })),
    );
  }

  /** Reassignments in progress among `partitions` (null: all of them), as the controller has them. */
  async listPartitionReassignments(partitions: readonly { topic: string; partition: number }[] | null, options: { timeoutMs?: number } = {}): Promise<OngoingReassignment[]> {
    const timeoutMs = options.timeoutMs ?? 60_000;
    const byTopic = new Map<string, number[]>();
    for (const p of partitions ?? []) {
      const list = byTopic.get(p.topic) ?? [];
      if (!list.includes(p.partition)) list.push(p.partition);
      byTopic.set(p.topic, list);
    }
    const { body } = await this.#retrying('ListPartitionReassignments', async () => {
      const link = await this.#controllerLink();
      const result = await this.#call<{
        errorCode: number;
        errorMessage: string | null;
        topics: { name: string; partitions: { partitionIndex: number; replicas: number[]; addingReplicas: number[]; removingReplicas: number[] }[] }[];
      }>(
        link,
        Api.ListPartitionReassignments,
        () => ({ timeoutMs, topics: partitions === null ? null : [...byTopic].map(([name, partitionIndexes]) => ({ name, partitionIndexes })) }),
        timeoutMs + 5000,
      );
      this.#check(result.body.errorCode, 'ListPartitionReassignments', result.body.errorMessage);
      return result;
    });
    return body.topics.flatMap((t) =>
      t.partitions.map((p) => ({ topic: t.name, partition: p.partitionIndex, replicas: p.replicas, addingReplicas: p.addingReplicas, removingReplicas: p.removingReplicas })),
    );
  }

  /**
   * The log dirs of broker `brokerId` and the partition replicas in them, with their sizes on disk. Sent to that
   * broker itself (each broker answers only for its own dirs), not to any broker. `topics` undefined or null: every
   * replica it hosts; a topic name stands for all of its partitions (an unknown topic throws).
   */
  async describeLogDirs(brokerId: number, topics?: readonly TopicSelection[] | null, options: { timeoutMs?: number } = {}): Promise<LogDirDescription[]> {
    const wanted = topics === undefined || topics === null ? null : await this.#resolveSelection([...topics]);
    const context = `DescribeLogDirs at broker ${brokerId}`;
    const { body } = await this.#retrying(context, async () => {
      const link = await this.#nodeLink(brokerId);
      const result = await this.#call<{
        errorCode?: number;
        results: {
          errorCode: number;
          logDir: string;
          topics: { name: string; partitions: { partitionIndex: number; partitionSize: number; offsetLag: number; isFutureKey: boolean }[] }[];
          totalBytes?: number;
          usableBytes?: number;
        }[];
      }>(link, Api.DescribeLogDirs, () => ({ topics: wanted }), options.timeoutMs);
      this.#check(result.body.errorCode ?? 0, context);
      return result;
    });
    return body.results.map((d) => ({
      logDir: d.logDir,
      error: d.errorCode === 0 ? null : this.#error(d.errorCode, `${context}, log dir ${d.logDir}`),
      totalBytes: d.totalBytes ?? -1,
      usableBytes: d.usableBytes ?? -1,
      replicas: d.topics.flatMap((t) =>
        t.partitions.map((p) => ({ topic: t.name, partition: p.partitionIndex, sizeBytes: p.partitionSize, offsetLag: p.offsetLag, isFuture: p.isFutureKey })),
      ),
    }));
  }

  // ---- partitions --------------------------------------------------------------------------------

  /** The offset for `timestamp` (or OffsetSpec.Latest / Earliest) in one partition. */
  async listOffsets(topic: string, partition: number, timestamp: number): Promise<{ offset: number; timestamp: number }> {
    return this.#retrying(`ListOffsets ${topic}-${partition}`, async () => {
      const link = await this.#leaderLink(topic, partition);
      const { body } = await this.#call<{
        topics: { name: string; partitions: { partitionIndex: number; errorCode: number; offset: number; timestamp: number }[] }[];
      }>(link, Api.ListOffsets, () => ({
        replicaId: -1,
        isolationLevel: 0,
        topics: [{ name: topic, partitions: [{ partitionIndex: partition, currentLeaderEpoch: -1, timestamp, maxNumOffsets: 1 }] }],
        timeoutMs: 30_000,
      }));
      const p = this.#onlyPartition(body.topics, (t) => t.name, (t) => t.partitions, (x) => x.partitionIndex, topic, partition, 'ListOffsets');
      this.#check(p.errorCode, `ListOffsets ${topic}-${partition} at broker ${link.connection.broker}`);
      return { offset: p.offset, timestamp: p.timestamp };
    });
  }

  /**
   * Where `leaderEpoch` ends on the partition's leader, as a consumer asks it to detect log truncation
   * (KIP-320): an end offset below the consumer's position means records it read are gone. With
   * `currentLeaderEpoch` (>= 0) a leader of another epoch answers FENCED_LEADER_EPOCH or UNKNOWN_LEADER_EPOCH.
   */
  async offsetForLeaderEpoch(topic: string, partition: number, leaderEpoch: number, currentLeaderEpoch = -1): Promise<EpochEndOffset> {
    return this.#retrying(`OffsetForLeaderEpoch ${topic}-${partition}`, async () => {
      const link = await this.#leaderLink(topic, partition);
      const { body } = await this.#call<{
        topics: { topic: string; partitions: { errorCode: number; partition: number; leaderEpoch?: number; endOffset: number }[] }[];
      }>(link, Api.OffsetForLeaderEpoch, () => ({ replicaId: -1, topics: [{ topic, partitions: [{ partition, currentLeaderEpoch, leaderEpoch }] }] }));
      const p = this.#onlyPartition(body.topics, (t) => t.topic, (t) => t.partitions, (x) => x.partition, topic, partition, 'OffsetForLeaderEpoch');
      const context = `OffsetForLeaderEpoch ${topic}-${partition} at broker ${link.connection.broker}`;
      if (currentLeaderEpoch >= 0 && (p.errorCode === 74 || p.errorCode === 75)) {
        // The caller's epoch is stale or ahead: asking again with the same epoch cannot help, its metadata must move.
        const e = this.#error(p.errorCode, context);
        throw new KafkaError(e.code, e.name, e.message, false);
      }
      this.#check(p.errorCode, context);
      return { leaderEpoch: p.leaderEpoch ?? -1, endOffset: p.endOffset };
    });
  }

  /** Appends `records` as one batch and returns the offset of its first record (-1 with acks=0). */
  async produce(topic: string, partition: number, records: ProducerRecord[], options: ProduceOptions = {}): Promise<number> {
    assert(records.length > 0, 'produce needs at least one record');
    const acks = options.acks ?? -1;
    const timeoutMs = options.timeoutMs ?? 30_000;
    const batch = this.#codec.encodeRecordBatch(records, options.compression ?? 'none', Date.now());
    return this.#retrying(`Produce ${topic}-${partition}`, async () => {
      const link = await this.#leaderLink(topic, partition);
      const version = pickVersion(Api.Produce, link.versions, link.connection.broker);
      const request = {
        transactionalId: null,
        acks,
        timeoutMs,
        topicData: [{ name: topic, partitionData: [{ index: partition, records: batch }] }],
      };
      if (acks === 0) {
        await link.connection.request(Api.Produce, version, request, { expectResponse: false });
        return -1;
      }
      const body = await link.connection.request<{
        responses: {
          name: string;
          partitionResponses: { index: number; errorCode: number; baseOffset: number; errorMessage?: string | null }[];
        }[];
      }>(Api.Produce, version, request, { timeoutMs: timeoutMs + 5000 });
      const p = this.#onlyPartition(body.responses, (t) => t.name, (t) => t.partitionResponses, (x) => x.index, topic, partition, 'Produce');
      this.#check(p.errorCode, `Produce ${topic}-${partition} at broker ${link.connection.broker}`, p.errorMessage);
      return p.baseOffset;
    }, { idempotent: false }); // A produce lost with its connection may have been appended: never resend it.
  }

  /** Records at and after `offset` (at most about `maxBytes`), and the partition's high watermark. */
  async fetch(topic: string, partition: number, offset: number, options: FetchOptions = {}): Promise<FetchResult> {
    const maxWaitMs = options.maxWaitMs ?? 500;
    const maxBytes = options.maxBytes ?? 1024 * 1024;
    return this.#retrying(`Fetch ${topic}-${partition}`, async () => {
      const link = await this.#leaderLink(topic, partition);
      const topicId = this.#topicIds.get(topic);
      // Fetch 13+ names topics by id; without one (metadata older than v10) stay at 12.
      let version = pickVersion(Api.Fetch, link.versions, link.connection.broker);
      if (version >= 13 && topicId === undefined) version = 12;
      const request = {
        replicaId: -1,
        maxWaitMs,
        minBytes: options.minBytes ?? 1,
        maxBytes,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [
          {
            ...(version >= 13 ? { topicId } : { topic }),
            partitions: [
              {
                partition,
                currentLeaderEpoch: -1,
                fetchOffset: offset,
                lastFetchedEpoch: -1,
                logStartOffset: -1,
                partitionMaxBytes: maxBytes,
              },
            ],
          },
        ],
        forgottenTopicsData: [],
        rackId: '',
      };
      const body = await link.connection.request<{
        errorCode?: number;
        responses: {
          topic?: string;
          topicId?: string;
          partitions: {
            partitionIndex: number;
            errorCode: number;
            highWatermark: number;
            lastStableOffset?: number;
            logStartOffset?: number;
            records: Buffer | null;
          }[];
        }[];
      }>(Api.Fetch, version, request, { timeoutMs: maxWaitMs + 30_000 });
      this.#check(body.errorCode ?? 0, `Fetch ${topic}-${partition} at broker ${link.connection.broker}`);
      const p = this.#onlyPartition(body.responses, (t) => (version >= 13 ? this.#topicNames.get(t.topicId ?? '') : t.topic), (t) => t.partitions, (x) => x.partitionIndex, topic, partition, 'Fetch');
      this.#check(p.errorCode, `Fetch ${topic}-${partition} at broker ${link.connection.broker}`);
      const all = p.records === null || p.records.length === 0 ? [] : this.#codec.decodeRecordSet(p.records);
      // A batch can start before the requested offset; its earlier records were already consumed.
      const records = all.filter((r) => r.offset >= offset);
      return {
        records,
        highWatermark: p.highWatermark,
        logStartOffset: p.logStartOffset ?? -1,
        lastStableOffset: p.lastStableOffset ?? -1,
      };
    });
  }

  /** Deletes records before `offset` (-1: the high watermark); returns the new low watermark. */
  async deleteRecords(topic: string, partition: number, offset: number, options: { timeoutMs?: number } = {}): Promise<number> {
    const timeoutMs = options.timeoutMs ?? 30_000;
    return this.#retrying(`DeleteRecords ${topic}-${partition}`, async () => {
      const link = await this.#leaderLink(topic, partition);
      const { body } = await this.#call<{
        topics: { name: string; partitions: { partitionIndex: number; lowWatermark: number; errorCode: number }[] }[];
      }>(
        link,
        Api.DeleteRecords,
        () => ({ topics: [{ name: topic, partitions: [{ partitionIndex: partition, offset }] }], timeoutMs }),
        timeoutMs + 5000,
      );
      const p = this.#onlyPartition(body.topics, (t) => t.name, (t) => t.partitions, (x) => x.partitionIndex, topic, partition, 'DeleteRecords');
      this.#check(p.errorCode, `DeleteRecords ${topic}-${partition} at broker ${link.connection.broker}`);
      return p.lowWatermark;
    });
  }

  /**
   * Fetches several partitions at once: one Fetch per leader (in parallel), each returning as soon as any
   * of its partitions has data or after `maxWaitMs`. Partition errors come back per partition (a stale
   * leader also drops the cached route, so the next call looks it up again); a lost connection rejects.
   * `maxBytes` is per partition.
   */
  async fetchMany(partitions: FetchPartitionRequest[], options: FetchOptions = {}): Promise<FetchPartitionResult[]> {
    const maxWaitMs = options.maxWaitMs ?? 500;
    const partitionMaxBytes = options.maxBytes ?? 1024 * 1024;
    const results = new Map<string, FetchPartitionResult>();
    const key = (topic: string, partition: number): string => `${topic}\0${partition}`;
    const failed = (r: FetchPartitionRequest, error: KafkaError): FetchPartitionResult => ({
      topic: r.topic,
      partition: r.partition,
      error,
      records: [],
      highWatermark: -1,
      logStartOffset: -1,
      lastStableOffset: -1,
    });
    const unknown = [...new Set(partitions.filter((r) => (this.#leaders.get(`${r.topic}:${r.partition}`) ?? -1) < 0).map((r) => r.topic))];
    if (unknown.length > 0) await this.metadata(unknown);
    const byLeader = new Map<number, FetchPartitionRequest[]>();
    for (const r of partitions) {
      const leader = this.#leaders.get(`${r.topic}:${r.partition}`);
      if (leader === undefined) {
        results.set(key(r.topic, r.partition), failed(r, this.#error(3, `Fetch ${r.topic}-${r.partition}`, 'no such topic or partition')));
      } else if (leader < 0) {
        results.set(key(r.topic, r.partition), failed(r, this.#error(5, `Fetch ${r.topic}-${r.partition}`, 'the partition has no leader')));
      } else {
        byLeader.set(leader, [...(byLeader.get(leader) ?? []), r]);
      }
    }
    await Promise.all(
      [...byLeader.entries()].map(async ([leader, asked]) => {
        const link = await this.#nodeLink(leader);
        const broker = link.connection.broker;
        let version = pickVersion(Api.Fetch, link.versions, broker);
        if (version >= 13 && asked.some((r) => !this.#topicIds.has(r.topic))) version = 12;
        const topics = new Map<string, FetchPartitionRequest[]>();
        for (const r of asked) topics.set(r.topic, [...(topics.get(r.topic) ?? []), r]);
        const request = {
          replicaId: -1,
          maxWaitMs,
          minBytes: options.minBytes ?? 1,
          maxBytes: Math.min(partitionMaxBytes * asked.length, 256 * 1024 * 1024),
          isolationLevel: 0,
          sessionId: 0,
          sessionEpoch: -1,
          topics: [...topics.entries()].map(([topic, rs]) => ({
            ...(version >= 13 ? { topicId: this.#topicIds.get(topic) } : { topic }),
            partitions: rs.map((r) => ({
              partition: r.partition,
              currentLeaderEpoch: -1,
              fetchOffset: r.offset,
              lastFetchedEpoch: -1,
              logStartOffset: -1,
              partitionMaxBytes,
            })),
          })),
          forgottenTopicsData: [],
          rackId: '',
        };
        const body = await link.connection.request<{
          errorCode?: number;
          responses: {
            topic?: string;
            topicId?: string;
            partitions: { partitionIndex: number; errorCode: number; highWatermark: number; lastStableOffset?: number; logStartOffset?: number; records: Buffer | null }[];
          }[];
        }>(Api.Fetch, version, request, { timeoutMs: maxWaitMs + (this.#options.requestTimeoutMs ?? 30_000) });
        this.#check(body.errorCode ?? 0, `Fetch at broker ${broker}`);
        const offsets = new Map(asked.map((r) => [key(r.topic, r.partition), r.offset]));
        for (const t of body.responses) {
          const topic = version >= 13 ? this.#topicNames.get(t.topicId ?? '') : t.topic;
          if (topic === undefined) continue;
          for (const p of t.partitions) {
            const offset = offsets.get(key(topic, p.partitionIndex));
            if (offset === undefined) continue; // Not asked for.
            const r = { topic, partition: p.partitionIndex, offset };
            if (p.errorCode !== 0) {
              if (STALE_LEADER_CODES.has(p.errorCode)) this.#leaders.delete(`${topic}:${p.partitionIndex}`);
              results.set(key(topic, p.partitionIndex), failed(r, this.#error(p.errorCode, `Fetch ${topic}-${p.partitionIndex} at broker ${broker}`)));
              continue;
            }
            const all = p.records === null || p.records.length === 0 ? [] : this.#codec.decodeRecordSet(p.records);
            results.set(key(topic, p.partitionIndex), {
              topic,
              partition: p.partitionIndex,
              error: null,
              // A batch can start before the requested offset; its earlier records were already consumed.
              records: all.filter((x) => x.offset >= offset),
              highWatermark: p.highWatermark,
              logStartOffset: p.logStartOffset ?? -1,
              lastStableOffset: p.lastStableOffset ?? -1,
            });
          }
        }
      }),
    );
    return partitions.map(
      (r) => results.get(key(r.topic, r.partition)) ?? failed(r, new KafkaError(-1, 'UNKNOWN_SERVER_ERROR', `Fetch response is missing ${r.topic}-${r.partition}`)),
    );
  }

  // ---- consumer groups ---------------------------------------------------------------------------

  /** The broker coordinating `groupId` (FindCoordinator), retried while the coordinator is unavailable. */
  async findCoordinator(groupId: string): Promise<BrokerAddress> {
    // Through `#coordinated`, so an unreachable coordinator is looked up again.
    return this.#coordinated(groupId, `FindCoordinator ${groupId}`, async (_link, coordinator) => coordinator);
  }

  async #lookupCoordinator(groupId: string): Promise<BrokerAddress> {
    const cached = this.#coordinators.get(groupId);
    if (cached !== undefined) return cached;
    const link = await this.#anyLink();
    type Entry = { key?: string; nodeId: number; host: string; port: number; errorCode: number; errorMessage?: string | null };
    const { body, version } = await this.#call<Entry & { coordinators?: Entry[] }>(link, Api.FindCoordinator, (v) =>
      v >= 4 ? { keyType: GROUP_KEY_TYPE, coordinatorKeys: [groupId] } : { key: groupId, keyType: GROUP_KEY_TYPE },
    );
    const entry = version >= 4 ? (body.coordinators ?? []).find((c) => c.key === groupId) : body;
    if (entry === undefined) throw new Error(`FindCoordinator response from broker ${link.connection.broker} has no entry for group ${groupId}`);
    this.#check(entry.errorCode, `FindCoordinator ${groupId} at broker ${link.connection.broker}`, entry.errorMessage);
    const address: BrokerAddress = { nodeId: entry.nodeId, host: entry.host, port: entry.port, rack: this.#brokers.get(entry.nodeId)?.rack ?? null };
    if (this.#coordinators.size >= MAX_CACHED_COORDINATORS) this.#coordinators.clear();
    this.#coordinators.set(groupId, address);
    return address;
  }

  /**
   * Runs `attempt` against the coordinator of `groupId`, on the coordinator connection pool. On
   * COORDINATOR_LOAD_IN_PROGRESS it waits and retries; on NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE or
   * an unreachable coordinator it finds the coordinator again and retries; both with exponential backoff,
   * at most `maxAttempts` times. A connection lost after the request went out is retried only for
   * idempotent calls. `attempt` must throw (via `#check`) for coordinator errors anywhere in its response.
   */
  async #coordinated<T>(
    groupId: string,
    what: string,
    attempt: (link: BrokerLink, coordinator: BrokerAddress) => Promise<T>,
    options: { idempotent?: boolean } = {},
  ): Promise<T> {
    const idempotent = options.idempotent ?? true;
    let lastError: unknown;
    for (let i = 0; i < this.#maxAttempts; i++) {
      let sent = false;
      try {
        const coordinator = await this.#lookupCoordinator(groupId);
        const link = await this.#link(coordinator.host, coordinator.port, this.#groupLinks);
        sent = true;
        return await attempt(link, coordinator);
      } catch (err) {
        lastError = err;
        const code = err instanceof KafkaError ? err.code : -1;
        const lost = err instanceof ConnectionError;
        if (code === COORDINATOR_NOT_AVAILABLE || code === NOT_COORDINATOR || lost) this.#coordinators.delete(groupId);
        const retriable = COORDINATOR_CODES.has(code) || (lost && !this.#closed && (!sent || idempotent));
        if (!retriable || i === this.#maxAttempts - 1) break;
        await sleep(Math.min(this.#retryBackoffMs * 2 ** i, 2000));
      }
    }
    if (lastError instanceof KafkaError && COORDINATOR_CODES.has(lastError.code)) {
      lastError.message = `${lastError.message} (gave up after ${this.#maxAttempts} attempts: ${what})`;
    }
    throw lastError;
  }

  /** Throws for a coordinator error, so `#coordinated` retries; other codes are the caller's to handle. */
  #checkCoordinator(code: number, context: string): void {
    if (COORDINATOR_CODES.has(code)) throw this.#error(code, context);
  }

  /** Every group on every broker (ListGroups), optionally only those in `states` (e.g. `Stable`, `Empty`). */
  async listGroups(options: { states?: string[] } = {}): Promise<GroupListing[]> {
    const states = options.states ?? [];
    const md = await this.metadata([]);
    const perBroker = await Promise.all(
      md.brokers.map((b) =>
        this.#retrying(`ListGroups at broker ${b.nodeId}`, async () => {
          const link = await this.#link(b.host, b.port);
          const broker = link.connection.broker;
          const { body, version } = await this.#call<{ errorCode: number; groups: { groupId: string; protocolType: string; groupState?: string }[] }>(
            link,
            Api.ListGroups,
            (v) => {
              if (v < 4 && states.length > 0) throw new UnsupportedVersionError(`broker ${broker} cannot filter groups by state (needs ListGroups v4)`);
              return { statesFilter: states, typesFilter: [] };
            },
          );
          this.#check(body.errorCode, `ListGroups at broker ${broker}`);
          return body.groups.map((g) => ({ groupId: g.groupId, protocolType: g.protocolType, state: version >= 4 ? (g.groupState ?? null) : null }));
        }),
      ),
    );
    const byId = new Map<string, GroupListing>();
    for (const groups of perBroker) for (const g of groups) byId.set(g.groupId, g);
    return [...byId.values()].sort((a, b) => (a.groupId < b.groupId ? -1 : a.groupId > b.groupId ? 1 : 0));
  }

  /**
   * Describes groups at their coordinators. Members' subscriptions and assignments are decoded when the
   * group uses the consumer protocol. A group that does not exist comes back in state Dead with no members.
   */
  async describeGroups(groupIds: string[]): Promise<GroupDescription[]> {
    return Promise.all(
      groupIds.map((groupId) =>
        this.#coordinated(groupId, `DescribeGroups ${groupId}`, async (link, coordinator) => {
          const context = `DescribeGroups ${groupId} at broker ${link.connection.broker}`;
          const { body } = await this.#call<{
            groups: {
              errorCode: number;
              groupId: string;
              groupState: string;
              protocolType: string;
              protocolData: string;
              members: { memberId: string; groupInstanceId?: string | null; clientId: string; clientHost: string; memberMetadata: Buffer; memberAssignment: Buffer }[];
            }[];
          }>(link, Api.DescribeGroups, () => ({ groups: [groupId], includeAuthorizedOperations: false }));
          const g = body.groups.find((x) => x.groupId === groupId);
          if (g === undefined) throw new Error(`${context}: the response has no entry for the group`);
          this.#checkCoordinator(g.errorCode, context);
          this.#check(g.errorCode, context);
          const consumer = g.protocolType === 'consumer';
          const decode = <T>(bytes: Buffer, fn: (b: Buffer) => T): T | null => {
            if (!consumer || bytes.length === 0) return null;
            try {
              return fn(bytes);
            } catch (err) {
              if (err instanceof ConsumerProtocolError) return null; // Not what a consumer sends; show no details.
              throw err;
            }
          };
          return {
            groupId: g.groupId,
            state: g.groupState,
            protocolType: g.protocolType,
            protocol: g.protocolData,
            coordinator,
            members: g.members.map((m) => ({
              memberId: m.memberId,
              groupInstanceId: m.groupInstanceId ?? null,
              clientId: m.clientId,
              clientHost: m.clientHost,
              subscription: decode(m.memberMetadata, decodeSubscription),
              assignment: decode(m.memberAssignment, decodeAssignment),
            })),
          };
        }),
      ),
    );
  }

  /**
   * Deletes groups without members, and their committed offsets. Each group's outcome comes back
   * separately: `error` is e.g. NON_EMPTY_GROUP or GROUP_ID_NOT_FOUND, or null when it was deleted.
   */
  async deleteGroups(groupIds: string[]): Promise<{ groupId: string; error: KafkaError | null }[]> {
    return Promise.all(
      groupIds.map((groupId) =>
        this.#coordinated(groupId, `DeleteGroups ${groupId}`, async (link) => {
          const context = `DeleteGroups ${groupId} at broker ${link.connection.broker}`;
          const { body } = await this.#call<{ results: { groupId: string; errorCode: number }[] }>(link, Api.DeleteGroups, () => ({ groupsNames: [groupId] }));
          const r = body.results.find((x) => x.groupId === groupId);
          if (r === undefined) throw new Error(`${context}: the response has no entry for the group`);
          this.#checkCoordinator(r.errorCode, context);
          return { groupId, error: r.errorCode === 0 ? null : this.#error(r.errorCode, `DeleteGroups ${groupId}`, groupErrorDetail(r.errorCode, groupId)) };
        }),
      ),
    );
  }

  /** Resolves topic names to every partition they have now. */
  async #resolveSelection(topics: TopicSelection[]): Promise<{ topic: string; partitions: number[] }[]> {
    const names = [...new Set(topics.filter((t): t is string => typeof t === 'string'))];
    const counts = new Map<string, number[]>();
    if (names.length > 0) {
      const md = await this.metadata(names);
      for (const name of names) {
        const t = md.topics.find((x) => x.name === name);
        if (t === undefined || t.errorCode !== 0) throw this.#error(t?.errorCode ?? 3, `topic ${name}`);
        counts.set(name, t.partitions.map((p) => p.partition));
      }
    }
    const out = new Map<string, Set<number>>();
    for (const t of topics) {
      const [topic, partitions] = typeof t === 'string' ? [t, counts.get(t) as number[]] : [t.topic, t.partitions];
      const set = out.get(topic) ?? new Set<number>();
      for (const p of partitions) set.add(p);
      out.set(topic, set);
    }
    return [...out.entries()].map(([topic, set]) => ({ topic, partitions: [...set].sort((a, b) => a - b) }));
  }

  /**
   * The group's committed offsets: for the given topics (every partition, offset -1 where none is
   * committed), or, with no topics, every partition the group has an offset for.
   */
  async offsetFetch(groupId: string, topics?: TopicSelection[] | null): Promise<CommittedOffset[]> {
    const selection = topics === undefined || topics === null ? null : await this.#resolveSelection(topics);
    const fetched = await this.#coordinated(groupId, `OffsetFetch ${groupId}`, async (link) => {
      const context = `OffsetFetch ${groupId} at broker ${link.connection.broker}`;
      const asked = selection?.map((t) => ({ name: t.topic, partitionIndexes: t.partitions })) ?? null;
      type Partition = { partitionIndex: number; committedOffset: number; committedLeaderEpoch?: number; metadata: string | null; errorCode: number };
      type Topic = { name: string; partitions: Partition[] };
      const { body, version } = await this.#call<{ errorCode?: number; topics: Topic[]; groups?: { groupId: string; topics: Topic[]; errorCode: number }[] }>(
        link,
        Api.OffsetFetch,
        (v) => {
          if (v >= 8) return { groups: [{ groupId, memberId: null, memberEpoch: -1, topics: asked }], requireStable: false };
          if (v < 2 && asked === null) throw new UnsupportedVersionError(`broker ${link.connection.broker} cannot fetch all offsets of a group (needs OffsetFetch v2)`);
          return { groupId, topics: asked, requireStable: false };
        },
      );
      let errorCode = body.errorCode ?? 0;
      let result = body.topics;
      if (version >= 8) {
        const g = (body.groups ?? []).find((x) => x.groupId === groupId);
        if (g === undefined) throw new Error(`${context}: the response has no entry for the group`);
        errorCode = g.errorCode;
        result = g.topics;
      }
      this.#checkCoordinator(errorCode, context);
      this.#check(errorCode, context);
      const out: CommittedOffset[] = [];
      for (const t of result) {
        for (const p of t.partitions) {
          this.#checkCoordinator(p.errorCode, context);
          this.#check(p.errorCode, `OffsetFetch ${groupId} ${t.name}-${p.partitionIndex}`);
          out.push({ topic: t.name, partition: p.partitionIndex, offset: p.committedOffset, leaderEpoch: p.committedLeaderEpoch ?? -1, metadata: p.metadata });
        }
      }
      return out;
    });
    return fetched.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
  }

  /**
   * Commits offsets for a group. Without `member` it commits as no member (generation -1), which the
   * coordinator accepts only while the group has no members. The first partition error is thrown
   * (e.g. UNKNOWN_MEMBER_ID for an active group, REBALANCE_IN_PROGRESS, ILLEGAL_GENERATION).
   */
  async offsetCommit(groupId: string, offsets: OffsetToCommit[], member: GroupMemberIdentity = { generationId: -1, memberId: '' }): Promise<void> {
    if (offsets.length === 0) return;
    const byTopic = new Map<string, OffsetToCommit[]>();
    for (const o of offsets) {
      assert(Number.isSafeInteger(o.offset) && o.offset >= 0, `offset to commit must be a non-negative integer, got ${o.offset}`);
      byTopic.set(o.topic, [...(byTopic.get(o.topic) ?? []), o]);
    }
    await this.#coordinated(groupId, `OffsetCommit ${groupId}`, async (link) => {
      const context = `OffsetCommit ${groupId} at broker ${link.connection.broker}`;
      const { body } = await this.#call<{ topics: { name: string; partitions: { partitionIndex: number; errorCode: number }[] }[] }>(link, Api.OffsetCommit, (v) => ({
        groupId,
        generationIdOrMemberEpoch: member.generationId,
        memberId: member.memberId,
        groupInstanceId: v >= 7 ? (member.groupInstanceId ?? null) : null,
        retentionTimeMs: -1,
        topics: [...byTopic.entries()].map(([name, ps]) => ({
          name,
          partitions: ps.map((o) => ({
            partitionIndex: o.partition,
            committedOffset: o.offset,
            committedLeaderEpoch: v >= 6 ? (o.leaderEpoch ?? -1) : -1,
            commitTimestamp: -1,
            committedMetadata: o.metadata ?? '',
          })),
        })),
      }));
      for (const t of body.topics) for (const p of t.partitions) this.#checkCoordinator(p.errorCode, context);
      for (const t of body.topics) {
        for (const p of t.partitions) {
          if (p.errorCode !== 0) throw this.#error(p.errorCode, `OffsetCommit ${groupId} ${t.name}-${p.partitionIndex}`, groupErrorDetail(p.errorCode, groupId));
        }
      }
    });
  }

  /**
   * Deletes committed offsets of a group (OffsetDelete). A group-wide error (GROUP_ID_NOT_FOUND,
   * NON_EMPTY_GROUP) is thrown; partition errors (GROUP_SUBSCRIBED_TO_TOPIC) come back per partition.
   */
  async offsetDelete(groupId: string, topics: TopicSelection[]): Promise<{ topic: string; partition: number; error: KafkaError | null }[]> {
    const selection = await this.#resolveSelection(topics);
    return this.#coordinated(groupId, `OffsetDelete ${groupId}`, async (link) => {
      const context = `OffsetDelete ${groupId} at broker ${link.connection.broker}`;
      const { body } = await this.#call<{ errorCode: number; topics: { name: string; partitions: { partitionIndex: number; errorCode: number }[] }[] }>(
        link,
        Api.OffsetDelete,
        () => ({ groupId, topics: selection.map((t) => ({ name: t.topic, partitions: t.partitions.map((partitionIndex) => ({ partitionIndex })) })) }),
      );
      this.#checkCoordinator(body.errorCode, context);
      if (body.errorCode !== 0) throw this.#error(body.errorCode, `OffsetDelete ${groupId}`, groupErrorDetail(body.errorCode, groupId));
      for (const t of body.topics) for (const p of t.partitions) this.#checkCoordinator(p.errorCode, context);
      return body.topics.flatMap((t) =>
        t.partitions.map((p) => ({
          topic: t.name,
          partition: p.partitionIndex,
          error: p.errorCode === 0 ? null : this.#error(p.errorCode, `OffsetDelete ${groupId} ${t.name}-${p.partitionIndex}`, groupErrorDetail(p.errorCode, groupId)),
        })),
      );
    });
  }

  // ---- group membership (used by GroupConsumer) -----------------------------------------------------

  /** JoinGroup; the broker may hold it for the whole rebalance, so it waits up to the rebalance timeout. */
  async joinGroup(request: JoinGroupRequest): Promise<JoinGroupResult> {
    const timeoutMs = Math.max(this.#options.requestTimeoutMs ?? 30_000, request.rebalanceTimeoutMs + 5000);
    return this.#coordinated(
      request.groupId,
      `JoinGroup ${request.groupId}`,
      async (link) => {
        const { body } = await this.#call<{
          errorCode: number;
          generationId: number;
          protocolType?: string | null;
          protocolName: string | null;
          leader: string;
          skipAssignment?: boolean;
          memberId: string;
          members: { memberId: string; groupInstanceId?: string | null; metadata: Buffer }[];
        }>(
          link,
          Api.JoinGroup,
          (v) => ({
            groupId: request.groupId,
            sessionTimeoutMs: request.sessionTimeoutMs,
            rebalanceTimeoutMs: request.rebalanceTimeoutMs,
            memberId: request.memberId,
            groupInstanceId: v >= 5 ? (request.groupInstanceId ?? null) : null,
            protocolType: request.protocolType,
            protocols: request.protocols,
            reason: request.reason ?? null,
          }),
          timeoutMs,
        );
        this.#checkCoordinator(body.errorCode, `JoinGroup ${request.groupId} at broker ${link.connection.broker}`);
        return {
          errorCode: body.errorCode,
          errorName: this.#codec.errorName(body.errorCode),
          generationId: body.generationId,
          protocolType: body.protocolType ?? null,
          protocolName: body.protocolName,
          leader: body.leader,
          skipAssignment: body.skipAssignment ?? false,
          memberId: body.memberId,
          // Copies: the metadata are views into the response frame.
          members: body.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId ?? null, metadata: Buffer.from(m.metadata) })),
        };
      },
      { idempotent: false },
    );
  }

  /** SyncGroup: the leader sends every member's assignment; every member gets its own back. */
  async syncGroup(request: SyncGroupRequest): Promise<{ errorCode: number; errorName: string; assignment: Buffer }> {
    const timeoutMs = Math.max(this.#options.requestTimeoutMs ?? 30_000, request.rebalanceTimeoutMs + 5000);
    return this.#coordinated(
      request.groupId,
      `SyncGroup ${request.groupId}`,
      async (link) => {
        const { body } = await this.#call<{ errorCode: number; assignment: Buffer }>(
          link,
          Api.SyncGroup,
          (v) => ({
            groupId: request.groupId,
            generationId: request.generationId,
            memberId: request.memberId,
            groupInstanceId: v >= 3 ? (request.groupInstanceId ?? null) : null,
            protocolType: v >= 5 ? request.protocolType : null,
            protocolName: v >= 5 ? request.protocolName : null,
            assignments: request.assignments,
          }),
          timeoutMs,
        );
        this.#checkCoordinator(body.errorCode, `SyncGroup ${request.groupId} at broker ${link.connection.broker}`);
        return { errorCode: body.errorCode, errorName: this.#codec.errorName(body.errorCode), assignment: Buffer.from(body.assignment) };
      },
      { idempotent: false },
    );
  }

  async heartbeat(request: GroupMemberIdentity & { groupId: string }): Promise<{ errorCode: number; errorName: string }> {
    return this.#coordinated(request.groupId, `Heartbeat ${request.groupId}`, async (link) => {
      const { body } = await this.#call<{ errorCode: number }>(link, Api.Heartbeat, (v) => ({
        groupId: request.groupId,
        generationId: request.generationId,
        memberId: request.memberId,
        groupInstanceId: v >= 3 ? (request.groupInstanceId ?? null) : null,
      }));
      this.#checkCoordinator(body.errorCode, `Heartbeat ${request.groupId} at broker ${link.connection.broker}`);
      return { errorCode: body.errorCode, errorName: this.#codec.errorName(body.errorCode) };
    });
  }

  /** LeaveGroup for one member; resolves to that member's error code (0 when it left). */
  async leaveGroup(request: { groupId: string; memberId: string; groupInstanceId?: string | null; reason?: string | null }): Promise<{ errorCode: number; errorName: string }> {
    return this.#coordinated(request.groupId, `LeaveGroup ${request.groupId}`, async (link) => {
      const { body, version } = await this.#call<{ errorCode: number; members: { memberId: string; errorCode: number }[] }>(link, Api.LeaveGroup, (v) =>
        v >= 3
          ? { groupId: request.groupId, members: [{ memberId: request.memberId, groupInstanceId: request.groupInstanceId ?? null, reason: request.reason ?? null }] }
          : { groupId: request.groupId, memberId: request.memberId },
      );
      this.#checkCoordinator(body.errorCode, `LeaveGroup ${request.groupId} at broker ${link.connection.broker}`);
      const errorCode = body.errorCode !== 0 || version < 3 ? body.errorCode : (body.members.find((m) => m.memberId === request.memberId)?.errorCode ?? 0);
      return { errorCode, errorName: this.#codec.errorName(errorCode) };
    });
  }

  /** The single partition entry of a single-partition response, checked against what was asked. */
  #onlyPartition<T, P>(
    topics: T[],
    nameOf: (t: T) => unknown,
    partitionsOf: (t: T) => P[],
    indexOf: (p: P) => number,
    topic: string,
    partition: number,
    api: string,
  ): P {
    const t = topics.find((x) => nameOf(x) === topic) ?? (topics.length === 1 ? topics[0] : undefined);
    const p = t === undefined ? undefined : partitionsOf(t).find((x) => indexOf(x) === partition);
    if (p === undefined) {
      throw new Error(`${api} response for ${topic}-${partition} is missing that partition`);
    }
    return p;
  }
}

/** A few words after a group error code's name, so a one-line report says what it means. */
function groupErrorDetail(code: number, groupId: string): string | null {
  switch (code) {
    case 68:
      return `group ${groupId} has active members`;
    case 69:
      return `group ${groupId} does not exist`;
    case 25:
      return `the coordinator does not know this member of group ${groupId} (a group with active members accepts commits only from them)`;
    case 22:
      return `the generation of group ${groupId} has moved on`;
    case 27:
      return `group ${groupId} is rebalancing`;
    case 86:
      return `group ${groupId} has active members subscribed to the topic`;
    default:
      return null;
  }
}

/** The admin surface is the same client; the alias reads better in admin code. */
interface DescribeQuorumReplicaBody {
  replicaId: number;
  logEndOffset: number;
  lastFetchTimestamp?: number;
  lastCaughtUpTimestamp?: number;
}

/** DescribeQuorum's response body as the codec decodes it. */
export interface DescribeQuorumBody {
  errorCode: number;
  errorMessage?: string | null;
  topics: {
    topicName: string;
    partitions: {
      partitionIndex: number;
      errorCode: number;
      errorMessage?: string | null;
      leaderId: number;
      leaderEpoch: number;
      highWatermark: number;
      currentVoters: DescribeQuorumReplicaBody[];
      observers: DescribeQuorumReplicaBody[];
    }[];
  }[];
  nodes?: { nodeId: number; listeners: { name: string; host: string; port: number }[] }[];
}

/**
 * A decoded DescribeQuorum response as QuorumInfo; `check(code, context, message)` throws for a non-zero
 * error code. Exported so tools can format a recorded response.
 */
export function quorumInfoFromResponse(body: DescribeQuorumBody, version: number, check: (code: number, context: string, message?: string | null) => void): QuorumInfo {
  check(body.errorCode, 'DescribeQuorum', body.errorMessage);
  const partition = body.topics.find((t) => t.topicName === METADATA_TOPIC)?.partitions.find((p) => p.partitionIndex === 0);
  if (partition === undefined) throw new KafkaError(3, 'UNKNOWN_TOPIC_OR_PARTITION', `UNKNOWN_TOPIC_OR_PARTITION: the DescribeQuorum answer has no ${METADATA_TOPIC}-0 (DescribeQuorum)`);
  check(partition.errorCode, `DescribeQuorum ${METADATA_TOPIC}-0`, partition.errorMessage);
  const replica = (r: DescribeQuorumReplicaBody): QuorumReplicaInfo => ({
    replicaId: r.replicaId,
    logEndOffset: r.logEndOffset,
    lastFetchTimestamp: r.lastFetchTimestamp ?? -1,
    lastCaughtUpTimestamp: r.lastCaughtUpTimestamp ?? -1,
  });
  return {
    leaderId: partition.leaderId,
    leaderEpoch: partition.leaderEpoch,
    highWatermark: partition.highWatermark,
    voters: partition.currentVoters.map(replica),
    observers: partition.observers.map(replica),
    nodes: (body.nodes ?? []).map((n) => ({ nodeId: n.nodeId, listeners: n.listeners.map((l) => ({ name: l.name, host: l.host, port: l.port })) })),
    version,
  };
}

export { KafkaClient as KafkaAdmin };
export { apiName };
