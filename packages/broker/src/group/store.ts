/**
 * Where group metadata and committed offsets persist: the compacted `__consumer_offsets` topic.
 * The coordinator awaits `append` before it acknowledges an OffsetCommit or completes a SyncGroup
 * (write, then ack), so an acknowledged commit survives a coordinator move or restart.
 */
export interface GroupRecord {
  key: Buffer;
  /** null is a tombstone: compaction drops the key. */
  value: Buffer | null;
}

export interface GroupStorePort {
  /**
   * Appends records to one `__consumer_offsets` partition, resolving once they are durable
   * (acks=all in the broker). Appends to one partition land in call order. A rejection may carry
   * a numeric `errorCode` (a Kafka error code) the coordinator passes to the client; otherwise
   * the client gets COORDINATOR_NOT_AVAILABLE and retries.
   */
  append(partition: number, records: GroupRecord[]): Promise<void>;
}

/** The store for tests and single-process experiments: per partition, the records in append order. */
export class InMemoryGroupStore implements GroupStorePort {
  readonly partitions = new Map<number, GroupRecord[]>();
  /** Set to make the next appends fail, to test write-then-ack. */
  failNext: Error | null = null;

  async append(partition: number, records: GroupRecord[]): Promise<void> {
    if (this.failNext !== null) {
      const error = this.failNext;
      this.failNext = null;
      throw error;
    }
    let log = this.partitions.get(partition);
    if (log === undefined) {
      log = [];
      this.partitions.set(partition, log);
    }
    for (const r of records) log.push({ key: Buffer.from(r.key), value: r.value === null ? null : Buffer.from(r.value) });
  }

  records(partition: number): GroupRecord[] {
    return this.partitions.get(partition) ?? [];
  }

  /** The partition as an async iterable, as `GroupCoordinator.loadPartition` reads it. */
  async *read(partition: number): AsyncGenerator<GroupRecord> {
    for (const r of this.records(partition)) yield r;
  }
}
