/**
 * GroupConsumer: a minimal classic consumer group member (eager rebalance protocol, range assignor).
 *
 * `poll()` makes sure the member is in the group (JoinGroup, answering MEMBER_ID_REQUIRED; as leader it
 * computes the range assignment; SyncGroup), starts each newly assigned partition at the group's
 * committed offset (or at `autoOffsetReset` when there is none or it is out of range), then fetches.
 * A timer heartbeats every `heartbeatIntervalMs` (default sessionTimeoutMs / 3) while the member is in
 * the group; REBALANCE_IN_PROGRESS, ILLEGAL_GENERATION and UNKNOWN_MEMBER_ID make the next `poll()`
 * rejoin. Eager: on rejoin every partition is given up and positions are reloaded from committed
 * offsets, so records returned but not committed before a rebalance are delivered again (at least once).
 * `commit()` commits what the caller has processed; `close()` leaves the group.
 *
 * The member owns a client (or is given one) whose coordinator connection it uses for its whole life:
 * one GroupConsumer per KafkaClient, since a parked JoinGroup occupies that connection.
 */
import { assert } from '@tributary/common';
import { KafkaClient, OffsetSpec, type ClientOptions, type OffsetToCommit } from './client.ts';
import type { FetchedRecord } from './codec.ts';
import { CONSUMER_PROTOCOL_TYPE, decodeAssignment, decodeSubscription, encodeAssignment, encodeSubscription, rangeAssign, type TopicPartitions } from './consumer-protocol.ts';
import { KafkaError } from './errors.ts';

export interface GroupConsumerOptions {
  groupId: string;
  topics: string[];
  /** Where a partition without a committed offset (or with one out of range) starts. Default `latest`. */
  autoOffsetReset?: 'earliest' | 'latest';
  /** Default 10 s; the broker accepts group.min.session.timeout.ms (6 s) to group.max.session.timeout.ms. */
  sessionTimeoutMs?: number;
  /** How long the coordinator waits for every member to rejoin during a rebalance. Default 60 s. */
  rebalanceTimeoutMs?: number;
  /** Default sessionTimeoutMs / 3. */
  heartbeatIntervalMs?: number;
  /** Bytes per partition per fetch. Default 1 MiB. */
  maxBytesPerPartition?: number;
}

export interface ConsumedBatch {
  topic: string;
  partition: number;
  /** The position the fetch started at: what to commit for this partition if none of `records` is processed. */
  fetchOffset: number;
  records: FetchedRecord[];
  highWatermark: number;
}

export const RANGE_ASSIGNOR = 'range';

/** Consecutive JoinGroup/SyncGroup rounds one `poll()` may spend before giving up. */
const MAX_JOIN_ROUNDS = 50;

const ErrorCode = {
  OFFSET_OUT_OF_RANGE: 1,
  ILLEGAL_GENERATION: 22,
  UNKNOWN_MEMBER_ID: 25,
  REBALANCE_IN_PROGRESS: 27,
  MEMBER_ID_REQUIRED: 79,
} as const;

/** Errors that mean "this member must join again", not "this member is broken". */
const REJOIN_CODES: ReadonlySet<number> = new Set([ErrorCode.ILLEGAL_GENERATION, ErrorCode.UNKNOWN_MEMBER_ID, ErrorCode.REBALANCE_IN_PROGRESS]);

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

const tpKey = (topic: string, partition: number): string => `${topic}\0${partition}`;

export class GroupConsumer {
  readonly groupId: string;
  readonly topics: readonly string[];
  readonly #client: KafkaClient;
  readonly #ownsClient: boolean;
  readonly #autoOffsetReset: 'earliest' | 'latest';
  readonly #sessionTimeoutMs: number;
  readonly #rebalanceTimeoutMs: number;
  readonly #heartbeatIntervalMs: number;
  readonly #maxBytesPerPartition: number;

  #memberId = '';
  #generationId = -1;
  #leaderId = '';
  #protocol = '';
  #assignment: TopicPartitions[] = [];
  /** Next offset to fetch per assigned partition. */
  readonly #positions = new Map<string, { topic: string; partition: number; offset: number }>();
  /** What the group has committed for assigned partitions, as far as this member knows (it alone commits them). */
  readonly #committed = new Map<string, number>();
  #rejoinNeeded = true;
  #heartbeatTimer: NodeJS.Timeout | null = null;
  #heartbeatInFlight: Promise<void> | null = null;
  /** Bumped whenever heartbeats stop, so a heartbeat answered after that does not reschedule itself. */
  #heartbeatEpoch = 0;
  /** A heartbeat error that is not a rebalance; thrown by the next `poll()`. */
  #fatal: Error | null = null;
  #closed = false;

  constructor(client: KafkaClient | ClientOptions, options: GroupConsumerOptions) {
    assert(options.groupId.length > 0, 'groupId must not be empty');
    assert(options.topics.length > 0, 'a group consumer needs at least one topic');
    this.groupId = options.groupId;
    this.topics = [...new Set(options.topics)].sort();
    this.#ownsClient = !(client instanceof KafkaClient);
    this.#client = client instanceof KafkaClient ? client : new KafkaClient(client);
    this.#autoOffsetReset = options.autoOffsetReset ?? 'latest';
    this.#sessionTimeoutMs = options.sessionTimeoutMs ?? 10_000;
    this.#rebalanceTimeoutMs = options.rebalanceTimeoutMs ?? 60_000;
    this.#heartbeatIntervalMs = options.heartbeatIntervalMs ?? Math.floor(this.#sessionTimeoutMs / 3);
    this.#maxBytesPerPartition = options.maxBytesPerPartition ?? 1024 * 1024;
    assert(this.#heartbeatIntervalMs > 0 && this.#heartbeatIntervalMs < this.#sessionTimeoutMs, 'heartbeatIntervalMs must be in (0, sessionTimeoutMs)');
  }

  get memberId(): string {
    return this.#memberId;
  }

  get generationId(): number {
    return this.#generationId;
  }

  get isLeader(): boolean {
    return this.#memberId !== '' && this.#memberId === this.#leaderId;
  }

  get protocol(): string {
    return this.#protocol;
  }

  /** The partitions this member owns in the current generation (empty until the first `poll()`). */
  assignment(): TopicPartitions[] {
    return this.#assignment.map((tp) => ({ topic: tp.topic, partitions: [...tp.partitions] }));
  }

  /** The next offset to fetch for each assigned partition. */
  positions(): { topic: string; partition: number; offset: number }[] {
    return [...this.#positions.values()].map((p) => ({ ...p }));
  }

  /**
   * Joins or rejoins the group when needed, then fetches every assigned partition once, waiting up to
   * `maxWaitMs` for data. Returns the records per partition (possibly none) and advances positions.
   * Resolves with nothing when `signal` is aborted.
   */
  async poll(options: { maxWaitMs?: number; signal?: AbortSignal } = {}): Promise<ConsumedBatch[]> {
    const maxWaitMs = options.maxWaitMs ?? 500;
    this.#throwIfUnusable();
    await this.#ensureActive(options.signal);
    if (options.signal?.aborted || this.#rejoinNeeded) return [];
    const asked = [...this.#positions.values()];
    if (asked.length === 0) {
      // Nothing assigned (more members than partitions): wait as a fetch would, so callers do not spin.
      await sleep(maxWaitMs, options.signal);
      return [];
    }
    const results = await this.#client.fetchMany(asked, { maxWaitMs, maxBytes: this.#maxBytesPerPartition });
    const batches: ConsumedBatch[] = [];
    for (const r of results) {
      const position = this.#positions.get(tpKey(r.topic, r.partition));
      // A rebalance during the fetch may have taken the partition away.
      if (position === undefined) continue;
      if (r.error !== null) {
        if (r.error.code === ErrorCode.OFFSET_OUT_OF_RANGE) {
          position.offset = await this.#resetOffset(r.topic, r.partition);
          continue;
        }
        if (r.error.retriable) continue; // The leader moved or is not known yet; the next poll looks it up.
        throw r.error;
      }
      if (r.records.length === 0) continue;
      const fetchOffset = position.offset;
      position.offset = (r.records[r.records.length - 1] as FetchedRecord).offset + 1;
      batches.push({ topic: r.topic, partition: r.partition, fetchOffset, records: r.records, highWatermark: r.highWatermark });
    }
    return batches;
  }

  /**
   * Commits `offsets` (each the next offset to read, i.e. last processed + 1), or the current positions
   * of every assigned partition. Offsets equal to what is already committed are skipped, so calling it
   * after every poll costs a request only when something moved; a partition that started at
   * auto.offset.reset gets that start committed, so a later member does not skip what arrives meanwhile.
   * Resolves false when the group rebalanced under the commit (REBALANCE_IN_PROGRESS,
   * ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID): nothing was committed and the next `poll()` rejoins; those
   * records will be delivered again. Other errors are thrown.
   */
  async commit(offsets?: OffsetToCommit[]): Promise<boolean> {
    this.#throwIfUnusable();
    if (this.#memberId === '' || this.#generationId < 0) return false;
    const toCommit = (offsets ?? [...this.#positions.values()]).filter((o) => this.#committed.get(tpKey(o.topic, o.partition)) !== o.offset);
    if (toCommit.length === 0) return true;
    try {
      await this.#client.offsetCommit(this.groupId, toCommit, { generationId: this.#generationId, memberId: this.#memberId });
      for (const o of toCommit) if (this.#positions.has(tpKey(o.topic, o.partition))) this.#committed.set(tpKey(o.topic, o.partition), o.offset);
      return true;
    } catch (err) {
      if (err instanceof KafkaError && REJOIN_CODES.has(err.code)) {
        this.#onRejoinError(err.code);
        return false;
      }
      throw err;
    }
  }

  /** Stops heartbeating and leaves the group (so the others rebalance at once); closes an owned client. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#stopHeartbeats();
    try {
      if (this.#memberId !== '') {
        // Best effort: a member that cannot say goodbye is removed when its session expires.
        await this.#client.leaveGroup({ groupId: this.groupId, memberId: this.#memberId, reason: 'the consumer is closing' }).catch(() => undefined);
      }
    } finally {
      this.#memberId = '';
      this.#generationId = -1;
      this.#assignment = [];
      this.#positions.clear();
      this.#committed.clear();
      if (this.#ownsClient) await this.#client.close();
    }
  }

  #throwIfUnusable(): void {
    if (this.#closed) throw new Error(`the consumer of group ${this.groupId} is closed`);
    if (this.#fatal !== null) throw this.#fatal;
  }

  #onRejoinError(code: number): void {
    this.#rejoinNeeded = true;
    if (code === ErrorCode.UNKNOWN_MEMBER_ID) {
      // The coordinator forgot us (session expired, group deleted): join as a new member.
      this.#memberId = '';
      this.#generationId = -1;
    }
  }

  // ---- membership ----------------------------------------------------------------------------------

  async #ensureActive(signal: AbortSignal | undefined): Promise<void> {
    for (let round = 0; this.#rejoinNeeded; round++) {
      if (signal?.aborted) return;
      if (round >= MAX_JOIN_ROUNDS) throw new Error(`could not join group ${this.groupId} in ${MAX_JOIN_ROUNDS} rounds`);
      // A growing pause once rounds keep failing (beyond the usual MEMBER_ID_REQUIRED and one rebalance),
      // so a churning group is not hammered.
      if (round > 2) await sleep(Math.min(50 * round, 1000), signal);
      await this.#stopHeartbeats();
      // Eager protocol: give everything up before joining; positions come back from committed offsets.
      this.#assignment = [];
      this.#positions.clear();
      this.#committed.clear();
      if (await this.#joinAndSync()) {
        await this.#initPositions();
        this.#rejoinNeeded = false;
        this.#startHeartbeats();
      }
    }
  }

  /** One JoinGroup + SyncGroup round; false when the round must be repeated. */
  async #joinAndSync(): Promise<boolean> {
    const join = await this.#client.joinGroup({
      groupId: this.groupId,
      sessionTimeoutMs: this.#sessionTimeoutMs,
      rebalanceTimeoutMs: this.#rebalanceTimeoutMs,
      memberId: this.#memberId,
      protocolType: CONSUMER_PROTOCOL_TYPE,
      protocols: [{ name: RANGE_ASSIGNOR, metadata: encodeSubscription({ topics: [...this.topics] }) }],
    });
    if (join.errorCode === ErrorCode.MEMBER_ID_REQUIRED) {
      // JoinGroup v4+: the coordinator hands out the id first; join again with it.
      this.#memberId = join.memberId;
      return false;
    }
    if (REJOIN_CODES.has(join.errorCode)) {
      this.#onRejoinError(join.errorCode);
      return false;
    }
    if (join.errorCode !== 0) throw new KafkaError(join.errorCode, join.errorName, `${join.errorName} (JoinGroup ${this.groupId})`);
    this.#memberId = join.memberId;
    this.#generationId = join.generationId;
    this.#leaderId = join.leader;
    this.#protocol = join.protocolName ?? '';
    const leading = join.leader === join.memberId && !join.skipAssignment;
    const assignments = leading ? await this.#assign(join.members) : [];
    const sync = await this.#client.syncGroup({
      groupId: this.groupId,
      generationId: this.#generationId,
      memberId: this.#memberId,
      protocolType: CONSUMER_PROTOCOL_TYPE,
      protocolName: this.#protocol,
      assignments,
      rebalanceTimeoutMs: this.#rebalanceTimeoutMs,
    });
    if (REJOIN_CODES.has(sync.errorCode)) {
      this.#onRejoinError(sync.errorCode);
      return false;
    }
    if (sync.errorCode !== 0) throw new KafkaError(sync.errorCode, sync.errorName, `${sync.errorName} (SyncGroup ${this.groupId})`);
    this.#assignment = decodeAssignment(sync.assignment)
      .assignedPartitions.filter((tp) => tp.partitions.length > 0)
      .map((tp) => ({ topic: tp.topic, partitions: [...tp.partitions].sort((a, b) => a - b) }))
      .sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : 0));
    return true;
  }

  /** The leader's job: a range assignment over every member's subscription, with partition counts from metadata. */
  async #assign(members: { memberId: string; metadata: Buffer }[]): Promise<{ memberId: string; assignment: Buffer }[]> {
    const subscriptions = new Map<string, string[]>();
    for (const m of members) {
      let topics: string[] = [];
      try {
        topics = decodeSubscription(m.metadata).topics;
      } catch {
        // A member whose subscription we cannot read gets nothing rather than breaking the group.
      }
      subscriptions.set(m.memberId, topics);
    }
    const wanted = [...new Set([...subscriptions.values()].flat())];
    const counts = new Map<string, number>();
    if (wanted.length > 0) {
      const md = await this.#client.metadata(wanted);
      for (const t of md.topics) if (t.errorCode === 0) counts.set(t.name, t.partitions.length);
    }
    const assigned = rangeAssign(subscriptions, counts);
    return [...assigned.entries()].map(([memberId, tps]) => ({ memberId, assignment: encodeAssignment(tps) }));
  }

  async #initPositions(): Promise<void> {
    if (this.#assignment.length === 0) return;
    const committed = await this.#client.offsetFetch(this.groupId, this.#assignment);
    const offsets = new Map(committed.map((c) => [tpKey(c.topic, c.partition), c.offset]));
    for (const tp of this.#assignment) {
      for (const partition of tp.partitions) {
        const c = offsets.get(tpKey(tp.topic, partition)) ?? -1;
        if (c >= 0) this.#committed.set(tpKey(tp.topic, partition), c);
        const offset = c >= 0 ? c : await this.#resetOffset(tp.topic, partition);
        this.#positions.set(tpKey(tp.topic, partition), { topic: tp.topic, partition, offset });
      }
    }
  }

  async #resetOffset(topic: string, partition: number): Promise<number> {
    const spec = this.#autoOffsetReset === 'earliest' ? OffsetSpec.Earliest : OffsetSpec.Latest;
    return (await this.#client.listOffsets(topic, partition, spec)).offset;
  }

  // ---- heartbeats ----------------------------------------------------------------------------------

  #startHeartbeats(): void {
    const epoch = ++this.#heartbeatEpoch;
    const schedule = (): void => {
      if (epoch !== this.#heartbeatEpoch || this.#closed) return;
      this.#heartbeatTimer = setTimeout(() => {
        this.#heartbeatTimer = null;
        this.#heartbeatInFlight = this.#beat(epoch).finally(() => {
          this.#heartbeatInFlight = null;
          schedule();
        });
      }, this.#heartbeatIntervalMs);
      // Heartbeats alone must not keep a process alive that forgot to close its consumer.
      this.#heartbeatTimer.unref();
    };
    schedule();
  }

  async #beat(epoch: number): Promise<void> {
    try {
      const { errorCode, errorName } = await this.#client.heartbeat({ groupId: this.groupId, generationId: this.#generationId, memberId: this.#memberId });
      if (epoch !== this.#heartbeatEpoch) return;
      if (errorCode === 0) return;
      if (errorCode === ErrorCode.REBALANCE_IN_PROGRESS) {
        // Keep heartbeating until poll() rejoins: the session must stay alive meanwhile.
        this.#rejoinNeeded = true;
        return;
      }
      if (REJOIN_CODES.has(errorCode)) {
        this.#onRejoinError(errorCode);
        this.#heartbeatEpoch++; // This generation is over; its heartbeats stop.
        return;
      }
      this.#fatal = new KafkaError(errorCode, errorName, `${errorName} (Heartbeat ${this.groupId})`);
      this.#heartbeatEpoch++;
    } catch {
      // Coordinator unreachable or moving: the client already retried; try again at the next beat.
      // If the session expires meanwhile the coordinator answers UNKNOWN_MEMBER_ID and we rejoin.
    }
  }

  async #stopHeartbeats(): Promise<void> {
    this.#heartbeatEpoch++;
    if (this.#heartbeatTimer !== null) clearTimeout(this.#heartbeatTimer);
    this.#heartbeatTimer = null;
    if (this.#heartbeatInFlight !== null) await this.#heartbeatInFlight;
  }
}
