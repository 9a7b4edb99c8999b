import { describe, expect, it } from 'vitest';
import { encodeSubscription } from '@tributary/protocol';
import { parseConsumerSubscription } from '../../src/group/consumer-protocol.ts';
import {
  coordinatorPartitionFor,
  decodeGroupMetadataValue,
  decodeGroupRecordKey,
  decodeOffsetCommitValue,
  encodeGroupMetadataKey,
  encodeGroupMetadataValue,
  encodeOffsetCommitKey,
  encodeOffsetCommitValue,
  GroupRecordFormatError,
  javaStringHashCode,
  type GroupMetadataValue,
} from '../../src/group/records.ts';

describe('coordinator partition', () => {
  it('matches Java String.hashCode and Kafka Utils.abs', () => {
    expect(javaStringHashCode('')).toBe(0);
    expect(javaStringHashCode('hello')).toBe(99162322);
    expect(javaStringHashCode('Aa')).toBe(javaStringHashCode('BB'));
    // The one string everyone knows hashes to Integer.MIN_VALUE; Kafka's abs maps it to 0.
    expect(javaStringHashCode('polygenelubricants')).toBe(-2147483648);
    expect(coordinatorPartitionFor('polygenelubricants', 50)).toBe(0);
    expect(coordinatorPartitionFor('hello', 50)).toBe(99162322 % 50);
    // UTF-16 code units, like Java: a non-BMP character counts as two.
    expect(javaStringHashCode('😀')).toBe((0xd83d * 31 + 0xde00) | 0);
    expect(coordinatorPartitionFor('my-group', 1)).toBe(0);
  });
});

describe('__consumer_offsets records', () => {
  it('encodes the offset commit key (v1) and value (v3) byte for byte', () => {
    expect(encodeOffsetCommitKey('g', 't', 2).toString('hex')).toBe('0001' + '000167' + '000174' + '00000002');
    const value = encodeOffsetCommitValue({ offset: 258, leaderEpoch: 5, metadata: 'm', commitTimestampMs: 1000, expireTimestampMs: -1 });
    expect(value.toString('hex')).toBe('0003' + '0000000000000102' + '00000005' + '00016d' + '00000000000003e8');
    expect(decodeOffsetCommitValue(value)).toEqual({ offset: 258, leaderEpoch: 5, metadata: 'm', commitTimestampMs: 1000, expireTimestampMs: -1 });
  });

  it('writes v1 when a commit carries its own expiry and reads every value version', () => {
    const v1 = encodeOffsetCommitValue({ offset: 1, leaderEpoch: 9, metadata: '', commitTimestampMs: 10, expireTimestampMs: 20 });
    expect(v1.readInt16BE(0)).toBe(1);
    expect(decodeOffsetCommitValue(v1)).toEqual({ offset: 1, leaderEpoch: -1, metadata: '', commitTimestampMs: 10, expireTimestampMs: 20 });
    const v0 = Buffer.from('0000' + '0000000000000007' + '0000' + '000000000000000b', 'hex');
    expect(decodeOffsetCommitValue(v0)).toEqual({ offset: 7, leaderEpoch: -1, metadata: '', commitTimestampMs: 11, expireTimestampMs: -1 });
    // v4 is flexible: compact string (length + 1) and a tagged-field section (here one unknown tag).
    const v4 = Buffer.from('0004' + '0000000000000007' + '00000003' + '0278' + '000000000000000b' + '01' + '05' + '02' + 'abcd', 'hex');
    expect(decodeOffsetCommitValue(v4)).toEqual({ offset: 7, leaderEpoch: 3, metadata: 'x', commitTimestampMs: 11, expireTimestampMs: -1 });
  });

  it('round-trips group metadata at v3 and v4 and reads v0', () => {
    const value: GroupMetadataValue = {
      protocolType: 'consumer',
      generationId: 4,
      protocolName: 'range',
      leaderId: 'm1',
      currentStateTimestampMs: 1_700_000_000_000,
      members: [
        { memberId: 'm1', groupInstanceId: 'pod-1', clientId: 'c', clientHost: '/10.0.0.1', rebalanceTimeoutMs: 300_000, sessionTimeoutMs: 45_000, subscription: Buffer.from([1, 2]), assignment: Buffer.from([3]) },
        { memberId: 'm2', groupInstanceId: null, clientId: 'c', clientHost: '/10.0.0.2', rebalanceTimeoutMs: 1, sessionTimeoutMs: 2, subscription: Buffer.alloc(0), assignment: Buffer.alloc(0) },
      ],
    };
    const v3 = encodeGroupMetadataValue(value);
    expect(v3.readInt16BE(0)).toBe(3);
    expect(decodeGroupMetadataValue(v3)).toEqual(value);
    const v4 = encodeGroupMetadataValue(value, 4);
    expect(v4.readInt16BE(0)).toBe(4);
    expect(v4.length).toBeLessThan(v3.length);
    expect(decodeGroupMetadataValue(v4)).toEqual(value);
    const empty: GroupMetadataValue = { protocolType: 'consumer', generationId: 2, protocolName: null, leaderId: null, currentStateTimestampMs: 5, members: [] };
    expect(decodeGroupMetadataValue(encodeGroupMetadataValue(empty))).toEqual(empty);

    const str = (s: string) => Buffer.concat([Buffer.from([0, s.length]), Buffer.from(s)]);
    const v0 = Buffer.concat([
      Buffer.from('0000', 'hex'), str('consumer'), Buffer.from('00000001', 'hex'), str('range'), str('m'),
      Buffer.from('00000001', 'hex'), str('m'), str('cid'), str('/h'), Buffer.from('00002710', 'hex'), Buffer.from('00000000', 'hex'), Buffer.from('00000000', 'hex'),
    ]);
    expect(decodeGroupMetadataValue(v0)).toEqual({
      protocolType: 'consumer', generationId: 1, protocolName: 'range', leaderId: 'm', currentStateTimestampMs: -1,
      members: [{ memberId: 'm', groupInstanceId: null, clientId: 'cid', clientHost: '/h', rebalanceTimeoutMs: 10_000, sessionTimeoutMs: 10_000, subscription: Buffer.alloc(0), assignment: Buffer.alloc(0) }],
    });
  });

  it('decodes keys and rejects truncated records', () => {
    expect(decodeGroupRecordKey(encodeGroupMetadataKey('grp'))).toEqual({ type: 'group', groupId: 'grp' });
    expect(decodeGroupRecordKey(encodeOffsetCommitKey('grp', 'topic', 7))).toEqual({ type: 'offset', groupId: 'grp', topic: 'topic', partition: 7 });
    expect(decodeGroupRecordKey(Buffer.from('0003', 'hex'))).toEqual({ type: 'unknown', version: 3 });
    expect(() => decodeOffsetCommitValue(Buffer.from('000300', 'hex'))).toThrow(GroupRecordFormatError);
    expect(() => decodeGroupMetadataValue(Buffer.from('0003000163', 'hex'))).toThrow(GroupRecordFormatError);
    expect(() => decodeGroupMetadataValue(Buffer.from('0003000163000000010000000000007fffffff', 'hex'))).toThrow(GroupRecordFormatError);
  });
});

describe('consumer protocol', () => {
  // The codec's own tests are @tributary/protocol's; here: what the coordinator gets from it.
  it('parses subscriptions, tolerating newer versions and answering null for garbage', () => {
    const sub = encodeSubscription({ topics: ['a', 'b'], userData: Buffer.from('u'), ownedPartitions: [{ topic: 'a', partitions: [0, 1] }] });
    expect(parseConsumerSubscription(sub)).toMatchObject({ version: 1, topics: ['a', 'b'], userData: Buffer.from('u'), ownedPartitions: [{ topic: 'a', partitions: [0, 1] }] });
    // A v3 subscription: generation id and rack id follow the owned partitions.
    const v3 = Buffer.concat([encodeSubscription({ topics: ['x'], ownedPartitions: [] }), Buffer.from('00000005' + '0002' + '7231', 'hex')]);
    v3.writeInt16BE(3, 0);
    expect(parseConsumerSubscription(v3)?.topics).toEqual(['x']);
    expect(parseConsumerSubscription(Buffer.from('00000000ff', 'hex'))).toBeNull();
    expect(parseConsumerSubscription(Buffer.alloc(0))).toBeNull();
  });
});
