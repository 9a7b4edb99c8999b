// A deliberately independent, minimal Kafka wire client for black-box tests: hand-built frames
// (non-flexible request header v1), record batch v2 with our own CRC-32C, so a bug shared by the
// broker and @tributary/protocol cannot hide itself.
import { Socket, connect } from 'node:net';
import { gunzipSync, zstdDecompressSync } from 'node:zlib';
import { decompressFrameSync as lz4DecompressFrame } from 'lz4-napi';
import snappy from 'snappyjs';

export const ApiKey = { Produce: 0, Fetch: 1, ListOffsets: 2, Metadata: 3, ApiVersions: 18, CreateTopics: 19 } as const;
export const ErrorCode = { NONE: 0, CORRUPT_MESSAGE: 2, INVALID_TOPIC_EXCEPTION: 17, UNSUPPORTED_VERSION: 35 } as const;

export class Writer {
  private chunks: Buffer[] = [];
  int8(v: number): this { const b = Buffer.alloc(1); b.writeInt8(v); this.chunks.push(b); return this; }
  int16(v: number): this { const b = Buffer.alloc(2); b.writeInt16BE(v); this.chunks.push(b); return this; }
  int32(v: number): this { const b = Buffer.alloc(4); b.writeInt32BE(v); this.chunks.push(b); return this; }
  uint32(v: number): this { const b = Buffer.alloc(4); b.writeUInt32BE(v); this.chunks.push(b); return this; }
  int64(v: number): this { const b = Buffer.alloc(8); b.writeBigInt64BE(BigInt(v)); this.chunks.push(b); return this; }
  bool(v: boolean): this { return this.int8(v ? 1 : 0); }
  raw(b: Buffer): this { this.chunks.push(b); return this; }
  string(s: string): this { const b = Buffer.from(s, 'utf8'); return this.int16(b.length).raw(b); }
  nullableString(s: string | null): this { return s === null ? this.int16(-1) : this.string(s); }
  bytes(b: Buffer | null): this { return b === null ? this.int32(-1) : this.int32(b.length).raw(b); }
  array<T>(items: readonly T[] | null, each: (w: this, item: T) => void): this {
    if (items === null) return this.int32(-1);
    this.int32(items.length);
    for (const item of items) each(this, item);
    return this;
  }
  uvarint(v: number): this {
    const out: number[] = [];
    let n = v >>> 0;
    while (n >= 0x80) { out.push((n & 0x7f) | 0x80); n >>>= 7; }
    out.push(n);
    return this.raw(Buffer.from(out));
  }
  varint(v: number): this { return this.uvarint(((v << 1) ^ (v >> 31)) >>> 0); }
  varlong(v: number): this {
    let n = (BigInt(v) << 1n) ^ (BigInt(v) >> 63n);
    n = BigInt.asUintN(64, n);
    const out: number[] = [];
    while (n >= 0x80n) { out.push(Number(n & 0x7fn) | 0x80); n >>= 7n; }
    out.push(Number(n));
    return this.raw(Buffer.from(out));
  }
  compactString(s: string): this { const b = Buffer.from(s, 'utf8'); return this.uvarint(b.length + 1).raw(b); }
  get length(): number { return this.chunks.reduce((n, c) => n + c.length, 0); }
  build(): Buffer { return Buffer.concat(this.chunks); }
}

export class Reader {
  offset = 0;
  readonly buf: Buffer;
  constructor(buf: Buffer) { this.buf = buf; }
  get remaining(): number { return this.buf.length - this.offset; }
  int8(): number { const v = this.buf.readInt8(this.offset); this.offset += 1; return v; }
  int16(): number { const v = this.buf.readInt16BE(this.offset); this.offset += 2; return v; }
  int32(): number { const v = this.buf.readInt32BE(this.offset); this.offset += 4; return v; }
  uint32(): number { const v = this.buf.readUInt32BE(this.offset); this.offset += 4; return v; }
  int64(): number { const v = this.buf.readBigInt64BE(this.offset); this.offset += 8; return Number(v); }
  bool(): boolean { return this.int8() !== 0; }
  raw(n: number): Buffer { const b = this.buf.subarray(this.offset, this.offset + n); if (b.length !== n) throw new Error('short read'); this.offset += n; return b; }
  string(): string { const n = this.int16(); if (n < 0) throw new Error('null string'); return this.raw(n).toString('utf8'); }
  nullableString(): string | null { const n = this.int16(); return n < 0 ? null : this.raw(n).toString('utf8'); }
  bytes(): Buffer | null { const n = this.int32(); return n < 0 ? null : this.raw(n); }
  array<T>(each: (r: Reader) => T): T[] | null {
    const n = this.int32();
    if (n < 0) return null;
    if (n > 1_000_000) throw new Error(`array length ${n} too large`);
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(each(this));
    return out;
  }
  uvarint(): number {
    let result = 0; let shift = 0;
    for (let i = 0; i < 5; i++) {
      const b = this.buf[this.offset++]!;
      result |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result >>> 0;
      shift += 7;
    }
    throw new Error('varint too long');
  }
  varint(): number { const n = this.uvarint(); return (n >>> 1) ^ -(n & 1); }
  varlong(): number {
    let result = 0n; let shift = 0n;
    for (let i = 0; i < 10; i++) {
      const b = BigInt(this.buf[this.offset++]!);
      result |= (b & 0x7fn) << shift;
      if ((b & 0x80n) === 0n) return Number((result >> 1n) ^ -(result & 1n));
      shift += 7n;
    }
    throw new Error('varlong too long');
  }
}

// CRC-32C (Castagnoli), table driven.
const crcTable = (() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    table[i] = c >>> 0;
  }
  return table;
})();

export function crc32c(buf: Buffer): number {
  let crc = 0xffffffff;
  for (let i = 0; i < buf.length; i++) crc = crcTable[(crc ^ buf[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

export interface WireRecord {
  key: Buffer | null;
  value: Buffer | null;
  headers: Array<[string, Buffer | null]>;
  timestamp?: number;
}

export interface FetchedRecord extends WireRecord {
  offset: number;
}

/** Encodes an uncompressed record batch v2 (no producer id). */
export function encodeBatch(records: readonly WireRecord[], baseTimestamp = Date.now()): Buffer {
  const body = new Writer();
  records.forEach((record, i) => {
    const r = new Writer();
    r.int8(0).varlong((record.timestamp ?? baseTimestamp) - baseTimestamp).varint(i);
    if (record.key === null) r.varint(-1); else r.varint(record.key.length).raw(record.key);
    if (record.value === null) r.varint(-1); else r.varint(record.value.length).raw(record.value);
    r.varint(record.headers.length);
    for (const [hk, hv] of record.headers) {
      const kb = Buffer.from(hk, 'utf8');
      r.varint(kb.length).raw(kb);
      if (hv === null) r.varint(-1); else r.varint(hv.length).raw(hv);
    }
    const rb = r.build();
    body.varint(rb.length).raw(rb);
  });
  const maxTimestamp = records.reduce((m, r) => Math.max(m, r.timestamp ?? baseTimestamp), baseTimestamp);
  const afterCrc = new Writer()
    .int16(0) // attributes: no compression, create time
    .int32(records.length - 1)
    .int64(baseTimestamp)
    .int64(maxTimestamp)
    .int64(-1).int16(-1).int32(-1)
    .int32(records.length)
    .raw(body.build())
    .build();
  const header = new Writer().int64(0).int32(4 + 1 + 4 + afterCrc.length).int32(-1).int8(2).uint32(crc32c(afterCrc)).build();
  return Buffer.concat([header, afterCrc]);
}

const xerialHeader = Buffer.from([130, 83, 78, 65, 80, 80, 89, 0]);

/** Raw snappy, or the xerial framing the Java client writes (header, then size-prefixed blocks). */
function snappyDecompress(data: Buffer): Buffer {
  if (!data.subarray(0, 8).equals(xerialHeader)) return Buffer.from(snappy.uncompress(data));
  const parts: Buffer[] = [];
  let offset = 16;
  while (offset + 4 <= data.length) {
    const size = data.readUInt32BE(offset);
    offset += 4;
    parts.push(Buffer.from(snappy.uncompress(data.subarray(offset, offset + size))));
    offset += size;
  }
  return Buffer.concat(parts);
}

/** Decodes record batches v2 in every codec; throws on a bad CRC. */
export function decodeBatches(data: Buffer): FetchedRecord[] {
  const out: FetchedRecord[] = [];
  const r = new Reader(data);
  while (r.remaining >= 12) {
    const baseOffset = r.int64();
    const batchLength = r.int32();
    if (r.remaining < batchLength) break; // partial trailing batch
    const batch = new Reader(r.raw(batchLength));
    batch.int32(); // partition leader epoch
    const magic = batch.int8();
    if (magic !== 2) throw new Error(`magic ${magic} not supported by the test reader`);
    const crc = batch.uint32();
    const rest = batch.buf.subarray(batch.offset);
    if (crc32c(rest) !== crc) throw new Error(`CRC mismatch in batch at offset ${baseOffset}`);
    const attributes = batch.int16();
    batch.int32(); // last offset delta
    const baseTimestamp = batch.int64();
    batch.int64(); batch.int64(); batch.int16(); batch.int32();
    const count = batch.int32();
    let recordsBuf = batch.buf.subarray(batch.offset);
    const codec = attributes & 7;
    if (codec === 1) recordsBuf = gunzipSync(recordsBuf);
    else if (codec === 2) recordsBuf = snappyDecompress(recordsBuf);
    else if (codec === 3) recordsBuf = lz4DecompressFrame(recordsBuf);
    else if (codec === 4) recordsBuf = zstdDecompressSync(recordsBuf);
    else if (codec !== 0) throw new Error(`unknown codec ${codec}`);
    if ((attributes & 0x20) !== 0) continue; // control batch
    const rr = new Reader(recordsBuf);
    for (let i = 0; i < count; i++) {
      const length = rr.varint();
      const rec = new Reader(rr.raw(length));
      rec.int8();
      const timestampDelta = rec.varlong();
      const offsetDelta = rec.varint();
      const keyLength = rec.varint();
      const key = keyLength < 0 ? null : Buffer.from(rec.raw(keyLength));
      const valueLength = rec.varint();
      const value = valueLength < 0 ? null : Buffer.from(rec.raw(valueLength));
      const headerCount = rec.varint();
      const headers: Array<[string, Buffer | null]> = [];
      for (let h = 0; h < headerCount; h++) {
        const hk = rec.raw(rec.varint()).toString('utf8');
        const hvLength = rec.varint();
        headers.push([hk, hvLength < 0 ? null : Buffer.from(rec.raw(hvLength))]);
      }
      out.push({ offset: baseOffset + offsetDelta, key, value, headers, timestamp: baseTimestamp + timestampDelta });
    }
  }
  return out;
}

interface Pending { resolve: (body: Reader) => void; reject: (error: Error) => void; headerTagged: boolean }

/** One TCP connection; responses are matched by correlation id. */
export class WireConnection {
  readonly socket: Socket;
  private pending = new Map<number, Pending>();
  private buffered: Buffer = Buffer.alloc(0);
  private nextCorrelationId = 1;
  private closedError: Error | null = null;
  readonly closed: Promise<void>;

  private constructor(socket: Socket) {
    this.socket = socket;
    this.closed = new Promise((resolveClosed) => socket.once('close', () => {
      this.closedError = new Error('connection closed');
      for (const p of this.pending.values()) p.reject(this.closedError);
      this.pending.clear();
      resolveClosed();
    }));
    socket.on('error', () => { /* surfaced through close */ });
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
  }

  static async open(host: string, port: number): Promise<WireConnection> {
    const socket = connect({ host, port });
    await new Promise<void>((resolveConnect, reject) => {
      socket.once('connect', resolveConnect);
      socket.once('error', reject);
    });
    return new WireConnection(socket);
  }

  static async openTo(bootstrap: string): Promise<WireConnection> {
    const [host, port] = bootstrap.split(':');
    return await WireConnection.open(host!, Number(port));
  }

  get isClosed(): boolean { return this.closedError !== null; }

  private onData(chunk: Buffer): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    while (this.buffered.length >= 4) {
      const size = this.buffered.readInt32BE(0);
      if (this.buffered.length < 4 + size) return;
      const frame = this.buffered.subarray(4, 4 + size);
      this.buffered = this.buffered.subarray(4 + size);
      const correlationId = frame.readInt32BE(0);
      const pending = this.pending.get(correlationId);
      if (pending === undefined) continue;
      this.pending.delete(correlationId);
      const reader = new Reader(frame);
      reader.offset = 4;
      if (pending.headerTagged) reader.uvarint(); // response header v1: tagged fields
      pending.resolve(reader);
    }
  }

  /** Sends raw bytes exactly as given. */
  writeRaw(bytes: Buffer): void { this.socket.write(bytes); }

  /** Sends a request with header v1 (or v2 when `flexible`) and resolves with the response body. */
  request(apiKey: number, apiVersion: number, body: Buffer, options: { flexible?: boolean; responseHeaderTagged?: boolean; clientId?: string } = {}): Promise<Reader> {
    if (this.closedError !== null) return Promise.reject(this.closedError);
    const correlationId = this.nextCorrelationId++;
    const header = new Writer().int16(apiKey).int16(apiVersion).int32(correlationId).nullableString(options.clientId ?? 'trib-e2e');
    if (options.flexible) header.uvarint(0);
    const payload = Buffer.concat([header.build(), body]);
    const frame = Buffer.concat([new Writer().int32(payload.length).build(), payload]);
    return new Promise((resolve, reject) => {
      this.pending.set(correlationId, { resolve, reject, headerTagged: options.responseHeaderTagged ?? false });
      this.socket.write(frame);
    });
  }

  close(): void { this.socket.end(); }
  destroy(): void { this.socket.destroy(); }
}

// ---- typed helpers for the few APIs the tests need (old, non-flexible versions) ----

export async function apiVersions(conn: WireConnection): Promise<{ errorCode: number; apiKeys: Array<{ apiKey: number; min: number; max: number }> }> {
  const r = await conn.request(ApiKey.ApiVersions, 0, Buffer.alloc(0));
  const errorCode = r.int16();
  const apiKeys = r.array((a) => ({ apiKey: a.int16(), min: a.int16(), max: a.int16() })) ?? [];
  return { errorCode, apiKeys };
}

export async function createTopic(conn: WireConnection, name: string, partitions = 1): Promise<{ errorCode: number; errorMessage: string | null }> {
  const body = new Writer()
    .array([name], (w, n) => w.string(n).int32(partitions).int16(1).int32(0).int32(0))
    .int32(30_000).bool(false).build();
  const r = await conn.request(ApiKey.CreateTopics, 2, body);
  r.int32(); // throttle
  const topics = r.array((t) => ({ name: t.string(), errorCode: t.int16(), errorMessage: t.nullableString() })) ?? [];
  const topic = topics.find((t) => t.name === name) ?? topics[0];
  if (topic === undefined) throw new Error('CreateTopics response without topics');
  return { errorCode: topic.errorCode, errorMessage: topic.errorMessage };
}

export interface MetadataV1 {
  brokers: Array<{ nodeId: number; host: string; port: number }>;
  controllerId: number;
  topics: Array<{ errorCode: number; name: string; partitions: Array<{ errorCode: number; partition: number; leader: number }> }>;
}

export async function metadata(conn: WireConnection, topics: string[] | null): Promise<MetadataV1> {
  const r = await conn.request(ApiKey.Metadata, 1, new Writer().array(topics, (w, t) => w.string(t)).build());
  const brokers = r.array((b) => { const nodeId = b.int32(); const host = b.string(); const port = b.int32(); b.nullableString(); return { nodeId, host, port }; }) ?? [];
  const controllerId = r.int32();
  const topicList = r.array((t) => {
    const errorCode = t.int16(); const name = t.string(); t.bool();
    const partitions = t.array((p) => {
      const pe = p.int16(); const partition = p.int32(); const leader = p.int32();
      p.array((x) => x.int32()); p.array((x) => x.int32());
      return { errorCode: pe, partition, leader };
    }) ?? [];
    return { errorCode, name, partitions };
  }) ?? [];
  return { brokers, controllerId, topics: topicList };
}

export async function produceRaw(conn: WireConnection, topic: string, partition: number, batch: Buffer, acks = 1): Promise<{ errorCode: number; baseOffset: number }> {
  const body = new Writer()
    .nullableString(null).int16(acks).int32(30_000)
    .array([topic], (w, t) => w.string(t).array([partition], (pw, p) => pw.int32(p).bytes(batch)))
    .build();
  const r = await conn.request(ApiKey.Produce, 3, body);
  const responses = r.array((t) => ({
    name: t.string(),
    partitions: t.array((p) => ({ index: p.int32(), errorCode: p.int16(), baseOffset: p.int64(), logAppendTimeMs: p.int64() })) ?? [],
  })) ?? [];
  const result = responses[0]?.partitions[0];
  if (result === undefined) throw new Error('Produce response without partitions');
  return { errorCode: result.errorCode, baseOffset: result.baseOffset };
}

export async function produce(conn: WireConnection, topic: string, partition: number, records: readonly WireRecord[], acks = 1): Promise<{ errorCode: number; baseOffset: number }> {
  return await produceRaw(conn, topic, partition, encodeBatch(records), acks);
}

export async function fetchOnce(conn: WireConnection, topic: string, partition: number, offset: number, maxBytes = 4 * 1024 * 1024): Promise<{ errorCode: number; highWatermark: number; records: FetchedRecord[] }> {
  const body = new Writer()
    .int32(-1).int32(100).int32(1).int32(maxBytes).int8(0)
    .array([topic], (w, t) => w.string(t).array([partition], (pw, p) => pw.int32(p).int64(offset).int32(maxBytes)))
    .build();
  const r = await conn.request(ApiKey.Fetch, 4, body);
  r.int32();
  const responses = r.array((t) => ({
    topic: t.string(),
    partitions: t.array((p) => {
      const partitionIndex = p.int32(); const errorCode = p.int16(); const highWatermark = p.int64(); p.int64();
      p.array((a) => { a.int64(); a.int64(); return 0; });
      const records = p.bytes();
      return { partitionIndex, errorCode, highWatermark, records };
    }) ?? [],
  })) ?? [];
  const result = responses[0]?.partitions[0];
  if (result === undefined) throw new Error('Fetch response without partitions');
  const records = result.records === null ? [] : decodeBatches(result.records).filter((rec) => rec.offset >= offset);
  return { errorCode: result.errorCode, highWatermark: result.highWatermark, records };
}

/** Reads a partition from `offset` up to its high watermark. */
export async function fetchAll(conn: WireConnection, topic: string, partition = 0, offset = 0, limit = 10_000_000): Promise<{ highWatermark: number; records: FetchedRecord[] }> {
  const records: FetchedRecord[] = [];
  let next = offset;
  let highWatermark = -1;
  for (let round = 0; round < 100_000; round++) {
    const result = await fetchOnce(conn, topic, partition, next);
    if (result.errorCode !== 0) throw new Error(`fetch error ${result.errorCode} at offset ${next}`);
    highWatermark = result.highWatermark;
    for (const rec of result.records) { records.push(rec); next = rec.offset + 1; }
    if (next >= highWatermark || records.length >= limit) return { highWatermark, records };
    if (result.records.length === 0) throw new Error(`fetch at ${next} returned nothing below high watermark ${highWatermark}`);
  }
  throw new Error('fetchAll: too many rounds');
}
