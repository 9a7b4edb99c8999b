// Fixtures written byte by byte from the protocol specification, not produced by our encoder.
import { describe, expect, it } from 'vitest';
import { ApiKey, decodeRequestBody, decodeResponse, encodeRequest, encodeResponse, readRequestHeader } from '../src/index.ts';
import { decodeRecords, iterateBatches, verifyBatchCrc } from '../src/records.ts';
import { referenceCrc32c } from './reference-crc.ts';

// '#' starts a comment to the end of the line; '|' and whitespace only separate fields.
const hex = (s: string): Buffer =>
  Buffer.from(s.split('\n').map((line) => line.split('#')[0]).join('').replace(/[\s|]+/g, ''), 'hex');

describe('hand-verified request bytes', () => {
  it('ApiVersions v3 request as librdkafka sends it (header v2, compact strings, tagged sections)', () => {
    const frame = hex(`
      0012 0003 00000001            # api key 18, version 3, correlation id 1
      0007 72646b61666b61           # client id "rdkafka" (int16 length even in header v2)
      00                            # header tagged fields
      0b 6c696272646b61666b61       # compact string "librdkafka" (length + 1 = 11)
      06 322e332e30                 # compact string "2.3.0"
      00                            # body tagged fields`);
    const { header, bodyOffset, supported } = readRequestHeader(frame);
    expect(supported).toBe(true);
    expect(header).toEqual({ apiKey: 18, apiVersion: 3, correlationId: 1, clientId: 'rdkafka' });
    expect(bodyOffset).toBe(18);
    expect(decodeRequestBody(18, 3, frame, bodyOffset)).toEqual({ clientSoftwareName: 'librdkafka', clientSoftwareVersion: '2.3.0' });
    const encoded = Buffer.concat(encodeRequest(18, 3, 1, 'rdkafka', { clientSoftwareName: 'librdkafka', clientSoftwareVersion: '2.3.0' }));
    expect(encoded.readInt32BE(0)).toBe(frame.length);
    expect(encoded.subarray(4).toString('hex')).toBe(frame.toString('hex'));
  });

  it('ApiVersions v3 response keeps header v0 (no header tagged fields) while the body is flexible', () => {
    const frame = hex(`
      00000001                      # correlation id, header v0
      0000                          # error code
      02 0012 0000 0004             # compact array of 1: ApiVersions 0-4
      00                            # api entry tagged fields
      00000000                      # throttle time
      00                            # body tagged fields`);
    const { correlationId, body } = decodeResponse(18, 3, frame);
    expect(correlationId).toBe(1);
    expect(body.apiKeys).toEqual([{ apiKey: 18, minVersion: 0, maxVersion: 4 }]);
    expect(body.finalizedFeaturesEpoch).toBe(-1);
    const encoded = Buffer.concat(encodeResponse(ApiKey.ApiVersions, 3, 1, { errorCode: 0, apiKeys: [{ apiKey: 18, minVersion: 0, maxVersion: 4 }], throttleTimeMs: 0 }));
    expect(encoded.subarray(4).toString('hex')).toBe(frame.toString('hex'));
  });

  it('Metadata v0 request with a null-free topic list', () => {
    const frame = hex(`0003 0000 0000002a ffff | 00000002 0001 61 0002 6262`);
    const { header, bodyOffset } = readRequestHeader(frame);
    expect(header.clientId).toBeNull();
    expect(decodeRequestBody(3, 0, frame, bodyOffset)).toEqual({
      topics: [{ topicId: 'AAAAAAAAAAAAAAAAAAAAAA', name: 'a' }, { topicId: 'AAAAAAAAAAAAAAAAAAAAAA', name: 'bb' }],
      allowAutoTopicCreation: true,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    });
  });

  it('Produce v3 request with a hand-built record batch', () => {
    const record = hex('0e | 00 | 00 | 00 | 01 | 02 76 | 00'); // length 7, attrs, ts delta, offset delta, null key, value "v", no headers
    const afterCrc = hex(`
      0000                          # attributes: no compression, create time
      00000000                      # last offset delta
      0000018bcfe56800              # base timestamp 1700000000000
      0000018bcfe56800              # max timestamp
      ffffffffffffffff ffff ffffffff # producer id, epoch, base sequence: none
      00000001                      # one record`);
    const crc = referenceCrc32c(Buffer.concat([afterCrc, record]));
    const crcBytes = Buffer.alloc(4);
    crcBytes.writeUInt32BE(crc);
    const batch = Buffer.concat([
      hex('0000000000000000 | 00000039 | ffffffff | 02'), // base offset, batch length 57, leader epoch, magic
      crcBytes,
      afterCrc,
      record,
    ]);
    expect(batch.length).toBe(69);
    const frame = Buffer.concat([
      hex(`0000 0003 00000007 0001 63     # produce v3, correlation 7, client "c"
           ffff ffff 00007530            # null transactional id, acks -1, timeout 30000
           00000001 0001 74              # one topic "t"
           00000001 00000000 00000045    # one partition 0, 69 bytes of records`),
      batch,
    ]);
    const { bodyOffset } = readRequestHeader(frame);
    const body = decodeRequestBody(0, 3, frame, bodyOffset);
    expect(body.transactionalId).toBeNull();
    expect(body.acks).toBe(-1);
    expect(body.timeoutMs).toBe(30000);
    const records: Buffer = body.topicData[0].partitionData[0].records;
    expect(records.buffer).toBe(frame.buffer); // a view, not a copy
    expect(verifyBatchCrc(records, 0, records.length)).toBe(true);
    const [loc] = [...iterateBatches(records)];
    expect(loc!.sizeInBytes).toBe(69);
    const decoded = decodeRecords(records);
    expect(decoded.records).toEqual([{ offset: 0, timestamp: 1700000000000, key: null, value: Buffer.from('v'), headers: [] }]);
    const chunks = encodeRequest(0, 3, 7, 'c', body);
    expect(chunks).toContain(records); // spliced, not copied
    expect(Buffer.concat(chunks).subarray(4).toString('hex')).toBe(frame.toString('hex'));
  });

  it('ElectLeaders v2 request for every partition (unclean, null compact array) and a v1 response', () => {
    const request = hex(`
      002b 0002 00000007            # api key 43, version 2, correlation id 7
      0004 74726962                 # client id "trib"
      00                            # header tagged fields
      01                            # election type 1 (unclean)
      00                            # compact nullable array: null (all partitions)
      0000ea60                      # timeout 60000 ms
      00                            # body tagged fields`);
    const { header, bodyOffset } = readRequestHeader(request);
    expect(header).toEqual({ apiKey: 43, apiVersion: 2, correlationId: 7, clientId: 'trib' });
    const body = { electionType: 1, topicPartitions: null, timeoutMs: 60000 };
    expect(decodeRequestBody(43, 2, request, bodyOffset)).toEqual(body);
    expect(Buffer.concat(encodeRequest(43, 2, 7, 'trib', body)).subarray(4).toString('hex')).toBe(request.toString('hex'));

    const response = hex(`
      00000007                      # correlation id (header v0)
      00000000 0000                 # throttle 0, top-level error code 0
      00000001 0001 74              # 1 result, topic "t"
      00000001 00000000 0054 ffff   # 1 partition: 0, ELECTION_NOT_NEEDED (84), null message`);
    const results = { throttleTimeMs: 0, errorCode: 0, replicaElectionResults: [{ topic: 't', partitionResult: [{ partitionId: 0, errorCode: 84, errorMessage: null }] }] };
    expect(decodeResponse(ApiKey.ElectLeaders, 1, response).body).toEqual(results);
    expect(Buffer.concat(encodeResponse(ApiKey.ElectLeaders, 1, 7, results)).subarray(4).toString('hex')).toBe(response.toString('hex'));
  });

  it('AlterPartitionReassignments v0 request with a target and a cancel (null compact array)', () => {
    const request = hex(`
      002d 0000 00000007            # api key 45, version 0, correlation id 7
      0004 74726962                 # client id "trib"
      00                            # header tagged fields
      00007530                      # timeout 30000 ms
      02 02 74                      # 1 topic, compact string "t"
      03                            # 2 partitions
      00000000 04 00000001 00000002 00000003 00   # partition 0 -> [1, 2, 3], tagged fields
      00000001 00 00                # partition 1: null replicas (cancel), tagged fields
      00                            # topic tagged fields
      00                            # body tagged fields`);
    const { header, bodyOffset } = readRequestHeader(request);
    expect(header).toEqual({ apiKey: 45, apiVersion: 0, correlationId: 7, clientId: 'trib' });
    const body = { timeoutMs: 30000, topics: [{ name: 't', partitions: [{ partitionIndex: 0, replicas: [1, 2, 3] }, { partitionIndex: 1, replicas: null }] }] };
    expect(decodeRequestBody(45, 0, request, bodyOffset)).toEqual(body);
    expect(Buffer.concat(encodeRequest(45, 0, 7, 'trib', body)).subarray(4).toString('hex')).toBe(request.toString('hex'));
  });

  it('ListPartitionReassignments v0 request for everything (null topics) and a response (header v1)', () => {
    const request = hex(`
      002e 0000 00000007            # api key 46, version 0, correlation id 7
      0004 74726962                 # client id "trib"
      00                            # header tagged fields
      0000ea60                      # timeout 60000 ms
      00                            # compact nullable array: null (every reassignment)
      00                            # body tagged fields`);
    const { bodyOffset } = readRequestHeader(request);
    const body = { timeoutMs: 60000, topics: null };
    expect(decodeRequestBody(46, 0, request, bodyOffset)).toEqual(body);
    expect(Buffer.concat(encodeRequest(46, 0, 7, 'trib', body)).subarray(4).toString('hex')).toBe(request.toString('hex'));

    const response = hex(`
      00000007 00                   # correlation id, header tagged fields (flexible response header v1)
      00000000 0000 00              # throttle 0, error code 0, null error message
      02 02 74                      # 1 topic "t"
      02 00000000                   # 1 partition: 0
      04 00000002 00000003 00000004 # replicas [2, 3, 4]
      02 00000004                   # adding [4]
      02 00000001                   # removing [1]
      00 00 00                      # partition, topic and body tagged fields`);
    const result = { throttleTimeMs: 0, errorCode: 0, errorMessage: null, topics: [{ name: 't', partitions: [{ partitionIndex: 0, replicas: [2, 3, 4], addingReplicas: [4], removingReplicas: [1] }] }] };
    expect(decodeResponse(ApiKey.ListPartitionReassignments, 0, response).body).toEqual(result);
    expect(Buffer.concat(encodeResponse(ApiKey.ListPartitionReassignments, 0, 7, result)).subarray(4).toString('hex')).toBe(response.toString('hex'));
  });

  it('OffsetForLeaderEpoch v4 request from a consumer and its response (flexible: compact arrays, tagged sections)', () => {
    const request = hex(`
      0017 0004 00000003            # api key 23, version 4, correlation id 3
      0004 74726962                 # client id "trib"
      00                            # header tagged fields
      ffffffff                      # replica id -1 (a consumer)
      02 02 74                      # 1 topic: compact string "t"
      02 00000000                   # 1 partition: 0
      00000005 00000004             # current leader epoch 5, leader epoch 4
      00 00 00                      # partition, topic and body tagged fields`);
    const { header, bodyOffset } = readRequestHeader(request);
    expect(header).toEqual({ apiKey: 23, apiVersion: 4, correlationId: 3, clientId: 'trib' });
    const body = { replicaId: -1, topics: [{ topic: 't', partitions: [{ partition: 0, currentLeaderEpoch: 5, leaderEpoch: 4 }] }] };
    expect(decodeRequestBody(23, 4, request, bodyOffset)).toEqual(body);
    expect(Buffer.concat(encodeRequest(23, 4, 3, 'trib', body)).subarray(4).toString('hex')).toBe(request.toString('hex'));

    const response = hex(`
      00000003 00                   # correlation id, header v1 tagged fields
      00000000                      # throttle time 0
      02 02 74                      # 1 topic "t"
      02 0000 00000000              # 1 partition: error 0, partition 0
      00000004 000000000000002a     # leader epoch 4 ends at offset 42
      00 00 00                      # partition, topic and body tagged fields`);
    const answer = { throttleTimeMs: 0, topics: [{ topic: 't', partitions: [{ errorCode: 0, partition: 0, leaderEpoch: 4, endOffset: 42 }] }] };
    expect(decodeResponse(ApiKey.OffsetForLeaderEpoch, 4, response).body).toEqual(answer);
    expect(Buffer.concat(encodeResponse(ApiKey.OffsetForLeaderEpoch, 4, 3, answer)).subarray(4).toString('hex')).toBe(response.toString('hex'));
  });

  it('DescribeLogDirs v0 request for every partition (null array) and v1 response (no top-level error, no volume sizes)', () => {
    const request = hex(`
      0023 0000 00000003            # api key 35, version 0, correlation id 3
      0004 74726962                 # client id "trib"
      ffffffff                      # topics: null (every partition)`);
    const { header, bodyOffset } = readRequestHeader(request);
    expect(header).toEqual({ apiKey: 35, apiVersion: 0, correlationId: 3, clientId: 'trib' });
    expect(decodeRequestBody(35, 0, request, bodyOffset)).toEqual({ topics: null });
    expect(Buffer.concat(encodeRequest(35, 0, 3, 'trib', { topics: null })).subarray(4).toString('hex')).toBe(request.toString('hex'));

    const response = hex(`
      00000003                      # correlation id (header v0)
      00000000                      # throttle 0 (no top-level error code before v3)
      00000001 0000 0002 2f64       # 1 log dir: error 0, "/d"
      00000001 0001 74              # 1 topic "t"
      00000001 00000002             # 1 partition: 2
      0000000000000400              # size 1024 bytes
      0000000000000003 00           # offset lag 3, not a future replica`);
    const body = {
      throttleTimeMs: 0,
      errorCode: 0,
      results: [{ errorCode: 0, logDir: '/d', topics: [{ name: 't', partitions: [{ partitionIndex: 2, partitionSize: 1024, offsetLag: 3, isFutureKey: false }] }], totalBytes: -1, usableBytes: -1 }],
    };
    expect(decodeResponse(ApiKey.DescribeLogDirs, 1, response).body).toEqual(body);
    // Volume sizes are v4 fields: an old client's answer drops them rather than failing.
    const withSizes = { ...body, results: [{ ...body.results[0]!, totalBytes: 4096, usableBytes: 2048 }] };
    expect(Buffer.concat(encodeResponse(ApiKey.DescribeLogDirs, 1, 3, withSizes)).subarray(4).toString('hex')).toBe(response.toString('hex'));
  });

  it('DescribeLogDirs v4 request naming partitions and its response (flexible, volume sizes)', () => {
    const request = hex(`
      0023 0004 00000005            # api key 35, version 4, correlation id 5
      0004 74726962                 # client id "trib" (int16 length even in header v2)
      00                            # header tagged fields
      02 02 74                      # 1 topic: compact string "t"
      03 00000000 00000001          # partitions [0, 1]
      00                            # topic tagged fields
      00                            # body tagged fields`);
    const { header, bodyOffset } = readRequestHeader(request);
    expect(header).toEqual({ apiKey: 35, apiVersion: 4, correlationId: 5, clientId: 'trib' });
    const body = { topics: [{ topic: 't', partitions: [0, 1] }] };
    expect(decodeRequestBody(35, 4, request, bodyOffset)).toEqual(body);
    expect(Buffer.concat(encodeRequest(35, 4, 5, 'trib', body)).subarray(4).toString('hex')).toBe(request.toString('hex'));

    const response = hex(`
      00000005 00                   # correlation id, header tagged fields (header v1)
      00000000 0000                 # throttle 0, top-level error 0
      02 0000 03 2f64               # 1 log dir: error 0, compact string "/d"
      02 02 74                      # 1 topic "t"
      02 00000000                   # 1 partition: 0
      0000000000000400              # size 1024 bytes
      0000000000000000 00 00        # offset lag 0, not future, partition tagged fields
      00                            # topic tagged fields
      0000000040000000              # total bytes 1 GiB
      0000000020000000              # usable bytes 512 MiB
      00                            # result tagged fields
      00                            # body tagged fields`);
    const results = {
      throttleTimeMs: 0,
      errorCode: 0,
      results: [{ errorCode: 0, logDir: '/d', topics: [{ name: 't', partitions: [{ partitionIndex: 0, partitionSize: 1024, offsetLag: 0, isFutureKey: false }] }], totalBytes: 1073741824, usableBytes: 536870912 }],
    };
    expect(decodeResponse(ApiKey.DescribeLogDirs, 4, response).body).toEqual(results);
    expect(Buffer.concat(encodeResponse(ApiKey.DescribeLogDirs, 4, 5, results)).subarray(4).toString('hex')).toBe(response.toString('hex'));
  });

  it('DescribeQuorum v1 response (flexible from v0: header v1, compact arrays, fetch timestamps from v1)', () => {
    const frame = hex(`
      00000009                      # correlation id
      00                            # header v1 tagged fields
      0000                          # error code
      02                            # compact array of 1 topic
      13 5f5f636c75737465725f6d65746164617461  # compact string "__cluster_metadata" (18 + 1)
      02                            # compact array of 1 partition
      00000000 0000                 # partition 0, error code 0
      00000002 00000007             # leader 2, leader epoch 7
      000000000000002a              # high watermark 42
      02                            # 1 voter
      00000002 000000000000002a     # replica 2, log end offset 42
      0000018bcfe56800              # last fetch timestamp 1700000000000
      0000018bcfe56800              # last caught-up timestamp 1700000000000
      00                            # voter tagged fields
      01                            # 0 observers
      00 00 00                      # partition, topic and body tagged fields`);
    const voter = { replicaId: 2, replicaDirectoryId: 'AAAAAAAAAAAAAAAAAAAAAA', logEndOffset: 42, lastFetchTimestamp: 1_700_000_000_000, lastCaughtUpTimestamp: 1_700_000_000_000 };
    const partition = { partitionIndex: 0, errorCode: 0, errorMessage: null, leaderId: 2, leaderEpoch: 7, highWatermark: 42, currentVoters: [voter], observers: [] };
    const body = { errorCode: 0, errorMessage: null, topics: [{ topicName: '__cluster_metadata', partitions: [partition] }], nodes: [] };
    const { correlationId, body: decoded } = decodeResponse(ApiKey.DescribeQuorum, 1, frame);
    expect(correlationId).toBe(9);
    expect(decoded).toEqual(body);
    expect(Buffer.concat(encodeResponse(ApiKey.DescribeQuorum, 1, 9, body)).subarray(4).toString('hex')).toBe(frame.toString('hex'));
  });
});
