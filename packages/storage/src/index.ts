export * from './batch-format.ts';
export * from './fs/file-system.ts';
export { NodeFileSystem } from './fs/node-file-system.ts';
export { LazyFileSystem, type LazyFileSystemOptions } from './fs/lazy-file-system.ts';
export { MemoryFileSystem, type FsOp, type MemoryFileSystemOptions } from './fs/memory-file-system.ts';
export { OffsetIndex } from './offset-index.ts';
export { TimeIndex } from './time-index.ts';
export { LogSegment, segmentFileName, parseSegmentFileName } from './log-segment.ts';
export { readCheckpoint, CHECKPOINT_FILE, CLEAN_SHUTDOWN_FILE } from './log-checkpoint.ts';
export { readCleanerCheckpoint, CLEANER_CHECKPOINT_FILE, type CleanerCheckpoint } from './cleaner-checkpoint.ts';
export {
  CLEANER_STEPS,
  DEFAULT_OFFSET_MAP_BYTES,
  type CleanerStep,
  type CleaningStats,
  type CompactionConfig,
  type CompactionResult,
} from './log-cleaner.ts';
export {
  LeaderEpochCache,
  readLeaderEpochCheckpoint,
  LEADER_EPOCH_CHECKPOINT_FILE,
  UNDEFINED_EPOCH,
  UNDEFINED_EPOCH_OFFSET,
  type EpochEntry,
  type EpochEndOffset,
} from './leader-epoch-cache.ts';
export {
  ProducerStateManager,
  TooManyProducersError,
  PRODUCER_BATCHES_RETAINED,
  SNAPSHOT_SUFFIX,
  listSnapshotOffsets,
  readProducerSnapshot,
  type ProducerBatch,
  type ProducerBatchMetadata,
  type ProducerCheck,
  type ProducerCheckError,
  type ProducerEntry,
} from './producer-state.ts';
export {
  PartitionLog,
  OffsetOutOfRangeError,
  LogFailedError,
  UnexpectedAppendOffsetError,
  CorruptRecordError,
  MAX_PRODUCER_SNAPSHOTS,
  defaultLogConfig,
  type LogConfig,
  type AppendResult,
  type ReadResult,
} from './partition-log.ts';
