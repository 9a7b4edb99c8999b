/**
 * One partition replica hosted by this broker. Until replication lands every partition has a
 * single replica, this broker, which is its leader; the high watermark then equals the log end
 * offset. The replication issue turns this into the leader/follower state machine.
 */
import type { PartitionLog } from '@tributary/storage';
import type { ResolvedTopicConfig } from './config/topic-config.ts';

export class Partition {
  readonly topic: string;
  readonly index: number;
  readonly log: PartitionLog;
  config: ResolvedTopicConfig;
  leaderEpoch = 0;

  constructor(topic: string, index: number, log: PartitionLog, config: ResolvedTopicConfig) {
    this.topic = topic;
    this.index = index;
    this.log = log;
    this.config = config;
  }

  get highWatermark(): number {
    return this.log.logEndOffset;
  }

  /** No transactions yet, so nothing is ever open: the last stable offset is the high watermark. */
  get lastStableOffset(): number {
    return this.highWatermark;
  }

  get logStartOffset(): number {
    return this.log.logStartOffset;
  }
}

export function partitionKey(topic: string, index: number): string {
  return `${topic}\u0000${index}`;
}
