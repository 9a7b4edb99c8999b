/**
 * DescribeQuorum (key 55) response bodies, built from the active controller's answer. Pure: the caller
 * forwards the request to the controller quorum and hands the result (or the failure) to these functions.
 *
 * The controller reports each replica's last fetch as "ms ago" (its Raft clock counts ticks, not wall time);
 * Kafka's wire carries wall-clock timestamps (v1+), so `nowMs` turns one into the other. Kafka reports the
 * leader's own fetch and caught-up timestamps as the current time, and so do we (the controller reports the
 * leader as having fetched 0 ms ago). The controller does not track when a follower was last caught up; a
 * follower whose log end had reached the high watermark at its last fetch counts as caught up then, any
 * other as unknown (-1).
 */
import type { DescribeQuorumResponse, ReplicaState } from '@tributary/controller';
import { ErrorCode, ZERO_UUID } from '@tributary/protocol';

/** The controller's answer (@tributary/controller api.ts): leader, epoch, high watermark, replicas with "ms ago". */
export type QuorumView = DescribeQuorumResponse;
export type QuorumReplica = ReplicaState;

/** A controller's listeners, for the v2 `Nodes` list (Kafka lists the voters' controller endpoints). */
export interface QuorumNodeEndpoints {
  readonly nodeId: number;
  readonly listeners: readonly { readonly name: string; readonly host: string; readonly port: number }[];
}

export interface DescribeQuorumOptions {
  readonly topicName: '__cluster_metadata';
  readonly partitionIndex: 0;
  /** Wall clock of the answering broker, to turn "ms ago" into timestamps. */
  readonly nowMs: number;
  /** v2 only; absent means an empty list. */
  readonly nodes?: readonly QuorumNodeEndpoints[];
}

export const METADATA_TOPIC_NAME = '__cluster_metadata';
export const METADATA_PARTITION_INDEX = 0;

/** The highest DescribeQuorum version these builders produce. */
export const DESCRIBE_QUORUM_MAX_VERSION = 2;

function checkVersion(version: number): void {
  if (!Number.isInteger(version) || version < 0 || version > DESCRIBE_QUORUM_MAX_VERSION) {
    throw new RangeError(`DescribeQuorum version ${version} is not one of 0..${DESCRIBE_QUORUM_MAX_VERSION}`);
  }
}

function replicaState(version: number, r: QuorumReplica, highWatermark: number, nowMs: number): object {
  const base = version >= 2 ? { replicaId: r.replicaId, replicaDirectoryId: ZERO_UUID, logEndOffset: r.logEndOffset } : { replicaId: r.replicaId, logEndOffset: r.logEndOffset };
  if (version < 1) return base;
  const fetchedAtMs = r.lastFetchMsAgo >= 0 ? nowMs - r.lastFetchMsAgo : -1;
  const caughtUp = fetchedAtMs >= 0 && r.logEndOffset >= 0 && r.logEndOffset >= highWatermark;
  return { ...base, lastFetchTimestamp: fetchedAtMs, lastCaughtUpTimestamp: caughtUp ? fetchedAtMs : -1 };
}

/** The DescribeQuorum response body of `version` for the metadata partition's quorum. */
export function describeQuorumResponse(version: number, quorum: QuorumView, opts: DescribeQuorumOptions): object {
  checkVersion(version);
  const hw = quorum.highWatermark;
  const partition = {
    partitionIndex: opts.partitionIndex,
    errorCode: ErrorCode.NONE,
    ...(version >= 2 ? { errorMessage: null } : {}),
    leaderId: quorum.leaderId,
    leaderEpoch: quorum.leaderEpoch,
    highWatermark: hw,
    currentVoters: quorum.voters.map((r) => replicaState(version, r, hw, opts.nowMs)),
    observers: quorum.observers.map((r) => replicaState(version, r, hw, opts.nowMs)),
  };
  const body = { errorCode: ErrorCode.NONE, topics: [{ topicName: opts.topicName, partitions: [partition] }] };
  if (version < 2) return body;
  const nodes = (opts.nodes ?? []).map((n) => ({ nodeId: n.nodeId, listeners: n.listeners.map((l) => ({ name: l.name, host: l.host, port: l.port })) }));
  return { errorCode: ErrorCode.NONE, errorMessage: null, topics: body.topics, nodes };
}

/**
 * A top-level error answer (no topics): the controller quorum has no leader (NOT_LEADER_OR_FOLLOWER), the
 * request names another partition (INVALID_REQUEST), the forward timed out (REQUEST_TIMED_OUT), ... The
 * message travels only from v2 on.
 */
export function describeQuorumError(version: number, errorCode: number, message: string | null): object {
  checkVersion(version);
  if (errorCode === ErrorCode.NONE) throw new RangeError('describeQuorumError needs a non-zero error code');
  return version >= 2 ? { errorCode, errorMessage: message, topics: [], nodes: [] } : { errorCode, topics: [] };
}

/** Whether a request asks for exactly the metadata partition, the only quorum there is (Kafka answers anything else with INVALID_REQUEST). */
export function asksForMetadataPartition(body: { topics?: readonly { topicName: string; partitions: readonly { partitionIndex: number }[] }[] }): boolean {
  const topics = body.topics ?? [];
  if (topics.length !== 1) return false;
  const [topic] = topics;
  return topic !== undefined && topic.topicName === METADATA_TOPIC_NAME && topic.partitions.length === 1 && topic.partitions[0]?.partitionIndex === METADATA_PARTITION_INDEX;
}

/** The handler: forwards to the active controller (DescribeQuorum is Kafka's way to read the metadata quorum through a broker). */
export async function handleDescribeQuorum(broker: import('../broker.ts').Broker, ctx: import('../broker.ts').RequestContext, body: any): Promise<object> {
  const version = ctx.header.apiVersion;
  if (!asksForMetadataPartition(body)) {
    return describeQuorumError(version, ErrorCode.INVALID_REQUEST, `only ${METADATA_TOPIC_NAME}-${METADATA_PARTITION_INDEX} has a quorum`);
  }
  try {
    const quorum = await broker.controller.describeQuorum({ timeoutMs: 10_000 });
    return describeQuorumResponse(version, quorum, { topicName: METADATA_TOPIC_NAME, partitionIndex: METADATA_PARTITION_INDEX, nowMs: broker.clock.nowMs(), nodes: broker.controllerEndpoints() });
  } catch (err) {
    const code = (err as { errorCode?: unknown }).errorCode;
    return describeQuorumError(version, typeof code === 'number' ? code : ErrorCode.UNKNOWN_SERVER_ERROR, `the controller quorum did not answer: ${(err as Error).message}`);
  }
}
