/**
 * The "consumer" embedded protocol that consumer group members put in JoinGroup metadata (their
 * subscription) and that the leader hands out through SyncGroup (assignments). Classic, non-flexible
 * encoding, big-endian:
 *
 *   subscription  version int16, topics [string], userData bytes (nullable),
 *                 ownedPartitions [topic string, partitions [int32]] (v1+), generationId int32 (v2+), rackId string (v3+)
 *   assignment    version int16, assignedPartitions [topic string, partitions [int32]], userData bytes (nullable)
 *
 * Arrays are int32 counts, strings int16 lengths, bytes int32 lengths (-1 null). Versions newer than the
 * ones we know are read by their known prefix, as Kafka's clients do. Deliberately independent of the
 * broker's copy: a client must not depend on the broker.
 */

export const CONSUMER_PROTOCOL_TYPE = 'consumer';

export interface TopicPartitions {
  topic: string;
  partitions: number[];
}

export interface ConsumerSubscription {
  version: number;
  topics: string[];
  userData: Buffer | null;
  /** v1+; empty before. */
  ownedPartitions: TopicPartitions[];
  /** v2+; -1 before. */
  generationId: number;
  /** v3+; null before. */
  rackId: string | null;
}

export interface ConsumerAssignment {
  version: number;
  assignedPartitions: TopicPartitions[];
  userData: Buffer | null;
}

/** Bytes that are not a consumer subscription or assignment (too short, negative length, bad version). */
export class ConsumerProtocolError extends Error {
  override name = 'ConsumerProtocolError';
}

class Reader {
  readonly #buf: Buffer;
  #pos = 0;
  constructor(buf: Buffer) {
    this.#buf = buf;
  }
  get atEnd(): boolean {
    return this.#pos >= this.#buf.length;
  }
  #need(n: number): void {
    if (this.#pos + n > this.#buf.length) throw new ConsumerProtocolError(`truncated: needs ${n} bytes at ${this.#pos}, has ${this.#buf.length - this.#pos}`);
  }
  int16(): number {
    this.#need(2);
    const v = this.#buf.readInt16BE(this.#pos);
    this.#pos += 2;
    return v;
  }
  int32(): number {
    this.#need(4);
    const v = this.#buf.readInt32BE(this.#pos);
    this.#pos += 4;
    return v;
  }
  /** An array count; each element takes at least `minElementBytes`, which bounds a lying count. */
  count(minElementBytes: number): number {
    const n = this.int32();
    if (n < 0) return 0; // A null array reads as empty.
    if (n * minElementBytes > this.#buf.length - this.#pos) throw new ConsumerProtocolError(`array of ${n} elements does not fit in ${this.#buf.length - this.#pos} bytes`);
    return n;
  }
  string(): string | null {
    const len = this.int16();
    if (len < 0) return null;
    this.#need(len);
    const v = this.#buf.toString('utf8', this.#pos, this.#pos + len);
    this.#pos += len;
    return v;
  }
  bytes(): Buffer | null {
    const len = this.int32();
    if (len < 0) return null;
    this.#need(len);
    // A copy: the input is often a view into a response frame.
    const v = Buffer.from(this.#buf.subarray(this.#pos, this.#pos + len));
    this.#pos += len;
    return v;
  }
  topicPartitions(): TopicPartitions[] {
    const out: TopicPartitions[] = [];
    for (let i = this.count(6); i > 0; i--) {
      const topic = this.string() ?? '';
      const partitions: number[] = [];
      for (let j = this.count(4); j > 0; j--) partitions.push(this.int32());
      out.push({ topic, partitions });
    }
    return out;
  }
}

function version(r: Reader): number {
  const v = r.int16();
  if (v < 0) throw new ConsumerProtocolError(`negative version ${v}`);
  return v;
}

export function decodeSubscription(metadata: Buffer): ConsumerSubscription {
  const r = new Reader(metadata);
  const v = version(r);
  const topics: string[] = [];
  for (let i = r.count(2); i > 0; i--) topics.push(r.string() ?? '');
  // Some old clients end the subscription after the topics.
  const userData = r.atEnd ? null : r.bytes();
  const ownedPartitions = v >= 1 && !r.atEnd ? r.topicPartitions() : [];
  const generationId = v >= 2 && !r.atEnd ? r.int32() : -1;
  const rackId = v >= 3 && !r.atEnd ? r.string() : null;
  return { version: v, topics, userData, ownedPartitions, generationId, rackId };
}

export function decodeAssignment(assignment: Buffer): ConsumerAssignment {
  // An empty assignment (a member the leader gave nothing, or a failed sync) means no partitions.
  if (assignment.length === 0) return { version: 0, assignedPartitions: [], userData: null };
  const r = new Reader(assignment);
  const v = version(r);
  const assignedPartitions = r.topicPartitions();
  const userData = r.atEnd ? null : r.bytes();
  return { version: v, assignedPartitions, userData };
}

class Writer {
  readonly #parts: Buffer[] = [];
  int16(v: number): this {
    const b = Buffer.allocUnsafe(2);
    b.writeInt16BE(v);
    this.#parts.push(b);
    return this;
  }
  int32(v: number): this {
    const b = Buffer.allocUnsafe(4);
    b.writeInt32BE(v);
    this.#parts.push(b);
    return this;
  }
  string(s: string | null): this {
    if (s === null) return this.int16(-1);
    const b = Buffer.from(s, 'utf8');
    if (b.length > 0x7fff) throw new ConsumerProtocolError(`string of ${b.length} bytes is too long`);
    this.int16(b.length);
    this.#parts.push(b);
    return this;
  }
  bytes(b: Buffer | null): this {
    if (b === null) return this.int32(-1);
    this.int32(b.length);
    this.#parts.push(b);
    return this;
  }
  topicPartitions(tps: TopicPartitions[]): this {
    this.int32(tps.length);
    for (const tp of tps) {
      this.string(tp.topic).int32(tp.partitions.length);
      for (const p of tp.partitions) this.int32(p);
    }
    return this;
  }
  done(): Buffer {
    return Buffer.concat(this.#parts);
  }
}

/**
 * A subscription at `version` 0-3 (default 0, or 1 when owned partitions are given). Fields a version
 * lacks are not written.
 */
export function encodeSubscription(subscription: {
  topics: string[];
  userData?: Buffer | null;
  ownedPartitions?: TopicPartitions[];
  generationId?: number;
  rackId?: string | null;
  version?: number;
}): Buffer {
  const v = subscription.version ?? (subscription.ownedPartitions === undefined ? 0 : 1);
  if (!Number.isInteger(v) || v < 0 || v > 3) throw new ConsumerProtocolError(`cannot encode subscription version ${v}`);
  const w = new Writer().int16(v).int32(subscription.topics.length);
  for (const t of subscription.topics) w.string(t);
  w.bytes(subscription.userData ?? null);
  if (v >= 1) w.topicPartitions(subscription.ownedPartitions ?? []);
  if (v >= 2) w.int32(subscription.generationId ?? -1);
  if (v >= 3) w.string(subscription.rackId ?? null);
  return w.done();
}

export function encodeAssignment(assignedPartitions: TopicPartitions[], userData: Buffer | null = null, v = 0): Buffer {
  if (!Number.isInteger(v) || v < 0 || v > 3) throw new ConsumerProtocolError(`cannot encode assignment version ${v}`);
  return new Writer().int16(v).topicPartitions(assignedPartitions).bytes(userData).done();
}

/**
 * Kafka's RangeAssignor: for each topic, its partitions in order are cut into contiguous ranges, one
 * per subscribed member in member id order; the first `partitions % members` members get one extra.
 * Members subscribed to topics that do not exist (absent from `partitionCounts`) get nothing for them.
 * Returns an entry for every member, possibly empty.
 */
export function rangeAssign(
  subscriptions: ReadonlyMap<string, readonly string[]>,
  partitionCounts: ReadonlyMap<string, number>,
): Map<string, TopicPartitions[]> {
  const result = new Map<string, TopicPartitions[]>();
  for (const memberId of subscriptions.keys()) result.set(memberId, []);
  const topics = [...new Set([...subscriptions.values()].flat())].sort();
  for (const topic of topics) {
    const count = partitionCounts.get(topic);
    if (count === undefined || count <= 0) continue;
    const members = [...subscriptions.entries()]
      .filter(([, ts]) => ts.includes(topic))
      .map(([id]) => id)
      .sort();
    const per = Math.floor(count / members.length);
    const extra = count % members.length;
    members.forEach((memberId, i) => {
      const start = i * per + Math.min(i, extra);
      const length = per + (i < extra ? 1 : 0);
      if (length === 0) return;
      const partitions = Array.from({ length }, (_, k) => start + k);
      (result.get(memberId) as TopicPartitions[]).push({ topic, partitions });
    });
  }
  return result;
}
