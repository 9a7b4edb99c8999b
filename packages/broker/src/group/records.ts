/**
 * Keys and values of the `__consumer_offsets` topic, in Kafka's own formats so standard tools
 * (kafka-console-consumer's offsets formatter, kafka-dump-log --offsets-decoder) read our log.
 *
 * Every key and value starts with an int16 version. Keys:
 *   version 0 or 1  offset commit   group string, topic string, partition int32
 *   version 2       group metadata  group string
 * (Kafka's newer consumer-group record keys, versions 3+, are skipped when read.)
 *
 * Offset commit values (we write v3, or v1 when the commit carries an explicit expire timestamp):
 *   v0  offset int64, metadata string, timestamp int64
 *   v1  offset int64, metadata string, commit timestamp int64, expire timestamp int64
 *   v2  offset int64, metadata string, commit timestamp int64
 *   v3  offset int64, leader epoch int32, metadata string, commit timestamp int64
 *   v4  as v3, flexible (compact strings, tagged fields)
 *
 * Group metadata values (we write v3; v4 on request):
 *   protocol type string, generation int32, protocol string?, leader string?,
 *   current state timestamp int64 (v2+), members [member id string, group instance id string? (v3+),
 *   client id string, client host string, rebalance timeout int32 (v1+), session timeout int32,
 *   subscription bytes, assignment bytes]; v4 is v3 flexible.
 *
 * Strings are int16-length-prefixed UTF-8 (-1 = null), bytes int32-length-prefixed; flexible versions
 * use unsigned-varint lengths plus one (0 = null) and end every struct with tagged fields.
 *
 * A tombstone (null value) deletes its key under compaction; `loadPartition` honours that too.
 */
import { assert } from '@tributary/common';

export const OFFSET_COMMIT_KEY_VERSION = 1;
export const GROUP_METADATA_KEY_VERSION = 2;
export const OFFSET_COMMIT_VALUE_VERSION = 3;
export const GROUP_METADATA_VALUE_VERSION = 3;

export type GroupRecordKey =
  | { type: 'offset'; groupId: string; topic: string; partition: number }
  | { type: 'group'; groupId: string }
  | { type: 'unknown'; version: number };

export interface OffsetCommitValue {
  offset: number;
  /** -1 when unknown. */
  leaderEpoch: number;
  metadata: string;
  commitTimestampMs: number;
  /** -1 unless the commit asked for its own retention (OffsetCommit v2-4). */
  expireTimestampMs: number;
}

export interface MemberMetadataValue {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  rebalanceTimeoutMs: number;
  sessionTimeoutMs: number;
  subscription: Buffer;
  assignment: Buffer;
}

export interface GroupMetadataValue {
  protocolType: string;
  generationId: number;
  protocolName: string | null;
  leaderId: string | null;
  /** -1 when unknown (values before v2). */
  currentStateTimestampMs: number;
  members: MemberMetadataValue[];
}

export class GroupRecordFormatError extends Error {
  override name = 'GroupRecordFormatError';
}

/** Java's `String.hashCode`: 31-polynomial over UTF-16 code units, wrapping at 32 bits. */
export function javaStringHashCode(value: string): number {
  let hash = 0;
  for (let i = 0; i < value.length; i++) hash = (Math.imul(hash, 31) + value.charCodeAt(i)) | 0;
  return hash;
}

/** The `__consumer_offsets` partition (and so the coordinator) of a group, exactly as Kafka picks it. */
export function coordinatorPartitionFor(groupId: string, numPartitions: number): number {
  assert(Number.isInteger(numPartitions) && numPartitions > 0, `numPartitions must be positive, got ${numPartitions}`);
  const hash = javaStringHashCode(groupId);
  // Kafka's Utils.abs maps Integer.MIN_VALUE to 0 rather than overflowing.
  const abs = hash === -2147483648 ? 0 : Math.abs(hash);
  return abs % numPartitions;
}

// ---- writer -------------------------------------------------------------------------------

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
  int64(v: number): this {
    assert(Number.isSafeInteger(v), `int64 must be a safe integer, got ${v}`);
    const b = Buffer.allocUnsafe(8);
    b.writeBigInt64BE(BigInt(v));
    this.#parts.push(b);
    return this;
  }
  uvarint(v: number): this {
    assert(Number.isInteger(v) && v >= 0 && v <= 0xffffffff, `uvarint out of range: ${v}`);
    const bytes: number[] = [];
    let rest = v;
    while (rest >= 0x80) {
      bytes.push((rest & 0x7f) | 0x80);
      rest = Math.floor(rest / 128);
    }
    bytes.push(rest);
    this.#parts.push(Buffer.from(bytes));
    return this;
  }
  string(v: string | null, flexible: boolean): this {
    if (v === null) return flexible ? this.uvarint(0) : this.int16(-1);
    const b = Buffer.from(v, 'utf8');
    assert(b.length <= 0x7fff, `string too long for the record format: ${b.length} bytes`);
    if (flexible) this.uvarint(b.length + 1);
    else this.int16(b.length);
    this.#parts.push(b);
    return this;
  }
  bytes(v: Buffer, flexible: boolean): this {
    if (flexible) this.uvarint(v.length + 1);
    else this.int32(v.length);
    this.#parts.push(v);
    return this;
  }
  arrayLength(n: number, flexible: boolean): this {
    return flexible ? this.uvarint(n + 1) : this.int32(n);
  }
  /** An empty tagged-field section. */
  noTags(): this {
    return this.uvarint(0);
  }
  finish(): Buffer {
    return Buffer.concat(this.#parts);
  }
}

// ---- reader -------------------------------------------------------------------------------

class Reader {
  readonly #buf: Buffer;
  #pos = 0;
  constructor(buf: Buffer) {
    this.#buf = buf;
  }
  #need(n: number): void {
    if (n < 0 || this.#pos + n > this.#buf.length) {
      throw new GroupRecordFormatError(`record truncated: need ${n} bytes at ${this.#pos} of ${this.#buf.length}`);
    }
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
  int64(): number {
    this.#need(8);
    const v = Number(this.#buf.readBigInt64BE(this.#pos));
    this.#pos += 8;
    if (!Number.isSafeInteger(v)) throw new GroupRecordFormatError(`int64 beyond 2^53: ${v}`);
    return v;
  }
  uvarint(): number {
    let value = 0;
    for (let shift = 0; shift <= 28; shift += 7) {
      this.#need(1);
      const byte = this.#buf[this.#pos++] as number;
      value += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return value;
    }
    throw new GroupRecordFormatError('unsigned varint longer than 5 bytes');
  }
  string(flexible: boolean): string | null {
    const len = flexible ? this.uvarint() - 1 : this.int16();
    if (len < 0) return null;
    this.#need(len);
    const v = this.#buf.toString('utf8', this.#pos, this.#pos + len);
    this.#pos += len;
    return v;
  }
  requiredString(flexible: boolean, what: string): string {
    const v = this.string(flexible);
    if (v === null) throw new GroupRecordFormatError(`${what} must not be null`);
    return v;
  }
  bytes(flexible: boolean): Buffer | null {
    const len = flexible ? this.uvarint() - 1 : this.int32();
    if (len < 0) return null;
    this.#need(len);
    // A copy: loaded state outlives the buffer the records were read from.
    const v = Buffer.from(this.#buf.subarray(this.#pos, this.#pos + len));
    this.#pos += len;
    return v;
  }
  arrayLength(flexible: boolean): number {
    const n = flexible ? this.uvarint() - 1 : this.int32();
    if (n < 0) return 0;
    // Every element takes at least one byte; a larger count is corruption, not a reason to loop.
    if (n > this.#buf.length - this.#pos) throw new GroupRecordFormatError(`array length ${n} exceeds the record`);
    return n;
  }
  skipTags(): void {
    const count = this.uvarint();
    if (count > this.#buf.length - this.#pos) throw new GroupRecordFormatError(`tag count ${count} exceeds the record`);
    for (let i = 0; i < count; i++) {
      this.uvarint();
      const size = this.uvarint();
      this.#need(size);
      this.#pos += size;
    }
  }
}

// ---- keys ---------------------------------------------------------------------------------

export function encodeOffsetCommitKey(groupId: string, topic: string, partition: number): Buffer {
  return new Writer().int16(OFFSET_COMMIT_KEY_VERSION).string(groupId, false).string(topic, false).int32(partition).finish();
}

export function encodeGroupMetadataKey(groupId: string): Buffer {
  return new Writer().int16(GROUP_METADATA_KEY_VERSION).string(groupId, false).finish();
}

export function decodeGroupRecordKey(key: Buffer): GroupRecordKey {
  const r = new Reader(key);
  const version = r.int16();
  if (version === 0 || version === 1) {
    const groupId = r.requiredString(false, 'group');
    const topic = r.requiredString(false, 'topic');
    return { type: 'offset', groupId, topic, partition: r.int32() };
  }
  if (version === 2) return { type: 'group', groupId: r.requiredString(false, 'group') };
  return { type: 'unknown', version };
}

// ---- offset commit values -----------------------------------------------------------------

export function encodeOffsetCommitValue(value: OffsetCommitValue): Buffer {
  const w = new Writer();
  if (value.expireTimestampMs >= 0) {
    // Only v1 carries a per-commit expiry (Kafka writes v1 for the same reason).
    return w
      .int16(1)
      .int64(value.offset)
      .string(value.metadata, false)
      .int64(value.commitTimestampMs)
      .int64(value.expireTimestampMs)
      .finish();
  }
  return w
    .int16(OFFSET_COMMIT_VALUE_VERSION)
    .int64(value.offset)
    .int32(value.leaderEpoch)
    .string(value.metadata, false)
    .int64(value.commitTimestampMs)
    .finish();
}

export function decodeOffsetCommitValue(buf: Buffer): OffsetCommitValue {
  const r = new Reader(buf);
  const version = r.int16();
  if (version < 0 || version > 4) throw new GroupRecordFormatError(`unknown offset commit value version ${version}`);
  const flexible = version >= 4;
  const offset = r.int64();
  const leaderEpoch = version >= 3 ? r.int32() : -1;
  const metadata = r.string(flexible) ?? '';
  const commitTimestampMs = r.int64();
  const expireTimestampMs = version === 1 ? r.int64() : -1;
  if (flexible) r.skipTags();
  return { offset, leaderEpoch, metadata, commitTimestampMs, expireTimestampMs };
}

// ---- group metadata values ----------------------------------------------------------------

export function encodeGroupMetadataValue(value: GroupMetadataValue, version: 3 | 4 = GROUP_METADATA_VALUE_VERSION): Buffer {
  const flexible = version >= 4;
  const w = new Writer()
    .int16(version)
    .string(value.protocolType, flexible)
    .int32(value.generationId)
    .string(value.protocolName, flexible)
    .string(value.leaderId, flexible)
    .int64(value.currentStateTimestampMs)
    .arrayLength(value.members.length, flexible);
  for (const m of value.members) {
    w.string(m.memberId, flexible)
      .string(m.groupInstanceId, flexible)
      .string(m.clientId, flexible)
      .string(m.clientHost, flexible)
      .int32(m.rebalanceTimeoutMs)
      .int32(m.sessionTimeoutMs)
      .bytes(m.subscription, flexible)
      .bytes(m.assignment, flexible);
    if (flexible) w.noTags();
  }
  if (flexible) w.noTags();
  return w.finish();
}

export function decodeGroupMetadataValue(buf: Buffer): GroupMetadataValue {
  const r = new Reader(buf);
  const version = r.int16();
  if (version < 0 || version > 4) throw new GroupRecordFormatError(`unknown group metadata value version ${version}`);
  const flexible = version >= 4;
  const protocolType = r.requiredString(flexible, 'protocol type');
  const generationId = r.int32();
  const protocolName = r.string(flexible);
  const leaderId = r.string(flexible);
  const currentStateTimestampMs = version >= 2 ? r.int64() : -1;
  const count = r.arrayLength(flexible);
  const members: MemberMetadataValue[] = [];
  for (let i = 0; i < count; i++) {
    const memberId = r.requiredString(flexible, 'member id');
    const groupInstanceId = version >= 3 ? r.string(flexible) : null;
    const clientId = r.requiredString(flexible, 'client id');
    const clientHost = r.requiredString(flexible, 'client host');
    const sessionOrRebalance = r.int32();
    // v0 has only the session timeout; v1+ has the rebalance timeout first.
    const rebalanceTimeoutMs = sessionOrRebalance;
    const sessionTimeoutMs = version >= 1 ? r.int32() : sessionOrRebalance;
    const subscription = r.bytes(flexible) ?? Buffer.alloc(0);
    const assignment = r.bytes(flexible) ?? Buffer.alloc(0);
    if (flexible) r.skipTags();
    members.push({ memberId, groupInstanceId, clientId, clientHost, rebalanceTimeoutMs, sessionTimeoutMs, subscription, assignment });
  }
  if (flexible) r.skipTags();
  return { protocolType, generationId, protocolName, leaderId, currentStateTimestampMs, members };
}
