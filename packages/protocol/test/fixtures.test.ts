// Byte fixtures for every (api, version) in both directions. UPDATE_FIXTURES=1 rewrites them; review
// the diff. Each check runs both ways: decode(stored bytes) equals the stored body, and
// encode(stored body) equals the stored bytes.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { allApiDefs } from '../src/apis.ts';
import { decodeRequestBody, decodeResponse, encodeRequest, encodeResponse, readRequestHeader } from '../src/frame.ts';
import { CLIENT_ID, CORRELATION_ID, formatHex, fromJson, parseHex, sampleBody, toJson } from './samples.ts';

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const update = process.env.UPDATE_FIXTURES === '1';

function fileBase(apiName: string, version: number, kind: string): string {
  return `${FIXTURES}${apiName.charAt(0).toLowerCase()}${apiName.slice(1)}-v${version}-${kind}`;
}

function encode(kind: 'request' | 'response', key: number, version: number, body: object): Buffer {
  return Buffer.concat(
    kind === 'request' ? encodeRequest(key, version, CORRELATION_ID, CLIENT_ID, body) : encodeResponse(key, version, CORRELATION_ID, body),
  );
}

function decode(kind: 'request' | 'response', key: number, version: number, bytes: Buffer): unknown {
  expect(bytes.readInt32BE(0)).toBe(bytes.length - 4);
  const frame = bytes.subarray(4);
  if (kind === 'request') {
    const { header, bodyOffset, supported } = readRequestHeader(frame);
    expect(supported).toBe(true);
    expect(header).toEqual({ apiKey: key, apiVersion: version, correlationId: CORRELATION_ID, clientId: CLIENT_ID });
    return decodeRequestBody(key, version, frame, bodyOffset);
  }
  const { correlationId, body } = decodeResponse(key, version, frame);
  expect(correlationId).toBe(CORRELATION_ID);
  return body;
}

if (update) mkdirSync(FIXTURES, { recursive: true });

for (const def of allApiDefs()) {
  describe(`${def.name} fixtures`, () => {
    for (let version = def.minVersion; version <= def.maxVersion; version++) {
      for (const kind of ['request', 'response'] as const) {
        it(`v${version} ${kind}`, () => {
          const base = fileBase(def.name, version, kind);
          if (update || !existsSync(`${base}.json`)) {
            if (!update) throw new Error(`missing fixture ${base}.json: run with UPDATE_FIXTURES=1`);
            const body = sampleBody(def, version, kind);
            const bytes = encode(kind, def.key, version, body);
            expect(toJson(decode(kind, def.key, version, bytes))).toEqual(toJson(body));
            writeFileSync(`${base}.json`, JSON.stringify(toJson(body), null, 2) + '\n');
            writeFileSync(`${base}.hex`, formatHex(bytes));
          }
          const storedBody = JSON.parse(readFileSync(`${base}.json`, 'utf8'));
          const storedBytes = parseHex(readFileSync(`${base}.hex`, 'utf8'));
          expect(toJson(decode(kind, def.key, version, storedBytes))).toEqual(storedBody);
          expect(encode(kind, def.key, version, fromJson(storedBody) as object).toString('hex')).toBe(storedBytes.toString('hex'));
        });
      }
    }
  });
}
