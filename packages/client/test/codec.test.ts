import { describe, expect, it } from 'vitest';
import { CONTROL_FLAG_MASK, setBatchBaseOffset, ATTRIBUTES_OFFSET, computeBatchCrc, CRC_OFFSET } from '@tributary/protocol';
import { protocolCodec } from '../src/codec.ts';
import { KafkaError } from '../src/errors.ts';

function batchAt(baseOffset: number, values: string[], compression: 'none' | 'zstd' = 'none'): Buffer {
  const batch = protocolCodec.encodeRecordBatch(
    values.map((value, i) => ({ key: `k${i}`, value, headers: [{ key: 'h', value: Buffer.from('v') }] })),
    compression,
    1_700_000_000_000,
  );
  setBatchBaseOffset(batch, 0, baseOffset);
  return batch;
}

describe('protocolCodec.decodeRecordSet', () => {
  it('decodes several batches with offsets, keys, values and headers', () => {
    const records = protocolCodec.decodeRecordSet(Buffer.concat([batchAt(10, ['a', 'b']), batchAt(12, ['c'], 'zstd')]));
    expect(records.map((r) => [r.offset, r.key?.toString(), r.value?.toString(), r.headers[0]?.key])).toEqual([
      [10, 'k0', 'a', 'h'],
      [11, 'k1', 'b', 'h'],
      [12, 'k0', 'c', 'h'],
    ]);
    expect(records[0]!.timestamp).toBe(1_700_000_000_000);
  });

  it('ignores a partial batch at the end of a fetch', () => {
    const second = batchAt(2, ['c']);
    const records = protocolCodec.decodeRecordSet(Buffer.concat([batchAt(0, ['a', 'b']), second.subarray(0, second.length - 5)]));
    expect(records.map((r) => r.offset)).toEqual([0, 1]);
  });

  it('refuses a batch whose CRC does not match', () => {
    const batch = batchAt(0, ['hello']);
    batch[batch.length - 1]! ^= 0xff;
    expect(() => protocolCodec.decodeRecordSet(batch)).toThrow(KafkaError);
    expect(() => protocolCodec.decodeRecordSet(batch)).toThrow(/CORRUPT_MESSAGE: record batch at offset 0 fails its CRC check/);
  });

  it('skips control batches', () => {
    const control = batchAt(1, ['marker']);
    control.writeInt16BE(control.readInt16BE(ATTRIBUTES_OFFSET) | CONTROL_FLAG_MASK, ATTRIBUTES_OFFSET);
    control.writeUInt32BE(computeBatchCrc(control, 0, control.length), CRC_OFFSET);
    const records = protocolCodec.decodeRecordSet(Buffer.concat([batchAt(0, ['a']), control, batchAt(2, ['b'])]));
    expect(records.map((r) => r.value?.toString())).toEqual(['a', 'b']);
  });

  it('names error codes', () => {
    expect(protocolCodec.errorName(36)).toBe('TOPIC_ALREADY_EXISTS');
  });
});
