// Deterministic test records. e2e/python/common.py implements the same generator byte for byte.
import { expect } from 'vitest';

export const codecs = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
export type Codec = (typeof codecs)[number];
export const recordCount = Number(process.env.TRIB_E2E_RECORDS ?? 10_000);

export interface TestRecord {
  key: Buffer;
  value: Buffer;
  headers: Array<[string, Buffer]>;
}

/** Binary record i: arbitrary bytes in values and headers (every byte value occurs). */
export function binaryRecord(i: number, tag: string): TestRecord {
  const length = 1 + ((i * 37) % 400);
  const value = Buffer.alloc(length);
  for (let j = 0; j < length; j++) value[j] = (i * 131 + j * 17) & 0xff;
  return {
    key: Buffer.from(`key-${i}`),
    value,
    headers: [
      ['seq', Buffer.from(String(i))],
      ['tag', Buffer.from(tag)],
      ['bin', Buffer.from([(i >> 8) & 0xff, i & 0xff, 0, 255])],
    ],
  };
}

const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,;=/ü€';
/** Text record i for line-based tools (no tab, no newline), with multi-byte UTF-8. */
export function textRecord(i: number): { key: string; value: string } {
  const length = 1 + ((i * 53) % 300);
  let value = `val-${i}-`;
  for (let j = 0; j < length; j++) value += alphabet[(i + j * 7) % alphabet.length];
  return { key: `key-${i}`, value };
}

export interface ReceivedRecord {
  offset?: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: Array<[string, Buffer | null]>;
}

/** Asserts `received` equals `expected` in order, byte for byte; reports the first mismatch only. */
export function expectRecords(received: readonly ReceivedRecord[], expected: readonly TestRecord[], options: { checkHeaders?: boolean; firstOffset?: number } = {}): void {
  const checkHeaders = options.checkHeaders ?? true;
  expect(received.length, 'record count').toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const got = received[i]!;
    const want = expected[i]!;
    const where = `record ${i}`;
    if (options.firstOffset !== undefined && got.offset !== undefined) expect(got.offset, `${where} offset`).toBe(options.firstOffset + i);
    if (!(got.key?.equals(want.key) ?? false)) expect(got.key?.toString('hex'), `${where} key`).toBe(want.key.toString('hex'));
    if (!(got.value?.equals(want.value) ?? false)) expect(got.value?.toString('hex'), `${where} value`).toBe(want.value.toString('hex'));
    if (checkHeaders) {
      const gotHeaders = got.headers.map(([k, v]) => `${k}=${v?.toString('hex') ?? 'null'}`);
      const wantHeaders = want.headers.map(([k, v]) => `${k}=${v.toString('hex')}`);
      if (gotHeaders.join(',') !== wantHeaders.join(',')) expect(gotHeaders, `${where} headers`).toEqual(wantHeaders);
    }
  }
}
