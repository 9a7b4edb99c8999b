/**
 * The "consumer" embedded protocol: what Kafka consumers put in JoinGroup metadata (subscription)
 * and SyncGroup assignments. Non-flexible, int16 version first:
 *   subscription  topics [string], userData bytes?, ownedPartitions [topic string, partitions [int32]] (v1+),
 *                 generationId int32 (v2+), rackId string? (v3+)
 *   assignment    assignedPartitions [topic string, partitions [int32]], userData bytes?
 * Versions newer than we know are read by their known prefix, as Kafka's clients do.
 * The coordinator needs only the subscribed topics (DescribeGroups, OffsetDelete, offset expiry).
 */

export const CONSUMER_PROTOCOL_TYPE = 'consumer';

export interface ConsumerSubscription {
  version: number;
  topics: string[];
  userData: Buffer | null;
  ownedPartitions: { topic: string; partitions: number[] }[];
}

export interface ConsumerAssignment {
  version: number;
  assignedPartitions: { topic: string; partitions: number[] }[];
  userData: Buffer | null;
}

class Truncated extends Error {}

function reader(buf: Buffer) {
  let pos = 0;
  const need = (n: number): void => {
    if (n < 0 || pos + n > buf.length) throw new Truncated();
  };
  const int16 = (): number => {
    need(2);
    const v = buf.readInt16BE(pos);
    pos += 2;
    return v;
  };
  const int32 = (): number => {
    need(4);
    const v = buf.readInt32BE(pos);
    pos += 4;
    return v;
  };
  const count = (): number => {
    const n = int32();
    if (n < 0) return 0;
    if (n > buf.length - pos) throw new Truncated();
    return n;
  };
  const string = (): string | null => {
    const len = int16();
    if (len < 0) return null;
    need(len);
    const v = buf.toString('utf8', pos, pos + len);
    pos += len;
    return v;
  };
  const bytes = (): Buffer | null => {
    const len = int32();
    if (len < 0) return null;
    need(len);
    const v = buf.subarray(pos, pos + len);
    pos += len;
    return v;
  };
  const topicPartitions = (): { topic: string; partitions: number[] }[] => {
    const out: { topic: string; partitions: number[] }[] = [];
    for (let i = count(); i > 0; i--) {
      const topic = string() ?? '';
      const partitions: number[] = [];
      for (let j = count(); j > 0; j--) partitions.push(int32());
      out.push({ topic, partitions });
    }
    return out;
  };
  return { int16, int32, count, string, bytes, topicPartitions, atEnd: () => pos >= buf.length };
}

/** Parses a consumer subscription; null when the bytes are not one. */
export function parseConsumerSubscription(metadata: Buffer): ConsumerSubscription | null {
  try {
    const r = reader(metadata);
    const version = r.int16();
    if (version < 0) return null;
    const topics: string[] = [];
    for (let i = r.count(); i > 0; i--) topics.push(r.string() ?? '');
    // Some old clients omit the trailing user data entirely.
    const userData = r.atEnd() ? null : r.bytes();
    const ownedPartitions = version >= 1 && !r.atEnd() ? r.topicPartitions() : [];
    return { version, topics, userData, ownedPartitions };
  } catch (e) {
    if (e instanceof Truncated) return null;
    throw e;
  }
}

export function parseConsumerAssignment(assignment: Buffer): ConsumerAssignment | null {
  try {
    const r = reader(assignment);
    const version = r.int16();
    if (version < 0) return null;
    const assignedPartitions = r.topicPartitions();
    const userData = r.atEnd() ? null : r.bytes();
    return { version, assignedPartitions, userData };
  } catch (e) {
    if (e instanceof Truncated) return null;
    throw e;
  }
}

function str(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  const len = Buffer.allocUnsafe(2);
  len.writeInt16BE(b.length);
  return Buffer.concat([len, b]);
}

function int16(v: number): Buffer {
  const b = Buffer.allocUnsafe(2);
  b.writeInt16BE(v);
  return b;
}

function int32(v: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeInt32BE(v);
  return b;
}

function nullableBytes(v: Buffer | null): Buffer {
  return v === null ? int32(-1) : Buffer.concat([int32(v.length), v]);
}

function topicPartitions(tps: { topic: string; partitions: number[] }[]): Buffer[] {
  return [int32(tps.length), ...tps.flatMap((tp) => [str(tp.topic), int32(tp.partitions.length), ...tp.partitions.map(int32)])];
}

/** Encodes a v0 (or v1 with owned partitions) subscription, as a consumer would send it. */
export function encodeConsumerSubscription(topics: string[], userData: Buffer | null = null, ownedPartitions?: { topic: string; partitions: number[] }[]): Buffer {
  const parts = [int16(ownedPartitions ? 1 : 0), int32(topics.length), ...topics.map(str), nullableBytes(userData)];
  if (ownedPartitions) parts.push(...topicPartitions(ownedPartitions));
  return Buffer.concat(parts);
}

export function encodeConsumerAssignment(assigned: { topic: string; partitions: number[] }[], userData: Buffer | null = null): Buffer {
  return Buffer.concat([int16(0), ...topicPartitions(assigned), nullableBytes(userData)]);
}
