/**
 * One client connection: 4-byte length framing, bounded frame size and queue, requests handled
 * one at a time in arrival order (as Kafka does: responses must come back in request order),
 * and socket backpressure honoured before the next request is processed.
 *
 * Malformed input (bad length, unparsable header or body, unknown API, unsupported version)
 * closes this connection with a log line naming the client and the problem; it never affects
 * other connections or stored data.
 */
import type { Socket } from 'node:net';
import type { Logger } from '@tributary/common';
import { Broker, NO_RESPONSE, unsupportedApiVersionsBody } from '@tributary/broker';
import { ApiKey, ProtocolError, decodeRequestBody, encodeResponse, readRequestHeader, errorName } from '@tributary/protocol';

export interface ConnectionLimits {
  maxRequestBytes: number;
  maxQueuedRequests: number;
  idleTimeoutMs: number;
}

export class Connection {
  readonly #socket: Socket;
  readonly #broker: Broker;
  readonly #logger: Logger;
  readonly #limits: ConnectionLimits;
  readonly #remote: string;
  readonly #abort = new AbortController();
  /** Received bytes not yet framed. */
  #chunks: Buffer[] = [];
  #buffered = 0;
  #frames: Buffer[] = [];
  #processing = false;
  #closed = false;
  onClose: (() => void) | null = null;

  constructor(socket: Socket, broker: Broker, logger: Logger, limits: ConnectionLimits) {
    this.#socket = socket;
    this.#broker = broker;
    this.#limits = limits;
    this.#remote = `${socket.remoteAddress}:${socket.remotePort}`;
    this.#logger = logger.child({ client: this.#remote });
    socket.setNoDelay(true);
    socket.setTimeout(limits.idleTimeoutMs);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('timeout', () => this.close('idle for longer than connections.max.idle.ms'));
    socket.on('error', (err) => this.#logger.debug({ err: err.message }, 'socket error'));
    socket.on('close', () => this.#onSocketClosed());
  }

  close(reason: string): void {
    if (this.#closed) return;
    this.#logger.debug({ reason }, 'closing connection');
    this.#closed = true;
    this.#abort.abort();
    this.#socket.destroy();
  }

  #onSocketClosed(): void {
    this.#closed = true;
    this.#abort.abort();
    this.#frames = [];
    this.#chunks = [];
    this.onClose?.();
  }

  #reject(reason: string, extra: Record<string, unknown> = {}): void {
    this.#logger.warn({ ...extra, reason }, 'closing connection after bad request');
    this.close(reason);
  }

  #onData(chunk: Buffer): void {
    if (this.#closed) return;
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    // Bounded: every round consumes one whole frame or stops.
    while (this.#buffered >= 4) {
      const size = this.#peekInt32();
      if (size < 0 || size > this.#limits.maxRequestBytes) {
        this.#reject(`request size ${size} is outside 0..${this.#limits.maxRequestBytes} (socket.request.max.bytes)`);
        return;
      }
      if (this.#buffered < 4 + size) break;
      this.#frames.push(this.#take(4 + size).subarray(4));
    }
    if (this.#frames.length >= this.#limits.maxQueuedRequests) this.#socket.pause();
    if (!this.#processing) void this.#processQueue();
  }

  #peekInt32(): number {
    const first = this.#chunks[0]!;
    if (first.length >= 4) return first.readInt32BE(0);
    return Buffer.concat(this.#chunks, 4).readInt32BE(0);
  }

  /** Takes n bytes off the front; a view when they sit in one chunk (the common case), else one copy. */
  #take(n: number): Buffer {
    const first = this.#chunks[0]!;
    let out: Buffer;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      let filled = 0;
      while (filled < n) {
        const c = this.#chunks[0]!;
        const want = Math.min(c.length, n - filled);
        c.copy(out, filled, 0, want);
        filled += want;
        if (want === c.length) this.#chunks.shift();
        else this.#chunks[0] = c.subarray(want);
      }
    }
    this.#buffered -= n;
    return out;
  }

  async #processQueue(): Promise<void> {
    this.#processing = true;
    try {
      while (!this.#closed && this.#frames.length > 0) {
        const frame = this.#frames.shift()!;
        await this.#handleFrame(frame);
        if (this.#socket.writableNeedDrain && !this.#closed) {
          await new Promise<void>((resolve) => {
            const done = (): void => {
              this.#socket.off('drain', done);
              this.#socket.off('close', done);
              resolve();
            };
            this.#socket.on('drain', done);
            this.#socket.on('close', done);
          });
        }
        if (this.#frames.length < this.#limits.maxQueuedRequests && this.#socket.isPaused()) this.#socket.resume();
      }
    } finally {
      this.#processing = false;
    }
  }

  async #handleFrame(frame: Buffer): Promise<void> {
    let parsed;
    try {
      parsed = readRequestHeader(frame);
    } catch (err) {
      this.#reject(`unreadable request header: ${(err as Error).message}`);
      return;
    }
    const { header, bodyOffset, supported } = parsed;
    const api = { apiKey: header.apiKey, apiVersion: header.apiVersion, correlationId: header.correlationId, clientId: header.clientId };
    if (!this.#broker.isAdvertised(header.apiKey, header.apiVersion) || !supported) {
      if (header.apiKey === ApiKey.ApiVersions) {
        // The client sent a newer ApiVersions than ours: answer with a v0 body listing what we support.
        this.#write(encodeResponse(ApiKey.ApiVersions, 0, header.correlationId, unsupportedApiVersionsBody()));
        return;
      }
      this.#reject(`api key ${header.apiKey} version ${header.apiVersion} is not supported (see ApiVersions)`, api);
      return;
    }
    let body;
    try {
      body = decodeRequestBody(header.apiKey, header.apiVersion, frame, bodyOffset);
    } catch (err) {
      if (err instanceof ProtocolError) {
        this.#reject(`malformed request body: ${err.message}`, { ...api, error: errorName(err.errorCode) });
        return;
      }
      throw err;
    }
    let response;
    try {
      response = await this.#broker.handle({ header, clientHost: this.#socket.remoteAddress ?? '', signal: this.#abort.signal }, body);
    } catch (err) {
      // A bug, not the client's fault: log loudly, drop this connection, keep the node serving.
      this.#logger.error({ ...api, err }, 'request handler failed; closing the connection');
      this.close('internal error');
      return;
    }
    if (response === NO_RESPONSE || this.#closed) return;
    this.#write(encodeResponse(header.apiKey, header.apiVersion, header.correlationId, response));
  }

  #write(chunks: Buffer[]): void {
    if (this.#closed) return;
    this.#socket.cork();
    for (const c of chunks) this.#socket.write(c);
    this.#socket.uncork();
  }
}
