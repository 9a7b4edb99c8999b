// Record batch compression codecs: gzip and zstd from node:zlib, snappy (raw and the xerial framing
// Java clients write) through the `snappy` native binding, LZ4 frames compressed by `lz4-napi` and
// decompressed by our own bounded decoder. Every decompression takes `maxBytes` and fails with
// ProtocolError(CORRUPT_MESSAGE) rather than allocating more, so a compression bomb cannot exhaust
// memory.
import zlib from 'node:zlib';
import { compressSync as snappyCompress, uncompressSync as snappyUncompress } from 'snappy';
import { compressFrameSync as lz4CompressFrame } from 'lz4-napi';
import { ErrorCode, ProtocolError } from './errors.ts';

export const CompressionType = { None: 0, Gzip: 1, Snappy: 2, Lz4: 3, Zstd: 4 } as const;
export type CompressionTypeValue = (typeof CompressionType)[keyof typeof CompressionType];
export type CompressionName = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';

const NAMES: Record<CompressionName, CompressionTypeValue> = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 };

export function compressionType(c: CompressionName | number): CompressionTypeValue {
  const t = typeof c === 'number' ? c : NAMES[c];
  if (t === undefined || !Number.isInteger(t) || t < 0 || t > 4) {
    throw new ProtocolError(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, `unknown compression ${String(c)}`);
  }
  return t as CompressionTypeValue;
}

function corrupt(message: string): ProtocolError {
  return new ProtocolError(ErrorCode.CORRUPT_MESSAGE, message);
}

export function compress(type: CompressionName | number, data: Buffer): Buffer {
  switch (compressionType(type)) {
    case CompressionType.None: return data;
    case CompressionType.Gzip: return zlib.gzipSync(data);
    case CompressionType.Snappy: return xerialCompress(data);
    case CompressionType.Lz4: return lz4CompressFrame(data);
    case CompressionType.Zstd: return zlib.zstdCompressSync(data);
  }
}

export function decompress(type: CompressionName | number, data: Buffer, maxBytes: number): Buffer {
  const t = compressionType(type);
  try {
    switch (t) {
      case CompressionType.None:
        if (data.length > maxBytes) throw corrupt(`${data.length} bytes exceed the ${maxBytes}-byte limit`);
        return data;
      case CompressionType.Gzip: return zlib.gunzipSync(data, { maxOutputLength: Math.max(1, maxBytes) });
      case CompressionType.Snappy: return snappyDecompress(data, maxBytes);
      case CompressionType.Lz4: return lz4DecompressFrames(data, maxBytes);
      case CompressionType.Zstd: return zlib.zstdDecompressSync(data, { maxOutputLength: Math.max(1, maxBytes) });
    }
  } catch (e) {
    if (e instanceof ProtocolError) throw e;
    throw corrupt(`${Object.keys(NAMES)[t]} decompression failed: ${(e as Error).message}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Snappy: xerial framing is magic(8) version(int32) compatible(int32) then [int32 length, raw block]*.

const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER_BYTES = 16;
const XERIAL_BLOCK_BYTES = 32 * 1024;

function xerialCompress(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  const header = Buffer.alloc(XERIAL_HEADER_BYTES);
  XERIAL_MAGIC.copy(header, 0);
  header.writeInt32BE(1, 8);
  header.writeInt32BE(1, 12);
  parts.push(header);
  for (let p = 0; p < data.length; p += XERIAL_BLOCK_BYTES) {
    const block = snappyCompress(data.subarray(p, Math.min(data.length, p + XERIAL_BLOCK_BYTES)));
    const len = Buffer.alloc(4);
    len.writeInt32BE(block.length, 0);
    parts.push(len, block);
  }
  return Buffer.concat(parts);
}

/** Uncompressed length from a raw snappy block's varint preamble. */
function snappyLength(block: Buffer): number {
  let result = 0;
  for (let i = 0, shift = 0; i < 5 && i < block.length; i++, shift += 7) {
    const b = block[i]!;
    result += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) return result;
  }
  throw corrupt('bad snappy length preamble');
}

function snappyRaw(block: Buffer, budget: number): Buffer {
  const n = snappyLength(block);
  if (n > budget) throw corrupt(`snappy block of ${n} bytes exceeds the decompression limit`);
  return snappyUncompress(block, { asBuffer: true }) as Buffer;
}

function snappyDecompress(data: Buffer, maxBytes: number): Buffer {
  if (data.length < XERIAL_HEADER_BYTES || !data.subarray(0, 8).equals(XERIAL_MAGIC)) return snappyRaw(data, maxBytes);
  const out: Buffer[] = [];
  let total = 0;
  let p = XERIAL_HEADER_BYTES;
  while (p < data.length) {
    if (data.length - p < 4) throw corrupt('truncated xerial snappy block length');
    const n = data.readInt32BE(p);
    p += 4;
    if (n < 0 || n > data.length - p) throw corrupt(`bad xerial snappy block length ${n}`);
    const block = snappyRaw(data.subarray(p, p + n), maxBytes - total);
    total += block.length;
    out.push(block);
    p += n;
  }
  return out.length === 1 ? out[0]! : Buffer.concat(out, total);
}

// ---------------------------------------------------------------------------------------------
// LZ4 frame decoder (frame format 1.6). Checksums (header, block, content) are not verified: the
// record batch CRC already covers the compressed bytes. Dependent blocks work because all blocks
// decode into one output buffer.

const LZ4_MAGIC = 0x184d2204;
const LZ4_SKIPPABLE_MASK = 0xfffffff0;
const LZ4_SKIPPABLE = 0x184d2a50;

class Output {
  buf: Buffer;
  len = 0;
  readonly max: number;
  constructor(initial: number, max: number) {
    this.max = max;
    this.buf = Buffer.allocUnsafe(Math.max(64, Math.min(initial, max)));
  }
  reserve(n: number): void {
    const need = this.len + n;
    if (need > this.max) throw corrupt(`lz4 output exceeds the ${this.max}-byte limit`);
    if (need > this.buf.length) {
      const next = Buffer.allocUnsafe(Math.min(this.max, Math.max(need, this.buf.length * 2)));
      this.buf.copy(next, 0, 0, this.len);
      this.buf = next;
    }
  }
}

function lz4DecompressFrames(data: Buffer, maxBytes: number): Buffer {
  const out = new Output(data.length * 4, maxBytes);
  let p = 0;
  while (p < data.length) {
    if (data.length - p < 4) throw corrupt('truncated lz4 frame');
    const magic = data.readUInt32LE(p);
    if ((magic & LZ4_SKIPPABLE_MASK) >>> 0 === LZ4_SKIPPABLE) {
      if (data.length - p < 8) throw corrupt('truncated lz4 skippable frame');
      const n = data.readUInt32LE(p + 4);
      if (n > data.length - p - 8) throw corrupt('truncated lz4 skippable frame');
      p += 8 + n;
      continue;
    }
    if (magic !== LZ4_MAGIC) throw corrupt(`bad lz4 magic 0x${magic.toString(16)}`);
    p = lz4Frame(data, p + 4, out);
  }
  return out.buf.subarray(0, out.len);
}

function lz4Frame(data: Buffer, p: number, out: Output): number {
  if (data.length - p < 3) throw corrupt('truncated lz4 frame descriptor');
  const flg = data[p]!;
  if (flg >> 6 !== 1) throw corrupt('unsupported lz4 frame version');
  const blockChecksum = (flg & 0x10) !== 0;
  const contentSize = (flg & 0x08) !== 0;
  const contentChecksum = (flg & 0x04) !== 0;
  const dictId = (flg & 0x01) !== 0;
  if (dictId) throw corrupt('lz4 dictionaries are not supported');
  p += 2 + (contentSize ? 8 : 0) + 1; // FLG, BD, optional content size, header checksum
  if (p > data.length) throw corrupt('truncated lz4 frame descriptor');
  for (;;) {
    if (data.length - p < 4) throw corrupt('truncated lz4 block');
    const word = data.readUInt32LE(p);
    p += 4;
    if (word === 0) break;
    const size = word & 0x7fffffff;
    if (size > data.length - p) throw corrupt('truncated lz4 block');
    if (word & 0x80000000) {
      out.reserve(size);
      data.copy(out.buf, out.len, p, p + size);
      out.len += size;
    } else {
      lz4Block(data, p, p + size, out);
    }
    p += size + (blockChecksum ? 4 : 0);
  }
  p += contentChecksum ? 4 : 0;
  if (p > data.length) throw corrupt('truncated lz4 frame');
  return p;
}

function lz4Block(src: Buffer, p: number, end: number, out: Output): void {
  while (p < end) {
    const token = src[p++]!;
    let literals = token >> 4;
    if (literals === 15) {
      let b: number;
      do {
        if (p >= end) throw corrupt('truncated lz4 literal length');
        b = src[p++]!;
        literals += b;
      } while (b === 255);
    }
    if (literals > end - p) throw corrupt('lz4 literals overrun the block');
    out.reserve(literals);
    src.copy(out.buf, out.len, p, p + literals);
    out.len += literals;
    p += literals;
    if (p === end) return; // the last sequence has literals only
    if (end - p < 2) throw corrupt('truncated lz4 match offset');
    const offset = src[p]! | (src[p + 1]! << 8);
    p += 2;
    if (offset === 0 || offset > out.len) throw corrupt(`bad lz4 match offset ${offset}`);
    let matchLength = (token & 0x0f) + 4;
    if ((token & 0x0f) === 15) {
      let b: number;
      do {
        if (p >= end) throw corrupt('truncated lz4 match length');
        b = src[p++]!;
        matchLength += b;
      } while (b === 255);
    }
    out.reserve(matchLength);
    const buf = out.buf;
    let d = out.len;
    let s = d - offset;
    if (offset >= matchLength) {
      buf.copy(buf, d, s, s + matchLength);
      d += matchLength;
    } else {
      for (let i = 0; i < matchLength; i++) buf[d++] = buf[s++]!;
    }
    out.len = d;
  }
}
