export { GroupCoordinator, type GroupCoordinatorOptions, type GroupSnapshot, type PartitionRecords } from './coordinator.ts';
export { defaultGroupConfig, groupConfig, type GroupConfig } from './config.ts';
export { GroupState } from './group.ts';
export { ErrorCode as GroupErrorCode } from './errors.ts';
export { InMemoryGroupStore, type GroupRecord, type GroupStorePort } from './store.ts';
export * from './records.ts';
export * from './consumer-protocol.ts';
export type * from './messages.ts';
