// Request and response frames: headers plus bodies. A frame is one message without its 4-byte size
// prefix; encoders return chunks that include the prefix.
import { apiDef, isSupportedVersion, requestHeaderVersion, responseHeaderVersion } from './apis.ts';
import { compileMessage } from './codec.ts';
import { ErrorCode, ProtocolError } from './errors.ts';
import { Reader } from './reader.ts';
import { Writer } from './writer.ts';

export interface RequestHeader {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  clientId: string | null;
}

export interface ParsedRequestHeader {
  header: RequestHeader;
  bodyOffset: number;
  /** False when we have no schema for (apiKey, apiVersion): answer UNSUPPORTED_VERSION. */
  supported: boolean;
}

const FIXED_HEADER_BYTES = 8;

/**
 * Reads a request header. apiKey, apiVersion and correlationId come first in every header version;
 * from them we choose header v1 (int16 nullable client id) or v2 (the same plus tagged fields).
 *
 * For a supported (api, version), malformed input throws ProtocolError(INVALID_REQUEST).
 * For an unknown api or version it does NOT throw once the 8 fixed bytes are present: it returns
 * `supported: false` with apiKey, apiVersion and correlationId, a best-effort clientId (null if it
 * cannot be read) and bodyOffset after whatever could be read, so the server can answer
 * UNSUPPORTED_VERSION. An ApiVersions request newer than ours is read with header v2 (every
 * ApiVersions version from 3 on is flexible); answer it with a v0 body via
 * `encodeResponse(ApiKey.ApiVersions, 0, ...)` carrying UNSUPPORTED_VERSION and our version list.
 */
export function readRequestHeader(frame: Buffer): ParsedRequestHeader {
  if (frame.length < FIXED_HEADER_BYTES) {
    throw new ProtocolError(ErrorCode.INVALID_REQUEST, `request of ${frame.length} bytes is shorter than a header`);
  }
  const r = new Reader(frame);
  const apiKey = r.int16();
  const apiVersion = r.int16();
  const correlationId = r.int32();
  const supported = isSupportedVersion(apiKey, apiVersion);
  const flexibleHeader = requestHeaderVersion(apiKey, apiVersion) === 2;
  let clientId: string | null = null;
  if (supported) {
    clientId = r.nullableString();
    if (flexibleHeader) r.skipTaggedFields();
  } else {
    try {
      clientId = r.nullableString();
      if (flexibleHeader) r.skipTaggedFields();
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
    }
  }
  return { header: { apiKey, apiVersion, correlationId, clientId }, bodyOffset: r.pos, supported };
}

function unsupported(apiKey: number, apiVersion: number): ProtocolError {
  return new ProtocolError(ErrorCode.UNSUPPORTED_VERSION, `no schema for api ${apiKey} version ${apiVersion}`);
}

function decodeBody(kind: 'request' | 'response', apiKey: number, apiVersion: number, r: Reader): Record<string, unknown> {
  const def = apiDef(apiKey);
  if (def === undefined || apiVersion < def.minVersion || apiVersion > def.maxVersion) throw unsupported(apiKey, apiVersion);
  const { decode } = compileMessage(def, apiVersion, kind);
  let body: Record<string, unknown>;
  try {
    body = decode(r);
  } catch (e) {
    if (e instanceof RangeError) throw new ProtocolError(r.errorCode, e.message);
    throw e;
  }
  if (r.pos !== r.end) throw r.fail(`${r.end - r.pos} trailing bytes after the ${def.name} ${kind}`);
  return body;
}

/** Decodes a request body (all fields of the latest version; absent ones hold their defaults). */
export function decodeRequestBody(apiKey: number, apiVersion: number, frame: Buffer, bodyOffset: number): any {
  if (bodyOffset < 0 || bodyOffset > frame.length) throw new ProtocolError(ErrorCode.INVALID_REQUEST, `bad body offset ${bodyOffset}`);
  return decodeBody('request', apiKey, apiVersion, new Reader(frame, bodyOffset));
}

function finishFrame(w: Writer): Buffer[] {
  const chunks = w.finish();
  let total = 0;
  for (const c of chunks) total += c.length;
  chunks[0]!.writeInt32BE(total - 4, 0);
  return chunks;
}

/** Encodes a response with its 4-byte size prefix. Records fields are spliced in as their own chunks. */
export function encodeResponse(apiKey: number, apiVersion: number, correlationId: number, body: object): Buffer[] {
  const def = apiDef(apiKey);
  if (def === undefined) throw unsupported(apiKey, apiVersion);
  const { encode } = compileMessage(def, apiVersion, 'response');
  const w = new Writer();
  w.int32(0);
  w.int32(correlationId);
  if (responseHeaderVersion(apiKey, apiVersion) === 1) w.uvarint(0);
  encode(w, body);
  return finishFrame(w);
}

/** Encodes a request with its 4-byte size prefix. */
export function encodeRequest(apiKey: number, apiVersion: number, correlationId: number, clientId: string | null, body: object): Buffer[] {
  const def = apiDef(apiKey);
  if (def === undefined) throw unsupported(apiKey, apiVersion);
  const { encode } = compileMessage(def, apiVersion, 'request');
  const w = new Writer();
  w.int32(0);
  w.int16(apiKey);
  w.int16(apiVersion);
  w.int32(correlationId);
  w.nullableString(clientId);
  if (requestHeaderVersion(apiKey, apiVersion) === 2) w.uvarint(0);
  encode(w, body);
  return finishFrame(w);
}

/** Decodes a response frame (without its size prefix). */
export function decodeResponse(apiKey: number, apiVersion: number, frame: Buffer): { correlationId: number; body: any } {
  const r = new Reader(frame);
  const correlationId = r.int32();
  if (responseHeaderVersion(apiKey, apiVersion) === 1) r.skipTaggedFields();
  return { correlationId, body: decodeBody('response', apiKey, apiVersion, r) };
}
