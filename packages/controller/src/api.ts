/**
 * ControllerApi: what a broker or an admin tool can ask the controller quorum. One interface, three
 * implementations: QuorumController (the state machine itself, in process), GrpcControllerConnection (one remote
 * controller) and ControllerClient (finds the active controller among the voters and retries there).
 *
 * Requests and responses are @tributary/metadata's types (Kafka's fields, camelCase). Calls fail with
 * ControllerError (NOT_CONTROLLER, timeouts, malformed input); everything Kafka answers per topic / resource /
 * partition comes back in the response body.
 */
import type {
  AllocateProducerIdsRequest,
  AllocateProducerIdsResponse,
  AlterConfigsRequest,
  AlterConfigsResponse,
  AlterPartitionRequest,
  AlterPartitionResponse,
  BrokerHeartbeatRequest,
  BrokerHeartbeatResponse,
  BrokerRegistrationRequest,
  BrokerRegistrationResponse,
  CreatePartitionsRequest,
  CreatePartitionsResponse,
  CreateTopicsRequest,
  CreateTopicsResponse,
  DeleteTopicsRequest,
  DeleteTopicsResponse,
  ElectLeadersRequest,
  ElectLeadersResponse,
  AlterPartitionReassignmentsRequest,
  AlterPartitionReassignmentsResponse,
  ListPartitionReassignmentsRequest,
  ListPartitionReassignmentsResponse,
  IncrementalAlterConfigsRequest,
  UnregisterBrokerRequest,
  UnregisterBrokerResponse,
} from '@tributary/metadata';

export interface CallOptions {
  /** How long the call may take in all (queueing, commit, retries); each implementation has a default. */
  timeoutMs?: number;
}

export interface SnapshotPosition {
  /** The snapshot's nextOffset (identifies it). */
  readonly nextOffset: number;
  /** Bytes received so far. */
  readonly position: number;
}

export interface FetchMetadataRequest {
  /** The next offset the follower needs (last applied + 1; 0 for everything). */
  readonly fromOffset: number;
  /** Soft bound on entry bytes (at least one entry comes back), hard bound on a snapshot chunk. */
  readonly maxBytes: number;
  /** Long poll: how long to wait for something new when caught up (0: answer at once). */
  readonly maxWaitMs: number;
  /** Set while receiving a snapshot in chunks (fromOffset is then ignored). */
  readonly snapshot: SnapshotPosition | null;
  /** The broker asking (-1: a tool), for logs. */
  readonly brokerId: number;
}

export interface MetadataEntry {
  /** Raft offset of the entry. */
  readonly offset: number;
  readonly epoch: number;
  /** encodeRecordBatch bytes: one controller operation's records. */
  readonly records: Uint8Array;
}

export interface SnapshotChunk {
  /** After installing the snapshot the follower fetches from here. */
  readonly nextOffset: number;
  readonly totalBytes: number;
  readonly position: number;
  /** encodeSnapshot bytes [position, position + data.byteLength). */
  readonly data: Uint8Array;
}

export interface FetchMetadataResponse {
  /** Committed entries in offset order (offsets may skip: leader-change entries are left out). */
  readonly entries: readonly MetadataEntry[];
  /** Fetch from here next. */
  readonly nextOffset: number;
  readonly snapshot: SnapshotChunk | null;
}

export interface ReplicaState {
  readonly replicaId: number;
  /** -1 when unknown. */
  readonly logEndOffset: number;
  /** -1 when it has not fetched in this epoch. */
  readonly lastFetchMsAgo: number;
}

export interface DescribeQuorumResponse {
  readonly leaderId: number;
  readonly leaderEpoch: number;
  readonly highWatermark: number;
  readonly voters: readonly ReplicaState[];
  readonly observers: readonly ReplicaState[];
}

/** One controller's own view (any controller answers). */
export interface ControllerStatus {
  readonly nodeId: number;
  /** The Raft role (unattached, voted, prospective, candidate, leader, follower, resigned). */
  readonly role: string;
  readonly epoch: number;
  /** The Raft leader this node knows (-1: none). */
  readonly leaderId: number;
  /** This node is the active controller. */
  readonly active: boolean;
  /** Exclusive end offset of the committed metadata applied here. */
  readonly appliedOffset: number;
  readonly highWatermark: number;
  readonly pendingOperations: number;
  readonly registeredBrokers: number;
  readonly topics: number;
  readonly partitions: number;
  /** encodeSnapshot of the committed image, when asked for. */
  readonly image: Uint8Array | null;
}

export interface ControllerApi {
  registerBroker(request: BrokerRegistrationRequest, options?: CallOptions): Promise<BrokerRegistrationResponse>;
  brokerHeartbeat(request: BrokerHeartbeatRequest, options?: CallOptions): Promise<BrokerHeartbeatResponse>;
  unregisterBroker(request: UnregisterBrokerRequest, options?: CallOptions): Promise<UnregisterBrokerResponse>;
  alterPartition(request: AlterPartitionRequest, options?: CallOptions): Promise<AlterPartitionResponse>;
  allocateProducerIds(request: AllocateProducerIdsRequest, options?: CallOptions): Promise<AllocateProducerIdsResponse>;
  fetchMetadata(request: FetchMetadataRequest, options?: CallOptions): Promise<FetchMetadataResponse>;
  createTopics(request: CreateTopicsRequest, options?: CallOptions): Promise<CreateTopicsResponse>;
  deleteTopics(request: DeleteTopicsRequest, options?: CallOptions): Promise<DeleteTopicsResponse>;
  createPartitions(request: CreatePartitionsRequest, options?: CallOptions): Promise<CreatePartitionsResponse>;
  incrementalAlterConfigs(request: IncrementalAlterConfigsRequest, options?: CallOptions): Promise<AlterConfigsResponse>;
  alterConfigs(request: AlterConfigsRequest, options?: CallOptions): Promise<AlterConfigsResponse>;
  electLeaders(request: ElectLeadersRequest, options?: CallOptions): Promise<ElectLeadersResponse>;
  /** Starts, changes or cancels reassignments (answers once committed). */
  alterPartitionReassignments(request: AlterPartitionReassignmentsRequest, options?: CallOptions): Promise<AlterPartitionReassignmentsResponse>;
  /** Reassignments in progress (read from the active controller's image, after its last proposal commits). */
  listPartitionReassignments(request: ListPartitionReassignmentsRequest, options?: CallOptions): Promise<ListPartitionReassignmentsResponse>;
  describeQuorum(options?: CallOptions): Promise<DescribeQuorumResponse>;
}

/** The names of ControllerApi's methods (the wire, the retry loop and the tests iterate them). */
export type ControllerMethod = keyof ControllerApi;

/** The methods that take a request body (every one but describeQuorum). */
export type ControllerRequestMethod = Exclude<ControllerMethod, 'describeQuorum'>;

/** A method's request body: the implementations and the wire spell their types through these, from this one list. */
export type RequestOf<M extends ControllerRequestMethod> = Parameters<ControllerApi[M]>[0];

/** A method's response body. */
export type ResponseOf<M extends ControllerMethod> = Awaited<ReturnType<ControllerApi[M]>>;
