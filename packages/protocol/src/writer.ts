// A chunked writer. Small fields go into a region carved from a shared slab (never reused once handed
// out, so returned chunks stay valid); `splice` inserts caller-owned buffers (record batches) as
// separate chunks, so record bytes are never copied. `finish` returns the chunks in order.
import { ErrorCode, ProtocolError } from './errors.ts';

const SLAB_BYTES = 256 * 1024;
const MIN_REGION_BYTES = 2048;
const MAX_GROWTH_BYTES = 1024 * 1024;
const TWO_32 = 4294967296;
const UUID_BYTES = 16;
const ZERO_UUID_BYTES = Buffer.alloc(UUID_BYTES);

let slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
let slabUsed = 0;

export class Writer {
  private readonly chunks: Buffer[] = [];
  buf: Buffer;
  pos: number;
  private start: number;
  private limit: number;
  private fromSlab: boolean;
  private total = 0;

  constructor() {
    if (SLAB_BYTES - slabUsed < MIN_REGION_BYTES) {
      slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
      slabUsed = 0;
    }
    // Claim the rest of the slab; `finish` gives the unused tail back if no one claimed after us.
    this.buf = slab;
    this.start = this.pos = slabUsed;
    this.limit = SLAB_BYTES;
    this.fromSlab = true;
    slabUsed = SLAB_BYTES;
  }

  /** Bytes written so far, spliced chunks included. */
  length(): number {
    return this.total + (this.pos - this.start);
  }

  ensure(n: number): void {
    if (this.pos + n > this.limit) this.grow(n);
  }

  private grow(n: number): void {
    const used = this.pos - this.start;
    this.flush();
    this.releaseSlab();
    const size = Math.max(n, Math.min(MAX_GROWTH_BYTES, Math.max(used * 2, MIN_REGION_BYTES)));
    this.buf = Buffer.allocUnsafe(size);
    this.start = this.pos = 0;
    this.limit = size;
  }

  private flush(): void {
    if (this.pos > this.start) {
      this.chunks.push(this.buf.subarray(this.start, this.pos));
      this.total += this.pos - this.start;
    }
    this.start = this.pos;
  }

  private releaseSlab(): void {
    if (this.fromSlab && this.buf === slab && slabUsed === SLAB_BYTES) {
      slabUsed = (this.pos + 7) & ~7;
    }
    this.fromSlab = false;
  }

  /** Inserts a buffer as its own chunk, without copying it. */
  splice(data: Buffer): void {
    if (data.length === 0) return;
    this.flush();
    this.chunks.push(data);
    this.total += data.length;
  }

  finish(): Buffer[] {
    this.flush();
    this.releaseSlab();
    return this.chunks;
  }

  /** All bytes as one buffer (copies; for small encodings such as tagged fields and tests). */
  finishToBuffer(): Buffer {
    const chunks = this.finish();
    return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
  }

  int8(v: number): void {
    this.ensure(1);
    this.buf.writeInt8(v, this.pos);
    this.pos += 1;
  }
  uint8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }
  int16(v: number): void {
    this.ensure(2);
    const buf = this.buf;
    const p = this.pos;
    buf[p] = v >>> 8;
    buf[p + 1] = v;
    this.pos = p + 2;
  }
  uint16(v: number): void {
    this.ensure(2);
    this.pos = this.buf.writeUInt16BE(v, this.pos);
  }
  int32(v: number): void {
    this.ensure(4);
    const buf = this.buf;
    const p = this.pos;
    buf[p] = v >>> 24;
    buf[p + 1] = v >>> 16;
    buf[p + 2] = v >>> 8;
    buf[p + 3] = v;
    this.pos = p + 4;
  }
  uint32(v: number): void {
    this.ensure(4);
    this.pos = this.buf.writeUInt32BE(v, this.pos);
  }
  int64(v: number): void {
    if (!Number.isSafeInteger(v)) throw new ProtocolError(ErrorCode.INVALID_REQUEST, `int64 value ${v} is not a safe integer`);
    this.ensure(8);
    const buf = this.buf;
    const p = this.pos;
    const hi = Math.floor(v / TWO_32);
    const lo = v - hi * TWO_32;
    buf[p] = hi >>> 24;
    buf[p + 1] = hi >>> 16;
    buf[p + 2] = hi >>> 8;
    buf[p + 3] = hi;
    buf[p + 4] = lo >>> 24;
    buf[p + 5] = lo >>> 16;
    buf[p + 6] = lo >>> 8;
    buf[p + 7] = lo;
    this.pos = p + 8;
  }
  float64(v: number): void {
    this.ensure(8);
    this.pos = this.buf.writeDoubleBE(v, this.pos);
  }
  bool(v: boolean): void {
    this.ensure(1);
    this.buf[this.pos++] = v ? 1 : 0;
  }
  /** A uuid as Kafka's 22-character base64url text or as 16 raw bytes. */
  uuid(v: string | Uint8Array): void {
    this.ensure(UUID_BYTES);
    if (typeof v === 'string') {
      if (v.length !== 22 || this.buf.write(v, this.pos, UUID_BYTES, 'base64url') !== UUID_BYTES) {
        throw new ProtocolError(ErrorCode.INVALID_REQUEST, `bad uuid '${v}'`);
      }
    } else {
      if (v.length !== UUID_BYTES) throw new ProtocolError(ErrorCode.INVALID_REQUEST, 'uuid must be 16 bytes');
      this.buf.set(v, this.pos);
    }
    this.pos += UUID_BYTES;
  }
  zeroUuid(): void {
    this.ensure(UUID_BYTES);
    this.buf.set(ZERO_UUID_BYTES, this.pos);
    this.pos += UUID_BYTES;
  }

  uvarint(v: number): void {
    this.ensure(5);
    const buf = this.buf;
    let p = this.pos;
    while (v >= 0x80) {
      buf[p++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    buf[p++] = v;
    this.pos = p;
  }
  varint(v: number): void {
    this.uvarint(v >= 0 ? v * 2 : -v * 2 - 1);
  }
  varlong(v: number): void {
    let u = v >= 0 ? v * 2 : -v * 2 - 1;
    this.ensure(10);
    const buf = this.buf;
    let p = this.pos;
    while (u >= 0x80) {
      buf[p++] = (u % 128) | 0x80;
      u = Math.floor(u / 128);
    }
    buf[p++] = u;
    this.pos = p;
  }

  raw(data: Uint8Array): void {
    this.ensure(data.length);
    this.buf.set(data, this.pos);
    this.pos += data.length;
  }

  private utf8Body(v: string, n: number): void {
    if (n === 0) return;
    this.pos += this.buf.write(v, this.pos, n, 'utf8');
  }

  string(v: string): void {
    const n = Buffer.byteLength(v, 'utf8');
    if (n > 0x7fff) throw new ProtocolError(ErrorCode.INVALID_REQUEST, `string of ${n} bytes exceeds int16 length`);
    this.ensure(2 + n);
    this.pos = this.buf.writeInt16BE(n, this.pos);
    this.utf8Body(v, n);
  }
  nullableString(v: string | null): void {
    if (v === null) this.int16(-1);
    else this.string(v);
  }
  compactString(v: string): void {
    const n = Buffer.byteLength(v, 'utf8');
    this.uvarint(n + 1);
    this.ensure(n);
    this.utf8Body(v, n);
  }
  compactNullableString(v: string | null): void {
    if (v === null) this.uvarint(0);
    else this.compactString(v);
  }

  bytes(v: Uint8Array): void {
    this.int32(v.length);
    this.raw(v);
  }
  nullableBytes(v: Uint8Array | null): void {
    if (v === null) this.int32(-1);
    else this.bytes(v);
  }
  compactBytes(v: Uint8Array): void {
    this.uvarint(v.length + 1);
    this.raw(v);
  }
  compactNullableBytes(v: Uint8Array | null): void {
    if (v === null) this.uvarint(0);
    else this.compactBytes(v);
  }

  /** A records field: the length prefix here, the data as spliced chunks. */
  records(v: Buffer | readonly Buffer[] | null, compact: boolean): void {
    if (v === null) {
      if (compact) this.uvarint(0);
      else this.int32(-1);
      return;
    }
    if (Buffer.isBuffer(v)) {
      if (compact) this.uvarint(v.length + 1);
      else this.int32(v.length);
      this.splice(v);
      return;
    }
    let n = 0;
    for (const part of v) n += part.length;
    if (compact) this.uvarint(n + 1);
    else this.int32(n);
    for (const part of v) this.splice(part);
  }
}
