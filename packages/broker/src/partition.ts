/**
 * One partition replica hosted by this broker, with its place in the cluster as the committed metadata
 * says (leader, epochs, replicas, ISR). Only the leader serves produce, fetch and list-offsets; until
 * follower fetching lands (the replication issue) a follower holds an empty or stale log and the high
 * watermark is the leader's log end offset.
 */
import type { PartitionLog } from '@tributary/storage';
import type { ResolvedTopicConfig } from './config/topic-config.ts';

export interface PartitionAssignment {
  readonly leaderId: number;
  readonly leaderEpoch: number;
  readonly partitionEpoch: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
}

export class Partition {
  readonly topic: string;
  readonly topicId: string;
  readonly index: number;
  readonly log: PartitionLog;
  readonly #nodeId: number;
  config: ResolvedTopicConfig;
  leaderId = -1;
  leaderEpoch = 0;
  partitionEpoch = 0;
  replicas: readonly number[] = [];
  isr: readonly number[] = [];

  constructor(topic: string, topicId: string, index: number, log: PartitionLog, config: ResolvedTopicConfig, nodeId: number) {
    this.topic = topic;
    this.topicId = topicId;
    this.index = index;
    this.log = log;
    this.config = config;
    this.#nodeId = nodeId;
  }

  get isLeader(): boolean {
    return this.leaderId === this.#nodeId;
  }

  assign(a: PartitionAssignment): void {
    this.leaderId = a.leaderId;
    this.leaderEpoch = a.leaderEpoch;
    this.partitionEpoch = a.partitionEpoch;
    this.replicas = a.replicas;
    this.isr = a.isr;
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
