/**
 * tributary.controller.v1 on the wire: the service definition (loaded at run time, no codegen), and for each RPC
 * the conversions between the loader's objects and @tributary/metadata's request/response types. Inbound requests
 * are validated here (types, int ranges, list and string bounds) before any controller code sees them; a bad field
 * is a ControllerError('malformed') naming it. Semantic checks (names, assignments, configs, epochs) are the
 * metadata rules' and come back as Kafka error codes in the response bodies.
 *
 * The loader (rpc/proto.ts) gives camelCase fields, int64 as number, absent sub-messages as null and absent
 * `optional` fields as undefined; Kafka's nullable strings are `optional` here (null <-> absent).
 */
import * as grpc from '@grpc/grpc-js';
import { loadProto } from '@tributary/rpc';
import type { ControllerRequestMethod, ControllerStatus, DescribeQuorumResponse, ReplicaState, RequestOf, ResponseOf } from './api.ts';
import { ControllerError } from './errors.ts';

export const CONTROLLER_PROTO = 'tributary/controller/v1/controller.proto';
export const CONTROLLER_SERVICE = 'tributary.controller.v1.ControllerService';

export function controllerServiceClient(): grpc.ServiceClientConstructor {
  let node: unknown = loadProto(CONTROLLER_PROTO);
  for (const part of CONTROLLER_SERVICE.split('.')) node = (node as Record<string, unknown>)[part];
  if (typeof node !== 'function' || !('service' in node)) throw new Error(`service ${CONTROLLER_SERVICE} not found`);
  return node as grpc.ServiceClientConstructor;
}

/** Bounds on inbound requests (beyond the gRPC message size). */
export interface WireLimits {
  /** Topics, resources, partitions, configs... in one list. */
  maxListItems: number;
  /** Bytes of one string (names, config values). */
  maxStringBytes: number;
}

export const defaultWireLimits: Readonly<WireLimits> = Object.freeze({ maxListItems: 100_000, maxStringBytes: 64 * 1024 });

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

/** Validating reader for one inbound request: every accessor names the field it refuses. */
export class Check {
  readonly #method: string;
  readonly #limits: WireLimits;

  constructor(method: string, limits: WireLimits) {
    this.#method = method;
    this.#limits = limits;
  }

  fail(field: string, why: string): never {
    throw new ControllerError('malformed', `${this.#method}: ${field} ${why}`);
  }

  int32(v: unknown, field: string, min = INT32_MIN, max = INT32_MAX): number {
    if (typeof v !== 'number' || !Number.isInteger(v)) this.fail(field, 'must be an integer');
    if (v < min || v > max) this.fail(field, `must be within [${min}, ${max}], not ${v}`);
    return v;
  }

  int64(v: unknown, field: string, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): number {
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) this.fail(field, 'must be a safe integer');
    if (v < min || v > max) this.fail(field, `must be within [${min}, ${max}], not ${v}`);
    return v;
  }

  bool(v: unknown, field: string): boolean {
    if (typeof v !== 'boolean') this.fail(field, 'must be a boolean');
    return v;
  }

  str(v: unknown, field: string): string {
    if (typeof v !== 'string') this.fail(field, 'must be a string');
    if (v.length > this.#limits.maxStringBytes || Buffer.byteLength(v) > this.#limits.maxStringBytes) this.fail(field, `is longer than ${this.#limits.maxStringBytes} bytes`);
    return v;
  }

  /** A Kafka nullable string (`optional` on the wire). */
  optStr(v: unknown, field: string): string | null {
    return v === undefined || v === null ? null : this.str(v, field);
  }

  list<T>(v: unknown, field: string, item: (x: Record<string, unknown>, path: string) => T): T[] {
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) this.fail(field, 'must be a list');
    if (v.length > this.#limits.maxListItems) this.fail(field, `has ${v.length} items, more than ${this.#limits.maxListItems}`);
    return v.map((x, i) => {
      const path = `${field}[${i}]`;
      if (typeof x !== 'object' && typeof x !== 'number') this.fail(path, 'is malformed');
      return item(x as Record<string, unknown>, path);
    });
  }

  int32List(v: unknown, field: string, min = INT32_MIN): number[] {
    return this.list(v, field, (x, path) => this.int32(x, path, min));
  }

  message(v: unknown, field: string): Record<string, unknown> {
    if (typeof v !== 'object' || v === null) this.fail(field, 'is missing');
    return v as Record<string, unknown>;
  }
}

type W = Record<string, unknown>;

const nullable = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const num = (v: unknown): number => (typeof v === 'number' ? v : 0);
const arr = (v: unknown): W[] => (Array.isArray(v) ? (v as W[]) : []);
const nums = (v: unknown): number[] => (Array.isArray(v) ? (v as number[]).map(num) : []);

/** One RPC: the conversions each side needs. */
export interface MethodWire<Req, Res> {
  readonly rpc: string;
  /** Client: TS request -> wire (the header is added by the caller). */
  requestToWire(request: Req): W;
  /** Server: wire -> TS request, validated. */
  requestFromWire(wire: W, check: Check): Req;
  /** Server: TS response -> wire. */
  responseToWire(response: Res): W;
  /** Client: wire -> TS response. */
  responseFromWire(wire: W): Res;
}

/** The wire of a ControllerApi method, typed by the method's own request and response. */
type WireOf<M extends ControllerRequestMethod> = MethodWire<RequestOf<M>, ResponseOf<M>>;

const identity = (x: object): W => x as W;

function errorBody(w: W): { errorCode: number; errorMessage: string | null } {
  return { errorCode: num(w['errorCode']), errorMessage: nullable(w['errorMessage']) };
}

// ---------------------------------------------------------------- brokers

export const registerBrokerWire: WireOf<'registerBroker'> = {
  rpc: 'RegisterBroker',
  requestToWire: (r) => ({ brokerId: r.brokerId, incarnationId: r.incarnationId, listeners: r.listeners, rack: r.rack ?? undefined, features: r.features }),
  requestFromWire: (w, c) => ({
    brokerId: c.int32(w['brokerId'], 'broker_id'),
    incarnationId: c.str(w['incarnationId'], 'incarnation_id'),
    listeners: c.list(w['listeners'], 'listeners', (l, p) => ({ name: c.str(l['name'], `${p}.name`), host: c.str(l['host'], `${p}.host`), port: c.int32(l['port'], `${p}.port`) })),
    rack: c.optStr(w['rack'], 'rack'),
    features: c.list(w['features'], 'features', (f, p) => ({
      name: c.str(f['name'], `${p}.name`),
      minSupportedVersion: c.int32(f['minSupportedVersion'], `${p}.min_supported_version`),
      maxSupportedVersion: c.int32(f['maxSupportedVersion'], `${p}.max_supported_version`),
    })),
  }),
  responseToWire: identity,
  responseFromWire: (w) => ({ ...errorBody(w), brokerEpoch: num(w['brokerEpoch']) }),
};

export const brokerHeartbeatWire: WireOf<'brokerHeartbeat'> = {
  rpc: 'BrokerHeartbeat',
  requestToWire: identity,
  requestFromWire: (w, c) => ({
    brokerId: c.int32(w['brokerId'], 'broker_id'),
    brokerEpoch: c.int64(w['brokerEpoch'], 'broker_epoch'),
    currentMetadataOffset: c.int64(w['currentMetadataOffset'], 'current_metadata_offset', -1),
    wantFence: c.bool(w['wantFence'], 'want_fence'),
    wantShutDown: c.bool(w['wantShutDown'], 'want_shut_down'),
  }),
  responseToWire: identity,
  responseFromWire: (w) => ({ ...errorBody(w), isCaughtUp: w['isCaughtUp'] === true, isFenced: w['isFenced'] === true, shouldShutDown: w['shouldShutDown'] === true }),
};

export const unregisterBrokerWire: WireOf<'unregisterBroker'> = {
  rpc: 'UnregisterBroker',
  requestToWire: identity,
  requestFromWire: (w, c) => ({ brokerId: c.int32(w['brokerId'], 'broker_id') }),
  responseToWire: identity,
  responseFromWire: errorBody,
};

export const alterPartitionWire: WireOf<'alterPartition'> = {
  rpc: 'AlterPartition',
  requestToWire: identity,
  requestFromWire: (w, c) => ({
    brokerId: c.int32(w['brokerId'], 'broker_id'),
    brokerEpoch: c.int64(w['brokerEpoch'], 'broker_epoch'),
    topics: c.list(w['topics'], 'topics', (t, p) => ({
      topicId: c.str(t['topicId'], `${p}.topic_id`),
      partitions: c.list(t['partitions'], `${p}.partitions`, (x, q) => ({
        partitionIndex: c.int32(x['partitionIndex'], `${q}.partition_index`),
        leaderEpoch: c.int32(x['leaderEpoch'], `${q}.leader_epoch`),
        newIsrWithEpochs: c.list(x['newIsrWithEpochs'], `${q}.new_isr_with_epochs`, (m, r) => ({
          brokerId: c.int32(m['brokerId'], `${r}.broker_id`),
          brokerEpoch: c.int64(m['brokerEpoch'], `${r}.broker_epoch`),
        })),
        partitionEpoch: c.int32(x['partitionEpoch'], `${q}.partition_epoch`),
      })),
    })),
  }),
  responseToWire: identity,
  responseFromWire: (w) => ({
    errorCode: num(w['errorCode']),
    topics: arr(w['topics']).map((t) => ({
      topicId: String(t['topicId'] ?? ''),
      partitions: arr(t['partitions']).map((p) => ({
        partitionIndex: num(p['partitionIndex']),
        errorCode: num(p['errorCode']),
        leaderId: num(p['leaderId']),
        leaderEpoch: num(p['leaderEpoch']),
        isr: nums(p['isr']),
        partitionEpoch: num(p['partitionEpoch']),
      })),
    })),
  }),
};

export const allocateProducerIdsWire: WireOf<'allocateProducerIds'> = {
  rpc: 'AllocateProducerIds',
  requestToWire: identity,
  requestFromWire: (w, c) => ({ brokerId: c.int32(w['brokerId'], 'broker_id'), brokerEpoch: c.int64(w['brokerEpoch'], 'broker_epoch') }),
  responseToWire: identity,
  responseFromWire: (w) => ({ ...errorBody(w), producerIdStart: num(w['producerIdStart']), producerIdLen: num(w['producerIdLen']) }),
};

export const fetchMetadataWire: WireOf<'fetchMetadata'> = {
  rpc: 'FetchMetadata',
  requestToWire: (r) => ({ fromOffset: r.fromOffset, maxBytes: r.maxBytes, maxWaitMs: r.maxWaitMs, snapshot: r.snapshot ?? undefined, brokerId: r.brokerId }),
  requestFromWire: (w, c) => {
    const snapshot = w['snapshot'] === null || w['snapshot'] === undefined ? null : c.message(w['snapshot'], 'snapshot');
    return {
      fromOffset: c.int64(w['fromOffset'], 'from_offset', 0),
      maxBytes: c.int32(w['maxBytes'], 'max_bytes', 1),
      maxWaitMs: c.int32(w['maxWaitMs'], 'max_wait_ms', 0),
      snapshot: snapshot === null ? null : { nextOffset: c.int64(snapshot['nextOffset'], 'snapshot.next_offset', 0), position: c.int64(snapshot['position'], 'snapshot.position', 0) },
      brokerId: c.int32(w['brokerId'], 'broker_id', -1),
    };
  },
  responseToWire: (r) => ({ entries: r.entries, nextOffset: r.nextOffset, snapshot: r.snapshot ?? undefined }),
  responseFromWire: (w) => {
    const s = w['snapshot'] as W | null | undefined;
    return {
      entries: arr(w['entries']).map((e) => ({ offset: num(e['offset']), epoch: num(e['epoch']), records: (e['records'] as Uint8Array | undefined) ?? new Uint8Array(0) })),
      nextOffset: num(w['nextOffset']),
      snapshot:
        s === null || s === undefined
          ? null
          : { nextOffset: num(s['nextOffset']), totalBytes: num(s['totalBytes']), position: num(s['position']), data: (s['data'] as Uint8Array | undefined) ?? new Uint8Array(0) },
    };
  },
};

// ---------------------------------------------------------------- admin

export const createTopicsWire: WireOf<'createTopics'> = {
  rpc: 'CreateTopics',
  requestToWire: (r) => ({
    topics: r.topics.map((t) => ({ ...t, configs: t.configs.map((cf) => ({ name: cf.name, value: cf.value ?? undefined })) })),
    validateOnly: r.validateOnly,
  }),
  requestFromWire: (w, c) => ({
    topics: c.list(w['topics'], 'topics', (t, p) => ({
      name: c.str(t['name'], `${p}.name`),
      numPartitions: c.int32(t['numPartitions'], `${p}.num_partitions`),
      replicationFactor: c.int32(t['replicationFactor'], `${p}.replication_factor`),
      assignments: c.list(t['assignments'], `${p}.assignments`, (a, q) => ({
        partitionIndex: c.int32(a['partitionIndex'], `${q}.partition_index`),
        brokerIds: c.int32List(a['brokerIds'], `${q}.broker_ids`),
      })),
      configs: c.list(t['configs'], `${p}.configs`, (cf, q) => ({ name: c.str(cf['name'], `${q}.name`), value: c.optStr(cf['value'], `${q}.value`) })),
    })),
    validateOnly: c.bool(w['validateOnly'], 'validate_only'),
  }),
  responseToWire: identity,
  responseFromWire: (w) => ({
    topics: arr(w['topics']).map((t) => ({
      name: String(t['name'] ?? ''),
      topicId: String(t['topicId'] ?? ''),
      ...errorBody(t),
      numPartitions: num(t['numPartitions']),
      replicationFactor: num(t['replicationFactor']),
    })),
  }),
};

export const deleteTopicsWire: WireOf<'deleteTopics'> = {
  rpc: 'DeleteTopics',
  requestToWire: (r) => ({ topics: r.topics.map((t) => ({ name: t.name ?? undefined, topicId: t.topicId ?? undefined })) }),
  requestFromWire: (w, c) => ({
    topics: c.list(w['topics'], 'topics', (t, p) => ({ name: c.optStr(t['name'], `${p}.name`), topicId: c.optStr(t['topicId'], `${p}.topic_id`) })),
  }),
  responseToWire: identity,
  responseFromWire: (w) => ({
    responses: arr(w['responses']).map((r) => ({ name: nullable(r['name']), topicId: String(r['topicId'] ?? ''), ...errorBody(r) })),
  }),
};

export const createPartitionsWire: WireOf<'createPartitions'> = {
  rpc: 'CreatePartitions',
  requestToWire: (r) => ({
    topics: r.topics.map((t) => ({ name: t.name, count: t.count, hasAssignments: t.assignments !== null, assignments: t.assignments ?? [] })),
    validateOnly: r.validateOnly,
  }),
  requestFromWire: (w, c) => ({
    topics: c.list(w['topics'], 'topics', (t, p) => {
      const assignments = c.list(t['assignments'], `${p}.assignments`, (a, q) => ({ brokerIds: c.int32List(a['brokerIds'], `${q}.broker_ids`) }));
      const has = c.bool(t['hasAssignments'], `${p}.has_assignments`);
      if (!has && assignments.length > 0) c.fail(`${p}.assignments`, 'are given but has_assignments is false');
      return { name: c.str(t['name'], `${p}.name`), count: c.int32(t['count'], `${p}.count`), assignments: has ? assignments : null };
    }),
    validateOnly: c.bool(w['validateOnly'], 'validate_only'),
  }),
  responseToWire: identity,
  responseFromWire: (w) => ({ results: arr(w['results']).map((r) => ({ name: String(r['name'] ?? ''), ...errorBody(r) })) }),
};

const alterConfigsResponseFromWire = (w: W): ResponseOf<'alterConfigs'> => ({
  responses: arr(w['responses']).map((r) => ({ resourceType: num(r['resourceType']), resourceName: String(r['resourceName'] ?? ''), ...errorBody(r) })),
});

export const incrementalAlterConfigsWire: WireOf<'incrementalAlterConfigs'> = {
  rpc: 'IncrementalAlterConfigs',
  requestToWire: (r) => ({
    resources: r.resources.map((res) => ({ ...res, configs: res.configs.map((cf) => ({ name: cf.name, configOperation: cf.configOperation, value: cf.value ?? undefined })) })),
    validateOnly: r.validateOnly,
  }),
  requestFromWire: (w, c) => ({
    resources: c.list(w['resources'], 'resources', (r, p) => ({
      resourceType: c.int32(r['resourceType'], `${p}.resource_type`, -128, 127),
      resourceName: c.str(r['resourceName'], `${p}.resource_name`),
      configs: c.list(r['configs'], `${p}.configs`, (cf, q) => ({
        name: c.str(cf['name'], `${q}.name`),
        configOperation: c.int32(cf['configOperation'], `${q}.config_operation`, -128, 127),
        value: c.optStr(cf['value'], `${q}.value`),
      })),
    })),
    validateOnly: c.bool(w['validateOnly'], 'validate_only'),
  }),
  responseToWire: identity,
  responseFromWire: alterConfigsResponseFromWire,
};

export const alterConfigsWire: WireOf<'alterConfigs'> = {
  rpc: 'AlterConfigs',
  requestToWire: (r) => ({
    resources: r.resources.map((res) => ({ ...res, configs: res.configs.map((cf) => ({ name: cf.name, value: cf.value ?? undefined })) })),
    validateOnly: r.validateOnly,
  }),
  requestFromWire: (w, c) => ({
    resources: c.list(w['resources'], 'resources', (r, p) => ({
      resourceType: c.int32(r['resourceType'], `${p}.resource_type`, -128, 127),
      resourceName: c.str(r['resourceName'], `${p}.resource_name`),
      configs: c.list(r['configs'], `${p}.configs`, (cf, q) => ({ name: c.str(cf['name'], `${q}.name`), value: c.optStr(cf['value'], `${q}.value`) })),
    })),
    validateOnly: c.bool(w['validateOnly'], 'validate_only'),
  }),
  responseToWire: identity,
  responseFromWire: alterConfigsResponseFromWire,
};

export const electLeadersWire: WireOf<'electLeaders'> = {
  rpc: 'ElectLeaders',
  requestToWire: (r) => ({ electionType: r.electionType, hasTopicPartitions: r.topicPartitions !== null, topicPartitions: r.topicPartitions ?? [] }),
  requestFromWire: (w, c) => {
    const list = c.list(w['topicPartitions'], 'topic_partitions', (t, p) => ({ topic: c.str(t['topic'], `${p}.topic`), partitions: c.int32List(t['partitions'], `${p}.partitions`) }));
    const has = c.bool(w['hasTopicPartitions'], 'has_topic_partitions');
    if (!has && list.length > 0) c.fail('topic_partitions', 'are given but has_topic_partitions is false');
    return { electionType: c.int32(w['electionType'], 'election_type', -128, 127), topicPartitions: has ? list : null };
  },
  responseToWire: identity,
  responseFromWire: (w) => ({
    errorCode: num(w['errorCode']),
    replicaElectionResults: arr(w['replicaElectionResults']).map((t) => ({
      topic: String(t['topic'] ?? ''),
      partitionResult: arr(t['partitionResult']).map((p) => ({ partitionId: num(p['partitionId']), ...errorBody(p) })),
    })),
  }),
};

export const alterPartitionReassignmentsWire: WireOf<'alterPartitionReassignments'> = {
  rpc: 'AlterPartitionReassignments',
  requestToWire: (r) => ({
    topics: r.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, hasReplicas: p.replicas !== null, replicas: p.replicas ?? [] })),
    })),
  }),
  requestFromWire: (w, c) => ({
    topics: c.list(w['topics'], 'topics', (t, p) => ({
      name: c.str(t['name'], `${p}.name`),
      partitions: c.list(t['partitions'], `${p}.partitions`, (x, q) => {
        const replicas = c.int32List(x['replicas'], `${q}.replicas`);
        const has = c.bool(x['hasReplicas'], `${q}.has_replicas`);
        if (!has && replicas.length > 0) c.fail(`${q}.replicas`, 'are given but has_replicas is false');
        return { partitionIndex: c.int32(x['partitionIndex'], `${q}.partition_index`), replicas: has ? replicas : null };
      }),
    })),
  }),
  responseToWire: (r) => ({
    errorCode: r.errorCode,
    errorMessage: r.errorMessage ?? undefined,
    responses: r.responses.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ ...p, errorMessage: p.errorMessage ?? undefined })) })),
  }),
  responseFromWire: (w) => ({
    ...errorBody(w),
    responses: arr(w['responses']).map((t) => ({
      name: String(t['name'] ?? ''),
      partitions: arr(t['partitions']).map((p) => ({ partitionIndex: num(p['partitionIndex']), ...errorBody(p) })),
    })),
  }),
};

export const listPartitionReassignmentsWire: WireOf<'listPartitionReassignments'> = {
  rpc: 'ListPartitionReassignments',
  requestToWire: (r) => ({ hasTopics: r.topics !== null, topics: r.topics ?? [] }),
  requestFromWire: (w, c) => {
    const topics = c.list(w['topics'], 'topics', (t, p) => ({ name: c.str(t['name'], `${p}.name`), partitionIndexes: c.int32List(t['partitionIndexes'], `${p}.partition_indexes`, 0) }));
    const has = c.bool(w['hasTopics'], 'has_topics');
    if (!has && topics.length > 0) c.fail('topics', 'are given but has_topics is false');
    return { topics: has ? topics : null };
  },
  responseToWire: (r) => ({ ...r, errorMessage: r.errorMessage ?? undefined }),
  responseFromWire: (w) => ({
    ...errorBody(w),
    topics: arr(w['topics']).map((t) => ({
      name: String(t['name'] ?? ''),
      partitions: arr(t['partitions']).map((p) => ({
        partitionIndex: num(p['partitionIndex']),
        replicas: nums(p['replicas']),
        addingReplicas: nums(p['addingReplicas']),
        removingReplicas: nums(p['removingReplicas']),
      })),
    })),
  }),
};

const replicaFromWire = (r: W): ReplicaState => ({ replicaId: num(r['replicaId']), logEndOffset: num(r['logEndOffset']), lastFetchMsAgo: num(r['lastFetchMsAgo']) });

export const describeQuorumWire: MethodWire<null, DescribeQuorumResponse> = {
  rpc: 'DescribeQuorum',
  requestToWire: () => ({}),
  requestFromWire: () => null,
  responseToWire: identity,
  responseFromWire: (w) => ({
    leaderId: num(w['leaderId']),
    leaderEpoch: num(w['leaderEpoch']),
    highWatermark: num(w['highWatermark']),
    voters: arr(w['voters']).map(replicaFromWire),
    observers: arr(w['observers']).map(replicaFromWire),
  }),
};

export const describeWire: MethodWire<{ includeImage: boolean }, ControllerStatus> = {
  rpc: 'Describe',
  requestToWire: identity,
  requestFromWire: (w, c) => ({ includeImage: c.bool(w['includeImage'], 'include_image') }),
  responseToWire: (s) => ({ ...s, image: s.image ?? new Uint8Array(0) }),
  responseFromWire: (w) => {
    const image = w['image'] as Uint8Array | undefined;
    return {
      nodeId: num(w['nodeId']),
      role: String(w['role'] ?? ''),
      epoch: num(w['epoch']),
      leaderId: num(w['leaderId']),
      active: w['active'] === true,
      appliedOffset: num(w['appliedOffset']),
      highWatermark: num(w['highWatermark']),
      pendingOperations: num(w['pendingOperations']),
      registeredBrokers: num(w['registeredBrokers']),
      topics: num(w['topics']),
      partitions: num(w['partitions']),
      image: image !== undefined && image.byteLength > 0 ? image : null,
    };
  },
};

/** The ControllerApi methods and their wires (DescribeQuorum and Describe are handled apart). */
export const API_WIRES = {
  registerBroker: registerBrokerWire,
  brokerHeartbeat: brokerHeartbeatWire,
  unregisterBroker: unregisterBrokerWire,
  alterPartition: alterPartitionWire,
  allocateProducerIds: allocateProducerIdsWire,
  fetchMetadata: fetchMetadataWire,
  createTopics: createTopicsWire,
  deleteTopics: deleteTopicsWire,
  createPartitions: createPartitionsWire,
  incrementalAlterConfigs: incrementalAlterConfigsWire,
  alterConfigs: alterConfigsWire,
  electLeaders: electLeadersWire,
  alterPartitionReassignments: alterPartitionReassignmentsWire,
  listPartitionReassignments: listPartitionReassignmentsWire,
} as const;

// ---------------------------------------------------------------- errors on the wire

export const ERROR_TRAILER = 'tributary-error';
export const LEADER_TRAILER = 'tributary-leader';
export const LEADER_ENDPOINT_TRAILER = 'tributary-leader-endpoint';
export const KAFKA_ERROR_TRAILER = 'tributary-kafka-error';

const STATUS: Readonly<Record<ControllerError['reason'], grpc.status>> = Object.freeze({
  'not-controller': grpc.status.FAILED_PRECONDITION,
  'cluster-mismatch': grpc.status.FAILED_PRECONDITION,
  malformed: grpc.status.INVALID_ARGUMENT,
  'too-large': grpc.status.INVALID_ARGUMENT,
  overloaded: grpc.status.RESOURCE_EXHAUSTED,
  timeout: grpc.status.DEADLINE_EXCEEDED,
  unavailable: grpc.status.UNAVAILABLE,
  stopped: grpc.status.UNAVAILABLE,
  internal: grpc.status.INTERNAL,
});

export function controllerErrorToStatus(err: ControllerError): Partial<grpc.ServiceError> {
  const metadata = new grpc.Metadata();
  metadata.set(ERROR_TRAILER, err.reason);
  metadata.set(KAFKA_ERROR_TRAILER, String(err.errorCode));
  if (err.activeControllerId !== null) metadata.set(LEADER_TRAILER, String(err.activeControllerId));
  if (err.activeControllerEndpoint !== null) metadata.set(LEADER_ENDPOINT_TRAILER, err.activeControllerEndpoint);
  return { code: STATUS[err.reason], details: `${err.reason}: ${err.message}`, metadata };
}

function trailer(err: grpc.ServiceError, key: string): string | null {
  const value = err.metadata?.get(key)[0];
  return typeof value === 'string' ? value : null;
}

/** A failed call as a ControllerError: our server's reason and leader hint, or `unavailable` for transport failures. */
export function controllerErrorFromStatus(err: grpc.ServiceError, target: string): ControllerError {
  const reason = trailer(err, ERROR_TRAILER);
  if (reason !== null && reason in STATUS) {
    const leader = trailer(err, LEADER_TRAILER);
    const leaderId = leader !== null && /^\d+$/.test(leader) ? Number(leader) : null;
    const details = err.details.startsWith(`${reason}: `) ? err.details.slice(reason.length + 2) : err.details;
    return new ControllerError(reason as ControllerError['reason'], details, leaderId, trailer(err, LEADER_ENDPOINT_TRAILER));
  }
  if (err.code === grpc.status.DEADLINE_EXCEEDED) return new ControllerError('timeout', `no answer from ${target} in time (the outcome is unknown)`);
  return new ControllerError('unavailable', `${target}: ${err.details || err.message}`);
}
