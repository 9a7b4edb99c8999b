// Headers, the ApiVersions special cases, defaults, strictness, malformed input and random round trips.
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { generateTypes, TYPES_PATH } from '../bin/generate-types.ts';
import { allApiDefs } from '../src/apis.ts';
import { defaultFactory } from '../src/codec.ts';
import { inRange, propertyName, type FieldDef } from '../src/dsl.ts';
import {
  ApiKey, ErrorCode, ProtocolError, decodeRequestBody, decodeResponse, encodeRequest, encodeResponse, errorName,
  readRequestHeader, requestHeaderVersion, responseHeaderVersion, schemaVersionRange,
} from '../src/index.ts';
import { sampleBody } from './samples.ts';

function frameOf(chunks: Buffer[]): Buffer {
  return Buffer.concat(chunks).subarray(4);
}

function parseRequest(frame: Buffer): unknown {
  const { header, bodyOffset } = readRequestHeader(frame);
  return decodeRequestBody(header.apiKey, header.apiVersion, frame, bodyOffset);
}

function expectProtocolError(fn: () => unknown, code: number = ErrorCode.INVALID_REQUEST): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(ProtocolError);
  expect((caught as ProtocolError).errorCode).toBe(code);
}

describe('registry', () => {
  it('ApiKey matches the schemas', () => {
    const defs = allApiDefs();
    expect(Object.keys(ApiKey).length).toBe(defs.length);
    for (const def of defs) expect(ApiKey[def.name as keyof typeof ApiKey]).toBe(def.key);
    expect(schemaVersionRange(ApiKey.Fetch)).toEqual({ min: 0, max: 17 });
    expect(schemaVersionRange(999)).toBeUndefined();
  });

  it('names error codes', () => {
    expect(errorName(0)).toBe('NONE');
    expect(errorName(3)).toBe('UNKNOWN_TOPIC_OR_PARTITION');
    expect(errorName(120)).toBe('TRANSACTION_ABORTABLE');
    expect(errorName(-1)).toBe('UNKNOWN_SERVER_ERROR');
    expect(errorName(9999)).toBe('UNKNOWN_ERROR_CODE_9999');
  });

  it('the generated types are up to date (node bin/generate-types.ts)', () => {
    expect(readFileSync(TYPES_PATH, 'utf8')).toBe(generateTypes());
  });
});

describe('headers', () => {
  it('chooses header versions from flexibility; ApiVersions responses always use v0', () => {
    expect(requestHeaderVersion(ApiKey.Fetch, 11)).toBe(1);
    expect(requestHeaderVersion(ApiKey.Fetch, 12)).toBe(2);
    expect(responseHeaderVersion(ApiKey.Fetch, 12)).toBe(1);
    expect(responseHeaderVersion(ApiKey.Metadata, 8)).toBe(0);
    expect(requestHeaderVersion(ApiKey.ApiVersions, 3)).toBe(2);
    expect(requestHeaderVersion(ApiKey.ApiVersions, 9)).toBe(2);
    expect(responseHeaderVersion(ApiKey.ApiVersions, 3)).toBe(0);
    expect(responseHeaderVersion(ApiKey.ApiVersions, 4)).toBe(0);
    expect(requestHeaderVersion(ApiKey.OffsetDelete, 0)).toBe(1);
    expect(requestHeaderVersion(1234, 0)).toBe(1);
  });

  it('parses an ApiVersions request newer than we support with header v2', () => {
    const frame = Buffer.from('0012' + '0063' + '0000002a' + '0003616263' + '01' + '05' + '0102' + '03aaaa', 'hex'); // v99, tagged field 5 in the header
    const { header, bodyOffset, supported } = readRequestHeader(frame);
    expect(supported).toBe(false);
    expect(header).toEqual({ apiKey: 18, apiVersion: 99, correlationId: 42, clientId: 'abc' });
    expect(bodyOffset).toBe(frame.length - 3);
    expectProtocolError(() => decodeRequestBody(18, 99, frame, bodyOffset), ErrorCode.UNSUPPORTED_VERSION);
    // The answer: a v0 body with UNSUPPORTED_VERSION, header v0.
    const answer = frameOf(encodeResponse(ApiKey.ApiVersions, 0, 42, { errorCode: ErrorCode.UNSUPPORTED_VERSION, apiKeys: [{ apiKey: 18, minVersion: 0, maxVersion: 4 }] }));
    expect(answer.toString('hex')).toBe('0000002a' + '0023' + '00000001' + '0012' + '0000' + '0004');
  });

  it('returns apiKey, version and correlation id for unknown APIs and versions without throwing', () => {
    const unknownApi = Buffer.from('0400000100000007ffff', 'hex');
    expect(readRequestHeader(unknownApi)).toMatchObject({ header: { apiKey: 1024, apiVersion: 1, correlationId: 7, clientId: null }, supported: false });
    const garbageClientId = Buffer.from('000100630000000977', 'hex'); // Fetch v99, truncated client id
    expect(readRequestHeader(garbageClientId)).toMatchObject({ header: { apiKey: 1, apiVersion: 99, correlationId: 9, clientId: null }, supported: false });
    expectProtocolError(() => readRequestHeader(Buffer.from('0001000c0000', 'hex')));
  });
});

describe('defaults and strictness', () => {
  it('fills fields absent in old versions with defaults', () => {
    const frame = frameOf(encodeRequest(ApiKey.Fetch, 0, 1, null, { replicaId: -1, maxWaitMs: 500, minBytes: 1, topics: [{ topic: 't', partitions: [{ partition: 0, fetchOffset: 10, partitionMaxBytes: 1000 }] }] }));
    const body = parseRequest(frame) as Record<string, unknown>;
    expect(body).toMatchObject({ maxBytes: 0x7fffffff, isolationLevel: 0, sessionId: 0, sessionEpoch: -1, forgottenTopicsData: [], rackId: '', clusterId: null, replicaState: { replicaId: -1, replicaEpoch: -1 } });
    expect((body.topics as { partitions: unknown[] }[])[0]!.partitions[0]).toEqual({ partition: 0, currentLeaderEpoch: -1, fetchOffset: 10, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 1000, replicaDirectoryId: 'AAAAAAAAAAAAAAAAAAAAAA' });
  });

  it('requests refuse a non-default value in a non-ignorable field the version lacks; responses drop it', () => {
    expectProtocolError(() => encodeRequest(ApiKey.Fetch, 6, 1, null, { maxWaitMs: 1, minBytes: 1, topics: [], forgottenTopicsData: [{ topic: 't', partitions: [1] }] }), ErrorCode.UNSUPPORTED_VERSION);
    expect(() => encodeRequest(ApiKey.Fetch, 6, 1, null, { maxWaitMs: 1, minBytes: 1, topics: [], rackId: 'r' })).not.toThrow();
    expect(() => encodeResponse(ApiKey.Fetch, 0, 1, { sessionId: 5, responses: [] })).not.toThrow();
  });

  it('refuses null in a non-nullable field', () => {
    expectProtocolError(() => encodeResponse(ApiKey.Metadata, 1, 1, { brokers: null, topics: [] }));
  });

  it('skips unknown tagged fields and reads known ones', () => {
    // Heartbeat v4 request: group "g", generation 1, member "m", null instance id, tags: 7 (unknown), 9 (unknown).
    const frame = Buffer.from('000c' + '0004' + '00000001' + 'ffff' + '00' + '0267' + '00000001' + '026d' + '00' + '02' + '0703aabbcc' + '0900', 'hex');
    expect(parseRequest(frame)).toEqual({ groupId: 'g', generationId: 1, memberId: 'm', groupInstanceId: null });
  });
});

describe('malformed input', () => {
  const samples: Buffer[] = [];
  for (const [key, version] of [[0, 3], [0, 11], [1, 4], [1, 17], [3, 0], [3, 12], [18, 3], [11, 9], [8, 9], [19, 7], [44, 1], [32, 4]] as const) {
    const def = allApiDefs().find((d) => d.key === key)!;
    samples.push(frameOf(encodeRequest(key, version, 5, 'cli', sampleBody(def, version, 'request'))));
  }

  it('throws ProtocolError when truncated at every byte', () => {
    for (const frame of samples) {
      expect(() => parseRequest(frame)).not.toThrow();
      for (let cut = 0; cut < frame.length; cut++) expectProtocolError(() => parseRequest(frame.subarray(0, cut)));
    }
  });

  it('rejects trailing bytes', () => {
    expectProtocolError(() => parseRequest(Buffer.concat([samples[0]!, Buffer.from([0])])));
  });

  it('rejects negative and huge lengths and bad varints', () => {
    // DeleteGroups v0: array of strings
    const base = '002a0000000000010000';
    expectProtocolError(() => parseRequest(Buffer.from(base + 'fffffffe', 'hex')));
    expectProtocolError(() => parseRequest(Buffer.from(base + 'ffffffff', 'hex'))); // null, not nullable
    expectProtocolError(() => parseRequest(Buffer.from(base + '7fffffff', 'hex')));
    expectProtocolError(() => parseRequest(Buffer.from(base + '00000001' + '7fff', 'hex')));
    expectProtocolError(() => parseRequest(Buffer.from(base + '00000001' + 'fffe', 'hex')));
    // DeleteGroups v2 (flexible): compact array with an over-long varint, then a huge count.
    const flex = '002a000200000001000000';
    expectProtocolError(() => parseRequest(Buffer.from(flex + 'ffffffffffff01', 'hex')));
    expectProtocolError(() => parseRequest(Buffer.from(flex + 'ffffffff0f', 'hex')));
    expectProtocolError(() => parseRequest(Buffer.from(flex + '02' + 'ff', 'hex')));
    // Tagged field longer than the frame.
    expectProtocolError(() => parseRequest(Buffer.from(flex + '01' + '01' + '05' + '20', 'hex')));
  });

  it('decodes invalid UTF-8 with replacement characters, as the Java broker does', () => {
    const frame = Buffer.from('002a0000000000010000' + '00000001' + '0003' + '61ff62', 'hex');
    expect(parseRequest(frame)).toEqual({ groupsNames: ['a\ufffdb'] });
  });

  it('never throws anything but ProtocolError on random mutations', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: samples.length - 1 }), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }), (i, edits) => {
        const frame = Buffer.from(samples[i]!);
        for (const [pos, byte] of edits) frame[pos % frame.length] = byte;
        try {
          parseRequest(frame);
        } catch (e) {
          if (!(e instanceof ProtocolError)) throw e;
        }
      }),
      { numRuns: 3000 },
    );
  });
});

// Random bodies in decoded form, from the schema.
function fieldArb(field: FieldDef, version: number, flexible: boolean): fc.Arbitrary<unknown> {
  const t = field.type;
  let arb: fc.Arbitrary<unknown>;
  if (t.startsWith('[]')) {
    const et = t.slice(2);
    const elem = /^[A-Z]/.test(et) ? structArb(field.fields ?? [], version, flexible) : scalarArb(et);
    arb = fc.array(elem, { maxLength: 3 });
  } else if (/^[A-Z]/.test(t)) {
    arb = structArb(field.fields ?? [], version, flexible);
  } else {
    arb = scalarArb(t);
  }
  return inRange(field.nullable, version) || t === 'records' ? fc.option(arb, { nil: null, freq: 3 }) : arb;
}

function scalarArb(t: string): fc.Arbitrary<unknown> {
  switch (t) {
    case 'int8': return fc.integer({ min: -128, max: 127 });
    case 'int16': return fc.integer({ min: -32768, max: 32767 });
    case 'uint16': return fc.integer({ min: 0, max: 65535 });
    case 'int32': return fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
    case 'int64': return fc.maxSafeInteger();
    case 'float64': return fc.double({ noNaN: true });
    case 'bool': return fc.boolean();
    case 'uuid': return fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => Buffer.from(b).toString('base64url'));
    case 'string': return fc.string({ unit: 'grapheme', maxLength: 12 }); // well-formed text: lone surrogates cannot survive UTF-8
    case 'bytes':
    case 'records': return fc.uint8Array({ maxLength: 20 }).map((b) => Buffer.from(b));
    default: throw new Error(t);
  }
}

function structArb(fields: readonly FieldDef[], version: number, flexible: boolean): fc.Arbitrary<Record<string, unknown>> {
  const model: Record<string, fc.Arbitrary<unknown>> = {};
  for (const field of fields) {
    model[propertyName(field.name)] = inRange(field.versions, version) ? fieldArb(field, version, flexible) : fc.constant(null).map(() => defaultFactory(field)());
  }
  return fc.record(model);
}

describe('random bodies round-trip', () => {
  for (const def of allApiDefs()) {
    it(def.name, () => {
      for (let version = def.minVersion; version <= def.maxVersion; version++) {
        const flexible = version >= def.flexible.min && version <= def.flexible.max;
        fc.assert(
          fc.property(structArb(def.request, version, flexible), structArb(def.response, version, flexible), (req, res) => {
            expect(parseRequest(frameOf(encodeRequest(def.key, version, 1, 'c', req)))).toEqual(req);
            expect(decodeResponse(def.key, version, frameOf(encodeResponse(def.key, version, 1, res))).body).toEqual(res);
          }),
          { numRuns: Number(process.env.PROPERTY_RUNS ?? 25) },
        );
      }
    }, 60_000);
  }
});
