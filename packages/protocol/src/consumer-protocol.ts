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
 * ones we know are read by their known prefix, as Kafka's clients do. Here, in the wire package, because the
 * client (its members and leader) and the broker (its coordinator, which reads subscribed topics) both speak it.
 */

import { ProtocolError } from './errors.ts';
import { Reader } from './reader.ts';
import { Writer } from './writer.ts';

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

/**
 * Reads over the codec's Reader with this format's rules: a negative string, bytes or array length is null (arrays
 * read as empty), bytes are copied (the input is often a view into a response frame), and a count is bounded by what
 * is left. The Reader's ProtocolError becomes ConsumerProtocolError in `decoding`.
 */
function nullableString(r: Reader): string | null {
  const len = r.int16();
  return len < 0 ? null : r.utf8(len);
}

function copiedBytes(r: Reader): Buffer | null {
  const len = r.int32();
  return len < 0 ? null : Buffer.from(r.view(len));
}

/** An array count; each element takes at least `minElementBytes`, which bounds a lying count. */
function count(r: Reader, minElementBytes: number): number {
  const n = r.int32();
  if (n < 0) return 0;
  if (n * minElementBytes > r.remaining()) throw new ConsumerProtocolError(`array of ${n} elements does not fit in ${r.remaining()} bytes`);
  return n;
}

function atEnd(r: Reader): boolean {
  return r.remaining() <= 0;
}

function readTopicPartitions(r: Reader): TopicPartitions[] {
  const out: TopicPartitions[] = [];
  for (let i = count(r, 6); i > 0; i--) {
    const topic = nullableString(r) ?? '';
    const partitions: number[] = [];
    for (let j = count(r, 4); j > 0; j--) partitions.push(r.int32());
    out.push({ topic, partitions });
  }
  return out;
}

function version(r: Reader): number {
  const v = r.int16();
  if (v < 0) throw new ConsumerProtocolError(`negative version ${v}`);
  return v;
}

function decoding<T>(what: string, bytes: Buffer, decode: (r: Reader) => T): T {
  try {
    return decode(new Reader(bytes));
  } catch (err) {
    if (err instanceof ProtocolError) throw new ConsumerProtocolError(`${what}: ${err.message}`);
    throw err;
  }
}

export function decodeSubscription(metadata: Buffer): ConsumerSubscription {
  return decoding('consumer subscription', metadata, (r) => {
    const v = version(r);
    const topics: string[] = [];
    for (let i = count(r, 2); i > 0; i--) topics.push(nullableString(r) ?? '');
    // Some old clients end the subscription after the topics.
    const userData = atEnd(r) ? null : copiedBytes(r);
    const ownedPartitions = v >= 1 && !atEnd(r) ? readTopicPartitions(r) : [];
    const generationId = v >= 2 && !atEnd(r) ? r.int32() : -1;
    const rackId = v >= 3 && !atEnd(r) ? nullableString(r) : null;
    return { version: v, topics, userData, ownedPartitions, generationId, rackId };
  });
}

export function decodeAssignment(assignment: Buffer): ConsumerAssignment {
  // An empty assignment (a member the leader gave nothing, or a failed sync) means no partitions.
  if (assignment.length === 0) return { version: 0, assignedPartitions: [], userData: null };
  return decoding('consumer assignment', assignment, (r) => {
    const v = version(r);
    const assignedPartitions = readTopicPartitions(r);
    const userData = atEnd(r) ? null : copiedBytes(r);
    return { version: v, assignedPartitions, userData };
  });
}

function writeString(w: Writer, s: string | null): void {
  // Checked here so that the error is this format's.
  if (s !== null && Buffer.byteLength(s, 'utf8') > 0x7fff) throw new ConsumerProtocolError(`string of ${Buffer.byteLength(s, 'utf8')} bytes is too long`);
  w.nullableString(s);
}

/** The bytes in a buffer of their own: members keep these for a group's lifetime, which must not pin a Writer slab. */
function ownBuffer(w: Writer): Buffer {
  return Buffer.from(w.finishToBuffer());
}

function writeTopicPartitions(w: Writer, tps: TopicPartitions[]): void {
  w.int32(tps.length);
  for (const tp of tps) {
    writeString(w, tp.topic);
    w.int32(tp.partitions.length);
    for (const p of tp.partitions) w.int32(p);
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
  const w = new Writer();
  w.int16(v);
  w.int32(subscription.topics.length);
  for (const t of subscription.topics) writeString(w, t);
  w.nullableBytes(subscription.userData ?? null);
  if (v >= 1) writeTopicPartitions(w, subscription.ownedPartitions ?? []);
  if (v >= 2) w.int32(subscription.generationId ?? -1);
  if (v >= 3) writeString(w, subscription.rackId ?? null);
  return ownBuffer(w);
}

export function encodeAssignment(assignedPartitions: TopicPartitions[], userData: Buffer | null = null, v = 0): Buffer {
  if (!Number.isInteger(v) || v < 0 || v > 3) throw new ConsumerProtocolError(`cannot encode assignment version ${v}`);
  const w = new Writer();
  w.int16(v);
  writeTopicPartitions(w, assignedPartitions);
  w.nullableBytes(userData);
  return ownBuffer(w);
}
