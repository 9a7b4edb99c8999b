// The API registry: keys, schema lookup and header versions.
import type { ApiDef } from './dsl.ts';
import { allApis } from './schemas/index.ts';

/** Every API this codec has schemas for, by Kafka name. */
export const ApiKey = {
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
  SaslHandshake: 17,
  ApiVersions: 18,
  CreateTopics: 19,
  DeleteTopics: 20,
  DeleteRecords: 21,
  InitProducerId: 22,
  OffsetForLeaderEpoch: 23,
  DescribeConfigs: 32,
  AlterConfigs: 33,
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

export type ApiName = keyof typeof ApiKey;
export type ApiKeyValue = (typeof ApiKey)[ApiName];

const byKey = new Map<number, ApiDef>();
for (const def of allApis) byKey.set(def.key, def);

export function apiDef(apiKey: number): ApiDef | undefined {
  return byKey.get(apiKey);
}

export function allApiDefs(): readonly ApiDef[] {
  return allApis;
}

/** The versions our schemas can encode and decode for an API, or undefined for an unknown API. */
export function schemaVersionRange(apiKey: number): { min: number; max: number } | undefined {
  const def = byKey.get(apiKey);
  return def === undefined ? undefined : { min: def.minVersion, max: def.maxVersion };
}

export function isSupportedVersion(apiKey: number, apiVersion: number): boolean {
  const def = byKey.get(apiKey);
  return def !== undefined && apiVersion >= def.minVersion && apiVersion <= def.maxVersion;
}

/**
 * Whether (api, version) uses flexible encoding. A version above our maximum counts as flexible when
 * the API's flexible range is open-ended ('N+'), which is how Kafka defines future versions; this is
 * what lets an ApiVersions v5+ request be parsed with header v2.
 */
export function isFlexible(apiKey: number, apiVersion: number): boolean {
  const def = byKey.get(apiKey);
  return def !== undefined && apiVersion >= def.flexible.min && apiVersion <= def.flexible.max;
}

/** Request header version: 2 for flexible versions, else 1. */
export function requestHeaderVersion(apiKey: number, apiVersion: number): number {
  return isFlexible(apiKey, apiVersion) ? 2 : 1;
}

/** Response header version: 1 for flexible versions, else 0; ApiVersions responses always use 0. */
export function responseHeaderVersion(apiKey: number, apiVersion: number): number {
  if (apiKey === ApiKey.ApiVersions) return 0;
  return isFlexible(apiKey, apiVersion) ? 1 : 0;
}
