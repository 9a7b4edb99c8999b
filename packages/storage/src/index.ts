export * from './batch-format.ts';
export * from './fs/file-system.ts';
export { NodeFileSystem } from './fs/node-file-system.ts';
export { MemoryFileSystem, type FsOp, type MemoryFileSystemOptions } from './fs/memory-file-system.ts';
export { OffsetIndex } from './offset-index.ts';
export { TimeIndex } from './time-index.ts';
export { LogSegment, segmentFileName, parseSegmentFileName } from './log-segment.ts';
export { readCheckpoint, CHECKPOINT_FILE, CLEAN_SHUTDOWN_FILE } from './log-checkpoint.ts';
export {
  PartitionLog,
  OffsetOutOfRangeError,
  LogFailedError,
  defaultLogConfig,
  type LogConfig,
  type AppendResult,
  type ReadResult,
} from './partition-log.ts';
