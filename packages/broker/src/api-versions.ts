import { ApiKey, schemaVersionRange } from '@tributary/protocol';

/**
 * What this broker advertises in ApiVersions. Every version in a range is implemented.
 * Ranges follow what real clients need (see ARCHITECTURE.md): older librdkafka enables record
 * format v2 only if Produce 3 and Fetch 4 are in range, groups only with version 0 of the group APIs,
 * idempotence only with InitProducerId 0. Produce 0-2 are advertised but answered with
 * UNSUPPORTED_VERSION because they carry the old message formats.
 */
export interface ApiRange {
  apiKey: number;
  minVersion: number;
  maxVersion: number;
}

const profile: [number, number, number][] = [
  [ApiKey.Produce, 0, 11],
  [ApiKey.Fetch, 4, 12],
  [ApiKey.ListOffsets, 1, 7],
  [ApiKey.Metadata, 0, 12],
  [ApiKey.OffsetCommit, 2, 9],
  [ApiKey.OffsetFetch, 1, 9],
  [ApiKey.FindCoordinator, 0, 4],
  [ApiKey.JoinGroup, 0, 9],
  [ApiKey.Heartbeat, 0, 4],
  [ApiKey.LeaveGroup, 0, 5],
  [ApiKey.SyncGroup, 0, 5],
  [ApiKey.DescribeGroups, 0, 5],
  [ApiKey.ListGroups, 0, 5],
  [ApiKey.ApiVersions, 0, 4],
  [ApiKey.CreateTopics, 2, 7],
  [ApiKey.DeleteTopics, 1, 6],
  [ApiKey.DeleteRecords, 0, 2],
  [ApiKey.InitProducerId, 0, 5],
  [ApiKey.DescribeConfigs, 1, 4],
  [ApiKey.AlterConfigs, 0, 2],
  [ApiKey.CreatePartitions, 0, 3],
  [ApiKey.DeleteGroups, 0, 2],
  [ApiKey.IncrementalAlterConfigs, 0, 1],
  [ApiKey.OffsetDelete, 0, 0],
  [ApiKey.DescribeCluster, 0, 1],
  [ApiKey.DescribeQuorum, 0, 2],
  [ApiKey.ElectLeaders, 0, 2],
  [ApiKey.OffsetForLeaderEpoch, 0, 4],
  [ApiKey.AlterPartitionReassignments, 0, 0],
  [ApiKey.ListPartitionReassignments, 0, 0],
  [ApiKey.DescribeLogDirs, 0, 4],
];

export const advertisedApis: readonly ApiRange[] = profile
  .map(([apiKey, minVersion, maxVersion]) => ({ apiKey, minVersion, maxVersion }))
  .sort((a, b) => a.apiKey - b.apiKey);

const byKey = new Map(advertisedApis.map((r) => [r.apiKey, r]));

export function advertisedRange(apiKey: number): ApiRange | undefined {
  return byKey.get(apiKey);
}

export function isAdvertised(apiKey: number, version: number): boolean {
  const r = byKey.get(apiKey);
  return r !== undefined && version >= r.minVersion && version <= r.maxVersion;
}

/** Checked at start: advertising a version the codec cannot speak would be a lie to clients. */
export function assertProfileWithinCodec(): void {
  for (const r of advertisedApis) {
    const codec = schemaVersionRange(r.apiKey);
    if (!codec || codec.min > r.minVersion || codec.max < r.maxVersion) {
      throw new Error(`ApiVersions profile advertises api ${r.apiKey} v${r.minVersion}-${r.maxVersion} but the codec supports ${codec ? `${codec.min}-${codec.max}` : 'none'}`);
    }
  }
}
