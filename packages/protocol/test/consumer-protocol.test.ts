import { describe, expect, it } from 'vitest';
import {
  ConsumerProtocolError,
  decodeAssignment,
  decodeSubscription,
  encodeAssignment,
  encodeSubscription,
} from '../src/consumer-protocol.ts';

/** Bytes written field by field from the format description, independent of the encoder under test. */
function bytes(...parts: (['i16' | 'i32', number] | ['str', string | null] | ['raw', Buffer])[]): Buffer {
  return Buffer.concat(
    parts.map(([kind, v]) => {
      if (kind === 'i16') {
        const b = Buffer.alloc(2);
        b.writeInt16BE(v as number);
        return b;
      }
      if (kind === 'i32') {
        const b = Buffer.alloc(4);
        b.writeInt32BE(v as number);
        return b;
      }
      if (kind === 'raw') return v as Buffer;
      if (v === null) return Buffer.from([0xff, 0xff]);
      const s = Buffer.from(v as string);
      const len = Buffer.alloc(2);
      len.writeInt16BE(s.length);
      return Buffer.concat([len, s]);
    }),
  );
}

describe('consumer protocol', () => {
  it('encodes a v0 subscription byte for byte', () => {
    const expected = bytes(['i16', 0], ['i32', 2], ['str', 'a'], ['str', 'bc'], ['i32', -1]);
    expect(encodeSubscription({ topics: ['a', 'bc'] })).toEqual(expected);
  });

  it('round-trips subscriptions of every version', () => {
    const owned = [{ topic: 'a', partitions: [0, 2] }];
    for (const version of [0, 1, 2, 3]) {
      const encoded = encodeSubscription({ version, topics: ['a', 'b'], userData: Buffer.from('ud'), ownedPartitions: owned, generationId: 7, rackId: 'r1' });
      expect(decodeSubscription(encoded)).toEqual({
        version,
        topics: ['a', 'b'],
        userData: Buffer.from('ud'),
        ownedPartitions: version >= 1 ? owned : [],
        generationId: version >= 2 ? 7 : -1,
        rackId: version >= 3 ? 'r1' : null,
      });
    }
  });

  it('reads a v3 subscription as a Java consumer writes it, and a future version by its known prefix', () => {
    const v3 = bytes(['i16', 3], ['i32', 1], ['str', 'orders'], ['i32', -1], ['i32', 1], ['str', 'orders'], ['i32', 1], ['i32', 4], ['i32', 12], ['str', null]);
    expect(decodeSubscription(v3)).toEqual({ version: 3, topics: ['orders'], userData: null, ownedPartitions: [{ topic: 'orders', partitions: [4] }], generationId: 12, rackId: null });
    const v9 = Buffer.concat([bytes(['i16', 9]), v3.subarray(2), Buffer.from('future fields')]);
    expect(decodeSubscription(v9)).toMatchObject({ version: 9, topics: ['orders'], generationId: 12 });
  });

  it('reads a subscription that stops after its topics', () => {
    expect(decodeSubscription(bytes(['i16', 0], ['i32', 1], ['str', 't']))).toMatchObject({ topics: ['t'], userData: null });
  });

  it('round-trips assignments and reads an empty one as nothing assigned', () => {
    const assigned = [
      { topic: 'a', partitions: [0, 1] },
      { topic: 'b', partitions: [3] },
    ];
    const encoded = encodeAssignment(assigned, Buffer.from([1, 2]));
    expect(encoded).toEqual(
      bytes(['i16', 0], ['i32', 2], ['str', 'a'], ['i32', 2], ['i32', 0], ['i32', 1], ['str', 'b'], ['i32', 1], ['i32', 3], ['i32', 2], ['raw', Buffer.from([1, 2])]),
    );
    expect(decodeAssignment(encoded)).toEqual({ version: 0, assignedPartitions: assigned, userData: Buffer.from([1, 2]) });
    expect(decodeAssignment(Buffer.alloc(0))).toEqual({ version: 0, assignedPartitions: [], userData: null });
  });

  it('rejects truncated, negative-version and lying-count input', () => {
    const good = encodeSubscription({ topics: ['abc'] });
    for (let cut = 1; cut < good.length - 4; cut++) expect(() => decodeSubscription(good.subarray(0, cut))).toThrow(ConsumerProtocolError);
    expect(() => decodeSubscription(bytes(['i16', -1], ['i32', 0]))).toThrow(ConsumerProtocolError);
    expect(() => decodeAssignment(bytes(['i16', 0], ['i32', 1_000_000]))).toThrow(ConsumerProtocolError);
  });
});
