/** The APIs this client speaks, the versions it implements, and version negotiation via ApiVersions. */

export const Api = {
  Produce: 0,
  Fetch: 1,
  ListOffsets: 2,
  Metadata: 3,
  OffsetCommit: 8,
  OffsetFetch: 9,
  FindCoordinator: 10,
  JoinGroup: 11,
  Heartbeat: 12,
  LeaveGroup: 13,
  SyncGroup: 14,
  DescribeGroups: 15,
  ListGroups: 16,
  DescribeConfigs: 32,
  ApiVersions: 18,
  CreateTopics: 19,
  DeleteTopics: 20,
  DeleteRecords: 21,
  OffsetForLeaderEpoch: 23,
  DescribeLogDirs: 35,
  CreatePartitions: 37,
  DeleteGroups: 42,
  ElectLeaders: 43,
  IncrementalAlterConfigs: 44,
  AlterPartitionReassignments: 45,
  ListPartitionReassignments: 46,
  OffsetDelete: 47,
  DescribeQuorum: 55,
  DescribeCluster: 60,
} as const;

export type ApiKeyNumber = (typeof Api)[keyof typeof Api];

const API_NAMES: ReadonlyMap<number, string> = new Map(Object.entries(Api).map(([name, key]) => [key, name]));

export function apiName(apiKey: number): string {
  return API_NAMES.get(apiKey) ?? `ApiKey(${apiKey})`;
}

export interface VersionRange {
  min: number;
  max: number;
}

/**
 * Versions the client implements. Lower bounds: the first version with record batch v2 (Produce 3,
 * Fetch 4), timestamps in ListOffsets (1), configSource in DescribeConfigs (1). Fetch 13+ addresses
 * topics by id, which the client learns from Metadata 10+; without an id it stays at Fetch 12.
 * Group APIs: OffsetCommit from 2 (no per-partition timestamp), OffsetFetch from 1 (v0 read ZooKeeper).
 */
export const CLIENT_VERSIONS: ReadonlyMap<number, VersionRange> = new Map([
  [Api.Produce, { min: 3, max: 11 }],
  [Api.Fetch, { min: 4, max: 17 }],
  [Api.ListOffsets, { min: 1, max: 10 }],
  [Api.Metadata, { min: 1, max: 12 }],
  [Api.ApiVersions, { min: 0, max: 3 }],
  [Api.CreateTopics, { min: 2, max: 7 }],
  [Api.DeleteTopics, { min: 1, max: 6 }],
  [Api.DeleteRecords, { min: 0, max: 2 }],
  [Api.DescribeConfigs, { min: 1, max: 4 }],
  [Api.CreatePartitions, { min: 0, max: 3 }],
  [Api.IncrementalAlterConfigs, { min: 0, max: 1 }],
  [Api.DescribeCluster, { min: 0, max: 1 }],
  [Api.FindCoordinator, { min: 0, max: 4 }],
  [Api.JoinGroup, { min: 0, max: 9 }],
  [Api.SyncGroup, { min: 0, max: 5 }],
  [Api.Heartbeat, { min: 0, max: 4 }],
  [Api.LeaveGroup, { min: 0, max: 5 }],
  [Api.OffsetCommit, { min: 2, max: 9 }],
  [Api.OffsetFetch, { min: 1, max: 9 }],
  [Api.DescribeGroups, { min: 0, max: 5 }],
  [Api.ListGroups, { min: 0, max: 5 }],
  [Api.DeleteGroups, { min: 0, max: 2 }],
  [Api.OffsetDelete, { min: 0, max: 0 }],
  [Api.DescribeQuorum, { min: 0, max: 2 }],
  [Api.ElectLeaders, { min: 0, max: 2 }],
  [Api.AlterPartitionReassignments, { min: 0, max: 0 }],
  [Api.ListPartitionReassignments, { min: 0, max: 0 }],
  // v4 adds the volume's total and usable bytes.
  [Api.DescribeLogDirs, { min: 0, max: 4 }],
  // v2 is the first with CurrentLeaderEpoch (fencing), v3 with ReplicaId; the client speaks every version.
  [Api.OffsetForLeaderEpoch, { min: 0, max: 4 }],
]);

export class UnsupportedVersionError extends Error {
  override name = 'UNSUPPORTED_VERSION';
  readonly code = 35;
}

/**
 * The highest version both sides support. `broker` is what ApiVersions reported; a missing entry means
 * the broker does not implement the API at all.
 */
export function pickVersion(
  apiKey: number,
  broker: ReadonlyMap<number, VersionRange>,
  brokerName: string,
  client: ReadonlyMap<number, VersionRange> = CLIENT_VERSIONS,
): number {
  const ours = client.get(apiKey);
  if (ours === undefined) {
    throw new UnsupportedVersionError(`client does not implement ${apiName(apiKey)}`);
  }
  const theirs = broker.get(apiKey);
  if (theirs === undefined) {
    throw new UnsupportedVersionError(`broker ${brokerName} does not support ${apiName(apiKey)}`);
  }
  const version = Math.min(ours.max, theirs.max);
  if (version < Math.max(ours.min, theirs.min)) {
    throw new UnsupportedVersionError(
      `no common version of ${apiName(apiKey)}: client implements ${ours.min}-${ours.max}, ` +
        `broker ${brokerName} supports ${theirs.min}-${theirs.max}`,
    );
  }
  return version;
}
