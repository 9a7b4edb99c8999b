import { gzipSync } from 'node:zlib';
import { compressFrameSync } from 'lz4-napi';
import { compressSync as snappyRaw } from 'snappy';
import { describe, expect, it } from 'vitest';
import { compress, decompress } from '../src/compression.ts';
import { crc32c } from '../src/crc32c.ts';
import { ErrorCode, ProtocolError } from '../src/errors.ts';
import {
  ATTRIBUTES_OFFSET, CRC_OFFSET, MAGIC_OFFSET, MAX_TIMESTAMP_OFFSET, RECORD_BATCH_HEADER_BYTES, TimestampType,
  controlRecordType, decodeRecords, encodeRecordBatch, iterateBatches, readBatchHeader, setBatchBaseOffset,
  setLogAppendTime, setPartitionLeaderEpoch, validateBatchRecords, verifyBatchCrc,
} from '../src/records.ts';
import { referenceCrc32c } from './reference-crc.ts';

const codecs = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;

function errorCodeOf(fn: () => unknown): number {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ProtocolError);
    return (e as ProtocolError).errorCode;
  }
  throw new Error('expected a ProtocolError');
}

const sampleRecords = [
  { key: 'key-0', value: 'value-0'.repeat(50), timestamp: 1_700_000_000_000, headers: [{ key: 'h1', value: 'x' }, { key: 'h2', value: null }] },
  { key: null, value: null, timestamp: 1_700_000_000_003 },
  { key: Buffer.from([0, 1, 2]), value: 'ü€', timestamp: 1_699_999_999_999 },
];

describe('crc32c', () => {
  it('matches the standard check value and a bitwise reference', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    const data = Buffer.from(Array.from({ length: 1000 }, (_, i) => (i * 7) & 0xff));
    expect(crc32c(data)).toBe(referenceCrc32c(data));
    expect(crc32c(data.subarray(500), crc32c(data.subarray(0, 500)))).toBe(crc32c(data));
  });
});

describe('record batch v2', () => {
  for (const compression of codecs) {
    it(`round-trips with ${compression}`, () => {
      const batch = encodeRecordBatch({ baseOffset: 100, records: sampleRecords, compression, producerId: 42, producerEpoch: 3, baseSequence: 7, partitionLeaderEpoch: 5, isTransactional: true });
      expect(verifyBatchCrc(batch, 0, batch.length)).toBe(true);
      expect(crc32c(batch.subarray(ATTRIBUTES_OFFSET))).toBe(referenceCrc32c(batch.subarray(ATTRIBUTES_OFFSET)));
      const { header, records } = decodeRecords(batch);
      expect(header).toMatchObject({ baseOffset: 100, magic: 2, producerId: 42, producerEpoch: 3, baseSequence: 7, partitionLeaderEpoch: 5, isTransactional: true, isControl: false, recordsCount: 3, lastOffsetDelta: 2, lastOffset: 102, maxTimestamp: 1_700_000_000_003, baseTimestamp: 1_700_000_000_000 });
      expect(records.map((r) => [r.offset, r.timestamp, r.key?.toString('hex') ?? null, r.value?.toString() ?? null])).toEqual([
        [100, 1_700_000_000_000, Buffer.from('key-0').toString('hex'), 'value-0'.repeat(50)],
        [101, 1_700_000_000_003, null, null],
        [102, 1_699_999_999_999, '000102', 'ü€'],
      ]);
      expect(records[0]!.headers).toEqual([{ key: 'h1', value: Buffer.from('x') }, { key: 'h2', value: null }]);
    });
  }

  it('hands out views into an uncompressed batch', () => {
    const batch = encodeRecordBatch({ records: sampleRecords });
    expect(decodeRecords(batch).records[0]!.value!.buffer).toBe(batch.buffer);
  });

  it('detects a corrupt CRC', () => {
    const batch = encodeRecordBatch({ records: sampleRecords });
    batch[RECORD_BATCH_HEADER_BYTES + 3]! ^= 0x01;
    expect(verifyBatchCrc(batch, 0, batch.length)).toBe(false);
    const other = encodeRecordBatch({ records: sampleRecords });
    other.writeUInt32BE((other.readUInt32BE(CRC_OFFSET) + 1) >>> 0, CRC_OFFSET);
    expect(verifyBatchCrc(other, 0, other.length)).toBe(false);
  });

  it('rewrites baseOffset and leader epoch in place without breaking the CRC', () => {
    const batch = encodeRecordBatch({ baseOffset: 0, records: sampleRecords });
    setBatchBaseOffset(batch, 0, 123_456_789_012);
    setPartitionLeaderEpoch(batch, 0, 9);
    expect(verifyBatchCrc(batch, 0, batch.length)).toBe(true);
    const { header, records } = decodeRecords(batch);
    expect(header.baseOffset).toBe(123_456_789_012);
    expect(header.partitionLeaderEpoch).toBe(9);
    expect(records[2]!.offset).toBe(123_456_789_014);
  });

  it('sets log append time, recomputing the CRC', () => {
    const batch = encodeRecordBatch({ records: sampleRecords, compression: 'gzip' });
    setLogAppendTime(batch, 0, batch.length, 1_800_000_000_000);
    expect(verifyBatchCrc(batch, 0, batch.length)).toBe(true);
    const { header, records } = decodeRecords(batch);
    expect(header.timestampType).toBe(TimestampType.LogAppendTime);
    expect(batch.readBigInt64BE(MAX_TIMESTAMP_OFFSET)).toBe(1_800_000_000_000n);
    expect(records.every((r) => r.timestamp === 1_800_000_000_000)).toBe(true);
  });

  it('iterates several batches and rejects bad lengths and magic', () => {
    const a = encodeRecordBatch({ baseOffset: 0, records: sampleRecords });
    const b = encodeRecordBatch({ baseOffset: 3, records: sampleRecords.slice(0, 1), compression: 'zstd' });
    const both = Buffer.concat([a, b]);
    const locs = [...iterateBatches(both)];
    expect(locs.map((l) => [l.position, l.sizeInBytes, l.header.baseOffset])).toEqual([[0, a.length, 0], [a.length, b.length, 3]]);
    for (const l of locs) expect(verifyBatchCrc(both, l.position, l.sizeInBytes)).toBe(true);

    expect(errorCodeOf(() => [...iterateBatches(both.subarray(0, both.length - 1))])).toBe(ErrorCode.CORRUPT_MESSAGE);
    expect(errorCodeOf(() => [...iterateBatches(both.subarray(0, 30))])).toBe(ErrorCode.CORRUPT_MESSAGE);
    const short = Buffer.from(a);
    short.writeInt32BE(10, 8);
    expect(errorCodeOf(() => [...iterateBatches(short)])).toBe(ErrorCode.CORRUPT_MESSAGE);
    const negative = Buffer.from(a);
    negative.writeInt32BE(-1, 8);
    expect(errorCodeOf(() => [...iterateBatches(negative)])).toBe(ErrorCode.CORRUPT_MESSAGE);
    const badMagic = Buffer.from(a);
    badMagic[MAGIC_OFFSET] = 7;
    expect(errorCodeOf(() => [...iterateBatches(badMagic)])).toBe(ErrorCode.CORRUPT_MESSAGE);
    for (const magic of [0, 1]) {
      const old = Buffer.from(a);
      old[MAGIC_OFFSET] = magic;
      expect(errorCodeOf(() => [...iterateBatches(old)])).toBe(ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT);
      expect(errorCodeOf(() => readBatchHeader(old, 0))).toBe(ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT);
    }
  });

  it('rejects corrupt record bodies with CORRUPT_MESSAGE', () => {
    const batch = encodeRecordBatch({ records: sampleRecords });
    for (let cut = RECORD_BATCH_HEADER_BYTES; cut < batch.length; cut += 7) {
      const truncated = Buffer.from(batch.subarray(0, cut));
      truncated.writeInt32BE(cut - 12, 8);
      expect(errorCodeOf(() => decodeRecords(truncated))).toBe(ErrorCode.CORRUPT_MESSAGE);
    }
    const hugeCount = Buffer.from(batch);
    hugeCount.writeInt32BE(0x7fffffff, 57);
    expect(errorCodeOf(() => decodeRecords(hugeCount))).toBe(ErrorCode.CORRUPT_MESSAGE);
  });

  it('encodes control batches', () => {
    const key = Buffer.from([0, 0, 0, 1]);
    const batch = encodeRecordBatch({ records: [{ key, value: Buffer.from([0, 0, 0, 0, 0, 0]), timestamp: 5 }], isControl: true, isTransactional: true, producerId: 9, producerEpoch: 1 });
    const { header, records } = decodeRecords(batch);
    expect(header.isControl).toBe(true);
    expect(controlRecordType(records[0]!.key)).toBe(1);
  });
});

describe('compression', () => {
  const data = Buffer.from('tributary '.repeat(20_000) + Array.from({ length: 5000 }, (_, i) => String(i * 7919)).join(','));

  for (const codec of codecs) {
    it(`${codec} round-trips and is bounded`, () => {
      const packed = compress(codec, data);
      expect(decompress(codec, packed, data.length).equals(data)).toBe(true);
      expect(errorCodeOf(() => decompress(codec, packed, data.length - 1))).toBe(ErrorCode.CORRUPT_MESSAGE);
    });
  }

  it('writes xerial-framed snappy and reads both framed and raw snappy', () => {
    const framed = compress('snappy', data);
    expect(framed.subarray(0, 8).equals(Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]))).toBe(true);
    expect(decompress('snappy', snappyRaw(data), data.length).equals(data)).toBe(true);
  });

  it('refuses a gzip bomb without inflating it', () => {
    const bomb = gzipSync(Buffer.alloc(16 * 1024 * 1024));
    expect(errorCodeOf(() => decompress('gzip', bomb, 1024 * 1024))).toBe(ErrorCode.CORRUPT_MESSAGE);
  });

  it('reads LZ4 frames with checksums, uncompressed blocks, content size and skippable frames', () => {
    // lz4_flex frames with block and content checksums.
    const withChecks = compressFrameSync(data, { blockChecksums: true, contentChecksum: true });
    expect(decompress('lz4', withChecks, data.length).equals(data)).toBe(true);
    // Hand-made: a skippable frame, then a frame (v1, independent 64 KB blocks, content size 12) with an
    // uncompressed block "abc" and a compressed block: literals "xy", an overlapping 6-byte match at
    // offset 2, and a last sequence of the literal "z".
    const handmade = Buffer.from(
      [
        '502a4d18', '04000000', 'deadbeef',
        '04224d18', '68', '40', '0c00000000000000', '00',
        '03000080', '616263',
        '07000000', '22', '7879', '0200', '10', '7a',
        '00000000',
      ].join(''),
      'hex',
    );
    expect(decompress('lz4', handmade, 100).toString()).toBe('abcxyxyxyxyz');
    expect(errorCodeOf(() => decompress('lz4', handmade, 11))).toBe(ErrorCode.CORRUPT_MESSAGE);
    for (let cut = 13; cut < handmade.length; cut++) { // 12 bytes are a complete skippable frame
      expect(errorCodeOf(() => decompress('lz4', handmade.subarray(0, cut), 100))).toBe(ErrorCode.CORRUPT_MESSAGE);
    }
  });

  it('rejects garbage for every codec with CORRUPT_MESSAGE', () => {
    const garbage = Buffer.from('this is not compressed data at all, really');
    for (const codec of ['gzip', 'snappy', 'lz4', 'zstd'] as const) {
      expect(errorCodeOf(() => decompress(codec, garbage, 1000))).toBe(ErrorCode.CORRUPT_MESSAGE);
    }
    expect(errorCodeOf(() => decompress(7, garbage, 1000))).toBe(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE);
  });
});

describe('validateBatchRecords', () => {
  const records = [
    { key: 'a', value: 'one', headers: [{ key: 'h', value: 'x' }] },
    { key: null, value: null },
    { key: 'c', value: Buffer.alloc(300, 7) },
  ];

  it('accepts well-formed batches in every codec', () => {
    for (const compression of ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const) {
      expect(() => validateBatchRecords(encodeRecordBatch({ records, compression }), { requireKeys: false })).not.toThrow();
    }
  });

  it('refuses a missing key when keys are required', () => {
    expect(() => validateBatchRecords(encodeRecordBatch({ records, compression: 'none' }), { requireKeys: true })).toThrowError(
      expect.objectContaining({ errorCode: ErrorCode.INVALID_RECORD }),
    );
  });

  it('refuses offset deltas that do not run 0..n-1', () => {
    const batch = encodeRecordBatch({ records: [{ value: 'a', offsetDelta: 0 }, { value: 'b', offsetDelta: 5 }], compression: 'none' });
    expect(() => validateBatchRecords(batch, { requireKeys: false })).toThrowError(expect.objectContaining({ errorCode: ErrorCode.INVALID_RECORD }));
  });

  it('reports every truncation or corruption of the records as CORRUPT_MESSAGE, never a RangeError', () => {
    const batch = encodeRecordBatch({ records, compression: 'none' });
    for (let cut = RECORD_BATCH_HEADER_BYTES; cut < batch.length; cut++) {
      const truncated = Buffer.from(batch.subarray(0, cut));
      truncated.writeInt32BE(cut - 12, 8);
      try {
        validateBatchRecords(truncated, { requireKeys: false });
      } catch (err) {
        expect(err).toBeInstanceOf(ProtocolError);
      }
    }
    for (let i = RECORD_BATCH_HEADER_BYTES; i < batch.length; i++) {
      const flipped = Buffer.from(batch);
      flipped[i] = flipped[i]! ^ 0xff;
      try {
        validateBatchRecords(flipped, { requireKeys: false });
      } catch (err) {
        expect(err).toBeInstanceOf(ProtocolError);
      }
    }
  });
});
