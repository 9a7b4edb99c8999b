// A bounds-checked cursor over a frame. Every read checks the remaining length first and throws
// ProtocolError (never RangeError); bytes, strings' backing and records come out as subarray views.
import { ErrorCode, ProtocolError } from './errors.ts';

const TWO_32 = 4294967296;
const UUID_BYTES = 16;

export class Reader {
  readonly buf: Buffer;
  pos: number;
  end: number;
  /** The error code malformed input is reported with (INVALID_REQUEST, or CORRUPT_MESSAGE in records). */
  readonly errorCode: number;

  constructor(buf: Buffer, pos = 0, end = buf.length, errorCode: number = ErrorCode.INVALID_REQUEST) {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
    this.errorCode = errorCode;
  }

  remaining(): number {
    return this.end - this.pos;
  }

  fail(message: string): ProtocolError {
    return new ProtocolError(this.errorCode, `${message} at byte ${this.pos}`);
  }

  need(n: number): number {
    const p = this.pos;
    if (n > this.end - p) throw this.fail(`truncated: need ${n} bytes, have ${this.end - p}`);
    this.pos = p + n;
    return p;
  }

  int8(): number {
    return this.buf.readInt8(this.need(1));
  }
  uint8(): number {
    return this.buf[this.need(1)]!;
  }
  int16(): number {
    const p = this.need(2);
    const buf = this.buf;
    return ((buf[p]! << 24) | (buf[p + 1]! << 16)) >> 16;
  }
  uint16(): number {
    return this.buf.readUInt16BE(this.need(2));
  }
  int32(): number {
    const p = this.need(4);
    const buf = this.buf;
    return (buf[p]! << 24) | (buf[p + 1]! << 16) | (buf[p + 2]! << 8) | buf[p + 3]!;
  }
  uint32(): number {
    return this.buf.readUInt32BE(this.need(4));
  }
  int64(): number {
    const p = this.need(8);
    const buf = this.buf;
    const hi = (buf[p]! << 24) | (buf[p + 1]! << 16) | (buf[p + 2]! << 8) | buf[p + 3]!;
    const lo = ((buf[p + 4]! << 24) | (buf[p + 5]! << 16) | (buf[p + 6]! << 8) | buf[p + 7]!) >>> 0;
    const v = hi * TWO_32 + lo;
    if (hi < -0x200000 || hi >= 0x200000 || !Number.isSafeInteger(v)) {
      this.pos = p;
      throw this.fail(`int64 ${this.buf.readBigInt64BE(p)} is outside the safe integer range`);
    }
    return v;
  }
  float64(): number {
    return this.buf.readDoubleBE(this.need(8));
  }
  bool(): boolean {
    return this.buf[this.need(1)] !== 0;
  }
  uuid(): string {
    const p = this.need(UUID_BYTES);
    return this.buf.toString('base64url', p, p + UUID_BYTES);
  }

  /** Unsigned varint of at most 5 bytes (a uint32). */
  uvarint(): number {
    const buf = this.buf;
    let p = this.pos;
    const end = this.end;
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (p >= end) {
        throw this.fail('truncated varint');
      }
      const b = buf[p++]!;
      if (shift === 28 && b > 0x0f) throw this.fail('varint too long');
      result += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) {
        this.pos = p;
        return result;
      }
    }
    throw this.fail('varint too long');
  }

  /** Zigzag varint (int32). */
  varint(): number {
    const u = this.uvarint();
    return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
  }

  /** Zigzag varlong, limited to the safe integer range. */
  varlong(): number {
    const buf = this.buf;
    let p = this.pos;
    const end = this.end;
    let result = 0;
    for (let shift = 0; shift < 70; shift += 7) {
      if (p >= end) throw this.fail('truncated varlong');
      const b = buf[p++]!;
      result += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) {
        if (result > Number.MAX_SAFE_INTEGER) throw this.fail('varlong outside the safe integer range');
        this.pos = p;
        return result % 2 === 0 ? result / 2 : -(result + 1) / 2;
      }
    }
    throw this.fail('varlong too long');
  }

  /** `n` bytes as a view into the frame (no copy). */
  view(n: number): Buffer {
    const p = this.need(n);
    return this.buf.subarray(p, p + n);
  }

  utf8(n: number): string {
    const p = this.need(n);
    // Invalid UTF-8 decodes to U+FFFD, as the Java broker does (new String(bytes, UTF_8)).
    return this.buf.toString('utf8', p, p + n);
  }

  /** Length of an int16-prefixed string; -1 is null. */
  stringLength(nullable: boolean): number {
    const n = this.int16();
    if (n < -1 || (n === -1 && !nullable)) throw this.fail(`bad string length ${n}`);
    return n;
  }
  /** Length of a compact (uvarint length+1) field; -1 is null. */
  compactLength(nullable: boolean): number {
    const n = this.uvarint() - 1;
    if (n === -1 && !nullable) throw this.fail('null in a non-nullable compact field');
    return n;
  }
  bytesLength(nullable: boolean): number {
    const n = this.int32();
    if (n < -1 || (n === -1 && !nullable)) throw this.fail(`bad length ${n}`);
    return n;
  }

  string(): string {
    return this.utf8(this.stringLength(false));
  }
  nullableString(): string | null {
    const n = this.stringLength(true);
    return n === -1 ? null : this.utf8(n);
  }
  compactString(): string {
    return this.utf8(this.compactLength(false));
  }
  compactNullableString(): string | null {
    const n = this.compactLength(true);
    return n === -1 ? null : this.utf8(n);
  }
  bytes(): Buffer {
    return this.view(this.bytesLength(false));
  }
  nullableBytes(): Buffer | null {
    const n = this.bytesLength(true);
    return n === -1 ? null : this.view(n);
  }
  compactBytes(): Buffer {
    return this.view(this.compactLength(false));
  }
  compactNullableBytes(): Buffer | null {
    const n = this.compactLength(true);
    return n === -1 ? null : this.view(n);
  }

  /** Array length; -1 is null. `minElementBytes` bounds the count by what the frame can hold. */
  arrayLength(compact: boolean, nullable: boolean, minElementBytes: number): number {
    const n = compact ? this.compactLength(nullable) : this.bytesLength(nullable);
    if (n > 0 && n * Math.max(minElementBytes, 1) > this.end - this.pos) {
      throw this.fail(`array of ${n} elements exceeds the ${this.end - this.pos} remaining bytes`);
    }
    return n;
  }

  /** Skips a tagged-field section whose fields are all unknown. */
  skipTaggedFields(): void {
    const count = this.uvarint();
    for (let i = 0; i < count; i++) {
      this.uvarint();
      this.need(this.uvarint());
    }
  }
}
