/**
 * An in-process fake broker on a real loopback socket, with a toy codec (JSON bodies behind the real
 * framing and correlation-id layout) so the connection and client logic are tested without the wire
 * codec. Request frame: int32 size, int16 apiKey, int16 apiVersion, int32 correlationId, JSON body.
 * Response frame: int32 size, int32 correlationId, JSON body.
 */
import net from 'node:net';
import type { Codec, FetchedRecord, ProducerRecord } from '../src/codec.ts';

export const jsonCodec: Codec = {
  encodeRequest(apiKey, apiVersion, correlationId, _clientId, body) {
    const json = Buffer.from(JSON.stringify(body, (_k, v: unknown) => (Buffer.isBuffer(v) ? v.toString('base64') : v)));
    const header = Buffer.alloc(12);
    header.writeInt32BE(8 + json.length, 0);
    header.writeInt16BE(apiKey, 4);
    header.writeInt16BE(apiVersion, 6);
    header.writeInt32BE(correlationId, 8);
    return [header, json];
  },
  decodeResponse(_apiKey, _apiVersion, frame) {
    const text = frame.subarray(4).toString('utf8');
    if (text === 'garbage') throw new Error('garbage response');
    return { correlationId: frame.readInt32BE(0), body: JSON.parse(text) as unknown };
  },
  encodeRecordBatch(records: ProducerRecord[], compression, nowMs) {
    const plain = records.map((r) => ({
      key: r.key == null ? null : Buffer.from(r.key).toString('base64'),
      value: r.value == null ? null : Buffer.from(r.value).toString('base64'),
      headers: (r.headers ?? []).map((h) => ({ key: h.key, value: h.value?.toString('base64') ?? null })),
      timestamp: r.timestamp ?? nowMs,
    }));
    return Buffer.from(JSON.stringify({ compression, records: plain }));
  },
  decodeRecordSet(records: Buffer): FetchedRecord[] {
    const stored = JSON.parse(records.toString('utf8')) as {
      offset: number;
      timestamp: number;
      key: string | null;
      value: string | null;
      headers: { key: string; value: string | null }[];
    }[];
    return stored.map((r) => ({
      offset: r.offset,
      timestamp: r.timestamp,
      key: r.key === null ? null : Buffer.from(r.key, 'base64'),
      value: r.value === null ? null : Buffer.from(r.value, 'base64'),
      headers: r.headers.map((h) => ({ key: h.key, value: h.value === null ? null : Buffer.from(h.value, 'base64') })),
    }));
  },
  errorName(code) {
    const names: Record<number, string> = { 0: 'NONE', 3: 'UNKNOWN_TOPIC_OR_PARTITION', 6: 'NOT_LEADER_OR_FOLLOWER', 36: 'TOPIC_ALREADY_EXISTS', 35: 'UNSUPPORTED_VERSION' };
    return names[code] ?? `ERROR_${code}`;
  },
};

export interface FakeRequest {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  body: Record<string, unknown>;
}

/** What a handler does with a request: answer it (a body), stay silent, or act on the raw socket. */
export type Handler = (request: FakeRequest, reply: (body: unknown) => void, socket: net.Socket) => void;

export function responseFrame(correlationId: number, body: unknown): Buffer {
  const json = Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  const frame = Buffer.alloc(8 + json.length);
  frame.writeInt32BE(4 + json.length, 0);
  frame.writeInt32BE(correlationId, 4);
  json.copy(frame, 8);
  return frame;
}

export class FakeBroker {
  readonly server: net.Server;
  readonly requests: FakeRequest[] = [];
  readonly sockets = new Set<net.Socket>();
  handler: Handler;
  port = 0;

  constructor(handler: Handler) {
    this.handler = handler;
    this.server = net.createServer((socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => {});
      let buffered = Buffer.alloc(0);
      socket.on('data', (chunk) => {
        buffered = Buffer.concat([buffered, chunk]);
        while (buffered.length >= 4 && buffered.length >= 4 + buffered.readInt32BE(0)) {
          const size = buffered.readInt32BE(0);
          const frame = buffered.subarray(4, 4 + size);
          buffered = buffered.subarray(4 + size);
          const request: FakeRequest = {
            apiKey: frame.readInt16BE(0),
            apiVersion: frame.readInt16BE(2),
            correlationId: frame.readInt32BE(4),
            body: JSON.parse(frame.subarray(8).toString('utf8')) as Record<string, unknown>,
          };
          this.requests.push(request);
          this.handler(request, (body) => socket.write(responseFrame(request.correlationId, body)), socket);
        }
      });
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
