import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  ConfigResourceType,
  decodeRecord,
  decodeRecordBatch,
  encodeRecord,
  encodeRecordBatch,
  RECORD_TYPE_CODES,
  RECORD_VERSIONS,
  recordVersion,
  RecordDecodeError,
  type MetadataRecord,
} from '../src/index.ts';
import { bytesToUuid, isValidUuid, uuidToBytes, ZERO_UUID } from '../src/uuid.ts';

const TOPIC_ID = 'q1VlZQ3fT7a9y8uKdG_3Bw';
const INCARNATION = 'AAECAwQFBgcICQoLDA0ODw';

/** One of every record type, with edge values (negative ids, nulls, empty lists, unicode). */
export const samples: Record<string, MetadataRecord> = {
  topic: { type: 'topic', name: 'orders.v1', topicId: TOPIC_ID },
  partition: { type: 'partition', topicId: TOPIC_ID, partitionId: 7, replicas: [3, 1, 2], isr: [3, 1], leader: 3, leaderEpoch: 12, partitionEpoch: 40 },
  'partition-leaderless': { type: 'partition', topicId: TOPIC_ID, partitionId: 0, replicas: [1], isr: [1], leader: -1, leaderEpoch: 0, partitionEpoch: 0 },
  'partition-change-leader': { type: 'partition-change', topicId: TOPIC_ID, partitionId: 2, leader: 5, isr: null, replicas: null },
  'partition-change-isr': { type: 'partition-change', topicId: TOPIC_ID, partitionId: 2, leader: -2, isr: [1, 2], replicas: null },
  'partition-change-all': { type: 'partition-change', topicId: TOPIC_ID, partitionId: 2147483647, leader: -1, isr: [4], replicas: [4, 5, 6] },
  'partition-reassigning': {
    type: 'partition',
    topicId: TOPIC_ID,
    partitionId: 1,
    replicas: [4, 5, 1, 2],
    isr: [1, 2],
    leader: 1,
    leaderEpoch: 3,
    partitionEpoch: 9,
    addingReplicas: [4, 5],
    removingReplicas: [1, 2],
  },
  'partition-change-reassign': { type: 'partition-change', topicId: TOPIC_ID, partitionId: 1, leader: -2, isr: null, replicas: [4, 1, 2], addingReplicas: [4], removingReplicas: [2] },
  'partition-change-complete': { type: 'partition-change', topicId: TOPIC_ID, partitionId: 1, leader: 4, isr: [4, 1], replicas: [4, 1], addingReplicas: [], removingReplicas: [] },
  'partition-change-adding-only': { type: 'partition-change', topicId: TOPIC_ID, partitionId: 1, leader: -2, isr: null, replicas: null, addingReplicas: [3], removingReplicas: null },
  'register-broker': {
    type: 'register-broker',
    brokerId: 1001,
    incarnationId: INCARNATION,
    brokerEpoch: 2 ** 40,
    listeners: [
      { name: 'PLAINTEXT', host: 'b1.example.com', port: 9092 },
      { name: 'INTERNAL', host: '10.0.0.1', port: 65535 },
    ],
    rack: 'eu-west-1a',
    fenced: true,
    inControlledShutdown: false,
  },
  'register-broker-norack': {
    type: 'register-broker',
    brokerId: 0,
    incarnationId: INCARNATION,
    brokerEpoch: 1,
    listeners: [],
    rack: null,
    fenced: false,
    inControlledShutdown: true,
  },
  'unregister-broker': { type: 'unregister-broker', brokerId: 3, brokerEpoch: 17 },
  'fence-broker': { type: 'fence-broker', brokerId: 3, brokerEpoch: 17 },
  'unfence-broker': { type: 'unfence-broker', brokerId: 3, brokerEpoch: 17 },
  'broker-registration-change': { type: 'broker-registration-change', brokerId: 3, brokerEpoch: 17, inControlledShutdown: true },
  'config-topic': { type: 'config', resourceType: ConfigResourceType.TOPIC, resourceName: 'orders.v1', name: 'retention.ms', value: '86400000' },
  'config-delete': { type: 'config', resourceType: ConfigResourceType.BROKER, resourceName: '', name: 'log.retention.ms', value: null },
  'config-unicode': { type: 'config', resourceType: ConfigResourceType.BROKER, resourceName: '2', name: 'x', value: 'ümlaut ✓ 𝄞' },
  'producer-ids': { type: 'producer-ids', brokerId: 2, brokerEpoch: 9, nextProducerId: 2 ** 53 - 1 },
  'producer-ids-snapshot': { type: 'producer-ids', brokerId: -1, brokerEpoch: -1, nextProducerId: 1000 },
  'feature-level': { type: 'feature-level', name: 'metadata.version', featureLevel: 32767 },
  'remove-topic': { type: 'remove-topic', topicId: TOPIC_ID },
  'next-broker-epoch': { type: 'next-broker-epoch', nextBrokerEpoch: 123456 },
};

const hex = (b: Uint8Array): string => [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
const unhex = (s: string): Uint8Array => new Uint8Array((s.match(/../g) ?? []).map((h) => parseInt(h, 16)));

const FIXTURE = new URL('./fixtures/records.hex', import.meta.url);

describe('uuid text', () => {
  it('round-trips 16 bytes through the 22-character base64url form', () => {
    const bytes = new Uint8Array(16).map((_, i) => i * 17);
    const text = bytesToUuid(bytes);
    expect(text).toHaveLength(22);
    expect(uuidToBytes(text)).toEqual(bytes);
    expect(bytesToUuid(new Uint8Array(16))).toBe(ZERO_UUID);
  });

  it('rejects wrong lengths, foreign characters and non-canonical tails', () => {
    expect(isValidUuid('abc')).toBe(false);
    expect(isValidUuid('AAAAAAAAAAAAAAAAAAAAA+')).toBe(false);
    expect(isValidUuid('AAAAAAAAAAAAAAAAAAAAAB')).toBe(false); // the last 4 bits must be zero
    expect(isValidUuid('AAAAAAAAAAAAAAAAAAAAAQ')).toBe(true);
  });
});

describe('record codec', () => {
  it('covers every record type', () => {
    const covered = new Set(Object.values(samples).map((r) => r.type));
    expect([...covered].sort()).toEqual(Object.keys(RECORD_TYPE_CODES).sort());
  });

  for (const [name, record] of Object.entries(samples)) {
    it(`round-trips ${name}`, () => {
      const bytes = encodeRecord(record);
      expect(bytes[0]).toBe(RECORD_TYPE_CODES[record.type]);
      expect(bytes[1]).toBe(recordVersion(record));
      expect(bytes[1]).toBeLessThanOrEqual(RECORD_VERSIONS[record.type]);
      expect(decodeRecord(bytes)).toStrictEqual(record);
    });
  }

  it('writes reassignment fields at version 1 and everything else at the version-0 bytes older nodes read', () => {
    expect(recordVersion(samples['partition']!)).toBe(0);
    expect(recordVersion(samples['partition-reassigning']!)).toBe(1);
    expect(recordVersion(samples['partition-change-isr']!)).toBe(0);
    expect(recordVersion(samples['partition-change-complete']!)).toBe(1);
    // Empty reassignment lists in a partition record carry nothing version 0 cannot: written as version 0.
    const empty = { ...samples['partition'], addingReplicas: [], removingReplicas: [] } as MetadataRecord;
    expect(encodeRecord(empty)).toEqual(encodeRecord(samples['partition']!));
  });

  it('refuses version-1 partition records without reassignment fields (they would not re-encode to the same bytes)', () => {
    const v0 = encodeRecord(samples['partition']!);
    const v1 = new Uint8Array([...v0, 0, 0]);
    v1[1] = 1;
    expect(() => decodeRecord(v1)).toThrow(/version 1 without a reassignment/);
    const change = encodeRecord(samples['partition-change-isr']!);
    const changeV1 = new Uint8Array([...change, 0, 0]);
    changeV1[1] = 1;
    expect(() => decodeRecord(changeV1)).toThrow(/version 1 without reassignment fields/);
    // A version-0 record with the version-1 fields appended is trailing garbage.
    expect(() => decodeRecord(new Uint8Array([...v0, 1, 2, 1, 2]))).toThrow(RecordDecodeError);
  });

  it('matches the byte fixtures (UPDATE_GOLDEN=1 rewrites them)', () => {
    const actual = Object.entries(samples)
      .map(([name, record]) => `${name} ${hex(encodeRecord(record))}`)
      .join('\n') + '\n';
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(FIXTURE, actual);
    const expected = readFileSync(FIXTURE, 'utf8');
    expect(actual).toBe(expected);
    // And the fixtures decode to the samples (old bytes stay readable).
    for (const line of expected.trim().split('\n')) {
      const [name, bytes] = line.split(' ');
      expect(decodeRecord(unhex(bytes!))).toEqual(samples[name!]);
    }
  });

  it('is compact: a leader change is a few bytes beyond its topic id', () => {
    expect(encodeRecord(samples['partition-change-leader']!).length).toBe(2 + 16 + 1 + 1 + 1 + 1);
  });

  it('round-trips batches, and the empty batch', () => {
    const records = Object.values(samples);
    expect(decodeRecordBatch(encodeRecordBatch(records))).toEqual(records);
    expect(decodeRecordBatch(encodeRecordBatch([]))).toEqual([]);
  });

  it('refuses values the format cannot carry (caller bugs) with an assertion', () => {
    expect(() => encodeRecord({ ...samples['topic'], topicId: 'not-a-uuid' } as MetadataRecord)).toThrow(/uuid/);
    expect(() => encodeRecord({ ...samples['partition'], leaderEpoch: -1 } as MetadataRecord)).toThrow(/leaderEpoch/);
    expect(() => encodeRecord({ ...samples['partition'], replicas: [2 ** 31] } as MetadataRecord)).toThrow(/int32/);
    expect(() => encodeRecord({ ...samples['partition'], leaderEpoch: 1.5 } as MetadataRecord)).toThrow(/leaderEpoch/);
  });
});

describe('malformed bytes', () => {
  const decodeError = (bytes: Uint8Array): RecordDecodeError => {
    try {
      decodeRecord(bytes);
    } catch (e) {
      expect(e).toBeInstanceOf(RecordDecodeError);
      return e as RecordDecodeError;
    }
    throw new Error(`decoded ${hex(bytes)}`);
  };

  it('every truncation of every sample is a RecordDecodeError, never a wrong record', () => {
    for (const record of Object.values(samples)) {
      const bytes = encodeRecord(record);
      for (let n = 0; n < bytes.length; n++) {
        const e = decodeError(bytes.subarray(0, n));
        expect(e.message).toMatch(/truncated|not in minimal form|exceeds/);
      }
    }
  });

  it('names an unknown type, an unknown version and trailing bytes', () => {
    expect(decodeError(new Uint8Array([99, 0])).message).toBe('metadata record: record type: unknown record type code 99 (at byte 0)');
    const topic = encodeRecord(samples['topic']!);
    const v1 = topic.slice();
    v1[1] = 1;
    expect(decodeError(v1).message).toBe('metadata record: topic version: unknown version 1 (this node reads 0..0) (at byte 1)');
    const trailing = new Uint8Array([...topic, 0]);
    expect(decodeError(trailing).message).toMatch(/1 trailing byte\(s\) after the record/);
    expect(decodeError(new Uint8Array()).message).toMatch(/record type: truncated/);
  });

  it('rejects a bad boolean, bad UTF-8, a bad resource type, overlong and oversized varints', () => {
    const rec = encodeRecord(samples['broker-registration-change']!);
    const badBool = rec.slice();
    badBool[badBool.length - 1] = 2;
    expect(decodeError(badBool).message).toMatch(/inControlledShutdown: boolean byte is 2/);

    // topic name of length 1 holding 0xff
    expect(decodeError(new Uint8Array([2, 0, 1, 0xff, ...new Uint8Array(16)])).message).toMatch(/topic.name: invalid UTF-8/);
    expect(decodeError(new Uint8Array([4, 0, 3, 0, 0, 0])).message).toMatch(/config.resourceType: not TOPIC/);
    // next-broker-epoch with a non-minimal varint (0x81 0x00)
    expect(decodeError(new Uint8Array([128, 0, 0x81, 0x00])).message).toMatch(/not in minimal form/);
    // nine continuation bytes
    expect(decodeError(new Uint8Array([128, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])).message).toMatch(/longer than 8 bytes/);
    // 2^53 as a varint: exceeds the safe range
    expect(decodeError(new Uint8Array([128, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10])).message).toMatch(/exceeds 2\^53 - 1/);
  });

  it('rejects an int32 out of range and a port above 65535', () => {
    // fence-broker with brokerId zigzag 2^32 (= 2147483648 * 2): outside int32
    const big = [0x80, 0x80, 0x80, 0x80, 0x20]; // 2^33 → zigzag decodes to 2^32
    expect(decodeError(new Uint8Array([7, 0, ...big, 1])).message).toMatch(/fence-broker.brokerId: 4294967296 is outside the int32 range/);
    const reg = encodeRecord({ ...samples['register-broker-norack']!, listeners: [{ name: 'a', host: 'b', port: 65535 }] } as MetadataRecord);
    // port 65535 is 0xff 0xff 0x03; make it 0xff 0xff 0x04 (= 127 + 127 * 128 + 4 * 16384 = 81919)
    const at = reg.indexOf(0x03, 2 + 1 + 16 + 1 + 1 + 2 + 2 + 2);
    const bad = reg.slice();
    bad[at] = 0x04;
    expect(decodeError(bad).message).toMatch(/port: 81919 exceeds 65535/);
  });

  it('rejects an array count larger than the bytes left instead of allocating it', () => {
    // partition with replicas count 2^40
    const bytes = new Uint8Array([3, 0, ...new Uint8Array(16), 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20]);
    expect(decodeError(bytes).message).toMatch(/partition.replicas: count 1099511627776 exceeds/);
  });

  it('batch errors name the record and refuse garbage framing', () => {
    const batch = encodeRecordBatch([samples['topic']!, samples['remove-topic']!]);
    expect(() => decodeRecordBatch(batch.subarray(0, batch.length - 1))).toThrow(RecordDecodeError);
    expect(() => decodeRecordBatch(new Uint8Array([1, 0]))).toThrow(/unknown batch format 1/);
    expect(() => decodeRecordBatch(new Uint8Array([0, 100]))).toThrow(/100 records cannot fit/);
    expect(() => decodeRecordBatch(new Uint8Array([...batch, 0]))).toThrow(/1 trailing byte\(s\) after 2 record\(s\)/);
    // A record whose length prefix covers one byte too many: the record has a trailing byte.
    const one = encodeRecord(samples['remove-topic']!);
    expect(() => decodeRecordBatch(new Uint8Array([0, 1, one.length + 1, ...one, 0]))).toThrow(/record 0: remove-topic: 1 trailing byte/);
  });

  it('random garbage never decodes into something that re-encodes differently', () => {
    let state = 12345;
    const next = (): number => (state = (Math.imul(state, 1103515245) + 12345) >>> 0);
    for (let i = 0; i < 5000; i++) {
      const length = next() % 40;
      const bytes = new Uint8Array(length).map(() => next() & 0xff);
      if (length > 0) bytes[0] = [0, 1, 2, 3, 4, 5, 7, 8, 9, 12, 15, 17, 128][next() % 13]!;
      if (length > 1) bytes[1] = 0;
      let record: MetadataRecord | null = null;
      try {
        record = decodeRecord(bytes);
      } catch (e) {
        expect(e).toBeInstanceOf(RecordDecodeError);
      }
      // Canonical form: whatever decodes re-encodes to the same bytes (minimal varints, no slack).
      if (record !== null) expect(hex(encodeRecord(record))).toBe(hex(bytes));
    }
  });
});
