// Malformed and hostile input over raw sockets. After each case a fresh client still produces and
// consumes, and the data stored before is unchanged.
import { beforeAll, describe, expect, test } from 'vitest';
import { uniqueTopic, useNode } from '../support/fixtures.ts';
import { sleep } from '../support/process.ts';
import {
  ApiKey, ErrorCode, type Reader, WireConnection, Writer, apiVersions, createTopic, encodeBatch, fetchAll, produce, produceRaw, type WireRecord,
} from '../support/wire.ts';

const requestMaxBytes = 100_000;
const node = useNode({ overrides: { 'socket.request.max.bytes': String(requestMaxBytes) } });
const baselineTopic = uniqueTopic('bad-input-baseline');
const baseline: WireRecord[] = Array.from({ length: 100 }, (_, i) => ({
  key: Buffer.from(`k${i}`), value: Buffer.from(`baseline value ${i}`), headers: [['h', Buffer.from([i])]],
}));

async function open(): Promise<WireConnection> {
  return await WireConnection.openTo(node().bootstrap);
}

/** Resolves 'closed' if the server closes the connection within `ms`, else 'open'. */
async function closedWithin(conn: WireConnection, ms: number): Promise<'closed' | 'open'> {
  return await Promise.race([conn.closed.then(() => 'closed' as const), sleep(ms).then(() => 'open' as const)]);
}

/** A fresh connection produces and consumes; the baseline topic reads back unchanged. */
async function expectHealthy(): Promise<void> {
  const conn = await open();
  try {
    const topic = uniqueTopic('bad-input-after');
    expect((await createTopic(conn, topic)).errorCode).toBe(0);
    const records: WireRecord[] = [{ key: Buffer.from('a'), value: Buffer.from('still works'), headers: [] }];
    expect(await produce(conn, topic, 0, records)).toEqual({ errorCode: 0, baseOffset: 0 });
    const read = await fetchAll(conn, topic);
    expect(read.records.map((r) => r.value?.toString())).toEqual(['still works']);
    const stored = await fetchAll(conn, baselineTopic);
    expect(stored.highWatermark).toBe(baseline.length);
    expect(stored.records.map((r) => [r.offset, r.key?.toString(), r.value?.toString(), r.headers[0]?.[1]?.[0]]))
      .toEqual(baseline.map((r, i) => [i, r.key?.toString(), r.value?.toString(), i]));
  } finally {
    conn.close();
  }
}

function frame(payload: Buffer, lengthPrefix = payload.length): Buffer {
  return Buffer.concat([new Writer().int32(lengthPrefix).build(), payload]);
}

function header(apiKey: number, apiVersion: number, correlationId: number): Buffer {
  return new Writer().int16(apiKey).int16(apiVersion).int32(correlationId).nullableString('trib-e2e').build();
}

/** Sends a request with an unknown key or version: like Apache Kafka, the server closes the connection. */
async function expectClosedOnRequest(apiKey: number, apiVersion: number): Promise<void> {
  const conn = await open();
  const got = await Promise.race([
    conn.request(apiKey, apiVersion, Buffer.alloc(16)).then(() => 'answered' as const, () => 'closed' as const),
    sleep(10_000).then(() => 'silent' as const),
  ]);
  conn.destroy();
  expect(got).toBe('closed');
}

beforeAll(async () => {
  const conn = await open();
  expect((await createTopic(conn, baselineTopic)).errorCode).toBe(0);
  expect(await produce(conn, baselineTopic, 0, baseline)).toEqual({ errorCode: 0, baseOffset: 0 });
  conn.close();
});

describe('bad input over raw sockets', () => {
  test('baseline: the node serves before any bad input', async () => {
    await expectHealthy();
  });

  test('a truncated frame followed by close', async () => {
    const conn = await open();
    const full = frame(Buffer.concat([header(ApiKey.Metadata, 1, 7), new Writer().int32(-1).build()]));
    conn.writeRaw(full.subarray(0, full.length - 3));
    await sleep(100);
    conn.close();
    await conn.closed;
    await expectHealthy();
  });

  test('a frame that is only half a length prefix, then close', async () => {
    const conn = await open();
    conn.writeRaw(Buffer.from([0, 0]));
    conn.close();
    await conn.closed;
    await expectHealthy();
  });

  test('a negative length prefix: the server closes the connection', async () => {
    const conn = await open();
    conn.writeRaw(Buffer.concat([new Writer().int32(-5).build(), Buffer.alloc(32, 1)]));
    expect(await closedWithin(conn, 10_000)).toBe('closed');
    await expectHealthy();
  });

  test(`a length above socket.request.max.bytes (${requestMaxBytes}): the server closes the connection`, async () => {
    const conn = await open();
    conn.writeRaw(Buffer.concat([new Writer().int32(requestMaxBytes * 10).build(), header(ApiKey.Metadata, 1, 1)]));
    expect(await closedWithin(conn, 10_000)).toBe('closed');
    await expectHealthy();
  });

  test('an unknown API key: the server closes the connection', async () => {
    await expectClosedOnRequest(9999, 0);
    await expectHealthy();
  });

  test('an unsupported version of a known API (Metadata v999, Produce v99): the server closes the connection', async () => {
    await expectClosedOnRequest(ApiKey.Metadata, 999);
    await expectClosedOnRequest(ApiKey.Produce, 99);
    await expectHealthy();
  });

  test('ApiVersions v5 (newer than supported): UNSUPPORTED_VERSION with the supported list in a v0 body', async () => {
    const conn = await open();
    try {
      const body = new Writer().compactString('trib-e2e').compactString('1.0').uvarint(0).build();
      const r: Reader = await conn.request(ApiKey.ApiVersions, 5, body, { flexible: true, responseHeaderTagged: false });
      expect(r.int16()).toBe(ErrorCode.UNSUPPORTED_VERSION);
      const keys = r.array((a) => ({ apiKey: a.int16(), min: a.int16(), max: a.int16() })) ?? [];
      const own = keys.find((k) => k.apiKey === ApiKey.ApiVersions);
      expect(own, JSON.stringify(keys)).toBeDefined();
      expect(own!.min).toBe(0);
      expect(own!.max).toBeGreaterThanOrEqual(3);
      expect(own!.max).toBeLessThan(5);
      expect(keys.map((k) => k.apiKey)).toEqual(expect.arrayContaining([ApiKey.Produce, ApiKey.Fetch, ApiKey.Metadata]));
      // The connection stays usable for a supported version.
      expect((await apiVersions(conn)).errorCode).toBe(0);
    } finally {
      conn.close();
    }
    await expectHealthy();
  });

  test('Produce with a corrupt record batch CRC: CORRUPT_MESSAGE, nothing appended', async () => {
    const conn = await open();
    try {
      const batch = encodeBatch([{ key: Buffer.from('evil'), value: Buffer.from('flipped bit'), headers: [] }]);
      batch[batch.length - 2]! ^= 0x01; // flip a bit in the record body, after the CRC
      const result = await produceRaw(conn, baselineTopic, 0, batch);
      expect(result.errorCode).toBe(ErrorCode.CORRUPT_MESSAGE);
    } finally {
      conn.close();
    }
    await expectHealthy();
  });

  test('CreateTopics with an invalid name: INVALID_TOPIC_EXCEPTION', async () => {
    const conn = await open();
    try {
      for (const name of ['bad/name', 'no spaces', '..', 'x'.repeat(250)]) {
        const result = await createTopic(conn, name);
        expect(result.errorCode, `topic name ${JSON.stringify(name.slice(0, 20))}`).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION);
      }
    } finally {
      conn.close();
    }
    await expectHealthy();
  });

  test('garbage bytes after a valid request on the same connection', async () => {
    const conn = await open();
    expect((await apiVersions(conn)).errorCode).toBe(0);
    conn.writeRaw(frame(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xde, 0xad])));
    await closedWithin(conn, 2000);
    conn.destroy();
    await expectHealthy();
  });
});
