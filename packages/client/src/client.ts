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

/** Kafka's all-zero uuid in the codec's base64url form: "no topic id". */
const ZERO_UUID = 'AAAAAAAAAAAAAAAAAAAAAA';

export const OffsetSpec = { Latest: -1, Earliest: -2, MaxTimestamp: -3 } as const;

/** Errors a metadata refresh and a retry can cure (the broker did not act on the request). */
const RETRIABLE_CODES: ReadonlySet<number> = new Set([
  3, // UNKNOWN_TOPIC_OR_PARTITION: just created, metadata not propagated yet
  5, // LEADER_NOT_AVAILABLE
  6, // NOT_LEADER_OR_FOLLOWER
  13, // NETWORK_EXCEPTION
  14, // COORDINATOR_LOAD_IN_PROGRESS
  15, // COORDINATOR_NOT_AVAILABLE
  41, // NOT_CONTROLLER
  74, // FENCED_LEADER_EPOCH
  75, // UNKNOWN_LEADER_EPOCH
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
    const links = [...this.#links.values()];
    this.#links.clear();
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

  #link(host: string, port: number): Promise<BrokerLink> {
    if (this.#closed) return Promise.reject(new Error('client is closed'));
    const key = `${host}:${port}`;
    const existing = this.#links.get(key);
    if (existing !== undefined) return existing;
    const created = this.#openLink(host, port);
    this.#links.set(key, created);
    created.then(
      (link) => {
        // Drop a dead link so the next request reconnects.
        link.connection.onClose(() => {
          if (this.#links.get(key) === created) this.#links.delete(key);
        });
      },
      () => {
        if (this.#links.get(key) === created) this.#links.delete(key);
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
        const retriable = (err instanceof KafkaError && err.retriable) || (retryConnectionLoss && err instanceof ConnectionError && i === 0 && !this.#closed);
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

/** The admin surface is the same client; the alias reads better in admin code. */
export { KafkaClient as KafkaAdmin };
export { apiName };
