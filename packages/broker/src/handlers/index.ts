import { ApiKey } from '@tributary/protocol';
import type { Broker, HandlerResult, RequestContext } from '../broker.ts';
import { handleApiVersions } from './api-versions.ts';
import { handleMetadata } from './metadata.ts';
import { handleProduce } from './produce.ts';
import { handleFetch } from './fetch.ts';
import { handleListOffsets } from './list-offsets.ts';
import { handleCreateTopics } from './create-topics.ts';
import { handleDeleteTopics } from './delete-topics.ts';
import { handleCreatePartitions } from './create-partitions.ts';
import { handleDescribeConfigs } from './describe-configs.ts';
import { handleAlterConfigs, handleIncrementalAlterConfigs } from './alter-configs.ts';
import { handleDescribeCluster } from './describe-cluster.ts';
import { handleInitProducerId } from './init-producer-id.ts';
import { handleDeleteRecords } from './delete-records.ts';
import { groupHandlers } from './groups.ts';
import { handleDescribeQuorum } from './describe-quorum.ts';
import { handleElectLeaders } from './elect-leaders.ts';
import { handleOffsetForLeaderEpoch } from './offset-for-leader-epoch.ts';
import { handleAlterPartitionReassignments } from './alter-partition-reassignments.ts';
import { handleListPartitionReassignments } from './list-partition-reassignments.ts';
import { handleDescribeLogDirs } from './describe-log-dirs.ts';

export type Handler = (broker: Broker, ctx: RequestContext, body: any) => Promise<HandlerResult>;

export const handlers: ReadonlyMap<number, Handler> = new Map<number, Handler>([
  [ApiKey.ApiVersions, handleApiVersions],
  [ApiKey.Metadata, handleMetadata],
  [ApiKey.Produce, handleProduce],
  [ApiKey.Fetch, handleFetch],
  [ApiKey.ListOffsets, handleListOffsets],
  [ApiKey.CreateTopics, handleCreateTopics],
  [ApiKey.DeleteTopics, handleDeleteTopics],
  [ApiKey.CreatePartitions, handleCreatePartitions],
  [ApiKey.DescribeConfigs, handleDescribeConfigs],
  [ApiKey.AlterConfigs, handleAlterConfigs],
  [ApiKey.IncrementalAlterConfigs, handleIncrementalAlterConfigs],
  [ApiKey.DescribeCluster, handleDescribeCluster],
  [ApiKey.InitProducerId, handleInitProducerId],
  [ApiKey.DeleteRecords, handleDeleteRecords],
  [ApiKey.DescribeQuorum, handleDescribeQuorum],
  ...groupHandlers,
  [ApiKey.ElectLeaders, handleElectLeaders],
  [ApiKey.OffsetForLeaderEpoch, handleOffsetForLeaderEpoch],
  [ApiKey.AlterPartitionReassignments, handleAlterPartitionReassignments],
  [ApiKey.ListPartitionReassignments, handleListPartitionReassignments],
  [ApiKey.DescribeLogDirs, handleDescribeLogDirs],
]);
