// Every API definition the codec knows.
import { apiVersions } from './apiVersions.ts';
import { metadata } from './metadata.ts';
import { produce } from './produce.ts';
import { fetch } from './fetch.ts';
import { listOffsets } from './listOffsets.ts';
import { createTopics } from './createTopics.ts';
import { deleteTopics } from './deleteTopics.ts';
import { createPartitions } from './createPartitions.ts';
import { describeConfigs } from './describeConfigs.ts';
import { alterConfigs } from './alterConfigs.ts';
import { incrementalAlterConfigs } from './incrementalAlterConfigs.ts';
import { describeCluster } from './describeCluster.ts';
import { initProducerId } from './initProducerId.ts';
import { deleteRecords } from './deleteRecords.ts';
import { offsetForLeaderEpoch } from './offsetForLeaderEpoch.ts';
import { findCoordinator } from './findCoordinator.ts';
import { joinGroup } from './joinGroup.ts';
import { syncGroup } from './syncGroup.ts';
import { heartbeat } from './heartbeat.ts';
import { leaveGroup } from './leaveGroup.ts';
import { offsetCommit } from './offsetCommit.ts';
import { offsetFetch } from './offsetFetch.ts';
import { describeGroups } from './describeGroups.ts';
import { listGroups } from './listGroups.ts';
import { deleteGroups } from './deleteGroups.ts';
import { offsetDelete } from './offsetDelete.ts';
import { saslHandshake } from './saslHandshake.ts';
import { describeQuorum } from './describeQuorum.ts';
import { electLeaders } from './electLeaders.ts';
import { describeLogDirs } from './describeLogDirs.ts';
import { alterPartitionReassignments } from './alterPartitionReassignments.ts';
import { listPartitionReassignments } from './listPartitionReassignments.ts';

export const allApis = [
  apiVersions,
  metadata,
  produce,
  fetch,
  listOffsets,
  createTopics,
  deleteTopics,
  createPartitions,
  describeConfigs,
  alterConfigs,
  incrementalAlterConfigs,
  describeCluster,
  initProducerId,
  deleteRecords,
  offsetForLeaderEpoch,
  findCoordinator,
  joinGroup,
  syncGroup,
  heartbeat,
  leaveGroup,
  offsetCommit,
  offsetFetch,
  describeGroups,
  listGroups,
  deleteGroups,
  offsetDelete,
  saslHandshake,
  describeQuorum,
  electLeaders,
  alterPartitionReassignments,
  listPartitionReassignments,
  describeLogDirs,
] as const;
