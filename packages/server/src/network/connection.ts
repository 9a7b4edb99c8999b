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
import { POOLED_FRAME_MIN_BYTES, sharedFramePool } from './frame-pool.ts';
import { ApiKey, ProtocolError, decodeRequestBody, encodeResponse, readRequestHeader, errorName } from '@tributary/protocol';

/** Reading pauses once this many request bytes (or one maximal request) wait to be handled. */
const MIN_QUEUED_BYTES_BOUND = 64 * 1024 * 1024;

/** Pipeline-safe requests in flight per connection at most. */
const MAX_PIPELINED_REQUESTS = 16;

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
  /** Frames whose handler failed: never returned to the pool (a pending write might still read them). */
  readonly #unreleasable = new WeakSet<Buffer>();
  #processing = false;
  #closed = false;
  #inFlight = 0;
  /** Bytes of parsed frames waiting to be handled; reading pauses past #maxQueuedBytes. */
  #queuedBytes = 0;
  readonly #maxQueuedBytes: number;
  /** Resolves once every response started so far has been written: keeps responses in order. */
  #lastWrite: Promise<void> = Promise.resolve();
  onClose: (() => void) | null = null;

  /** The listener this connection arrived on (Metadata answers with addresses on the same one). */
  readonly #listenerName: string | undefined;

  constructor(socket: Socket, broker: Broker, logger: Logger, limits: ConnectionLimits, listenerName?: string) {
    this.#socket = socket;
    this.#listenerName = listenerName;
    this.#broker = broker;
    this.#limits = limits;
    this.#maxQueuedBytes = Math.max(limits.maxRequestBytes, MIN_QUEUED_BYTES_BOUND);
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
      this.#queuedBytes += size;
    }
    if (this.#frames.length >= this.#limits.maxQueuedRequests || this.#queuedBytes >= this.#maxQueuedBytes) this.#socket.pause();
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
      out = n >= POOLED_FRAME_MIN_BYTES ? sharedFramePool.acquire(n) : Buffer.allocUnsafe(n);
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

  /**
   * Starts requests in arrival order. A request the broker calls pipeline-safe (a Produce whose
   * appends are queued synchronously, in order) lets the next one start before it completes, so
   * parsing and checksumming overlap the disk write; any other request is awaited first. Responses
   * are written strictly in request order either way. At most `maxInFlight` run at once.
   */
  async #processQueue(): Promise<void> {
    this.#processing = true;
    try {
      while (!this.#closed && this.#frames.length > 0) {
        const frame = this.#frames.shift()!;
        this.#queuedBytes -= frame.length;
        const parsed = this.#parseFrame(frame);
        if (parsed === null) continue;
        // Only pipeline-safe requests overlap; anything else sees every earlier request completed.
        if (!parsed.pipelined) await this.#lastWrite;
        if (this.#closed) return;
        const started = { response: parsed.start(), pipelined: parsed.pipelined };
        const previous = this.#lastWrite;
        const written = (async () => {
          const chunks = await started.response;
          // The handler completed and holds nothing of the frame (FramePool's safety rule). A failed
          // handler removed the mapping, so its frame is left to the garbage collector.
          if (parsed.releasable && !this.#unreleasable.has(frame)) sharedFramePool.release(frame);
          await previous;
          if (chunks !== null) await this.#writeWithBackpressure(chunks);
        })();
        this.#lastWrite = written.catch(() => {});
        this.#inFlight++;
        void this.#lastWrite.finally(() => this.#inFlight--);
        if (!started.pipelined || this.#inFlight >= MAX_PIPELINED_REQUESTS) await this.#lastWrite;
        if (this.#frames.length < this.#limits.maxQueuedRequests && this.#queuedBytes < this.#maxQueuedBytes && this.#socket.isPaused()) this.#socket.resume();
      }
    } finally {
      this.#processing = false;
    }
  }

  async #writeWithBackpressure(chunks: Buffer[]): Promise<void> {
    this.#write(chunks);
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
  }

  /** Parses one frame; `start` runs its handler. Null when the frame was rejected (connection closing). */
  #parseFrame(frame: Buffer): { start: () => Promise<Buffer[] | null>; pipelined: boolean; releasable?: boolean } | null {
    let parsed;
    try {
      parsed = readRequestHeader(frame);
    } catch (err) {
      this.#reject(`unreadable request header: ${(err as Error).message}`);
      return null;
    }
    const { header, bodyOffset, supported } = parsed;
    const api = { apiKey: header.apiKey, apiVersion: header.apiVersion, correlationId: header.correlationId, clientId: header.clientId };
    if (!this.#broker.isAdvertised(header.apiKey, header.apiVersion) || !supported) {
      if (header.apiKey === ApiKey.ApiVersions) {
        // The client sent a newer ApiVersions than ours: answer with a v0 body listing what we support.
        return { start: async () => encodeResponse(ApiKey.ApiVersions, 0, header.correlationId, unsupportedApiVersionsBody()), pipelined: false };
      }
      this.#reject(`api key ${header.apiKey} version ${header.apiVersion} is not supported (see ApiVersions)`, api);
      return null;
    }
    let body;
    try {
      body = decodeRequestBody(header.apiKey, header.apiVersion, frame, bodyOffset);
    } catch (err) {
      if (err instanceof ProtocolError) {
        this.#reject(`malformed request body: ${err.message}`, { ...api, error: errorName(err.errorCode) });
        return null;
      }
      throw err;
    }
    const pipelined = this.#broker.isPipelineSafe(header.apiKey, body);
    const start = (): Promise<Buffer[] | null> => this.#broker.handle({ header, clientHost: this.#socket.remoteAddress ?? '', signal: this.#abort.signal, listenerName: this.#listenerName }, body).then(
      (result) => (result === NO_RESPONSE || this.#closed ? null : encodeResponse(header.apiKey, header.apiVersion, header.correlationId, result)),
      (err) => {
        this.#unreleasable.add(frame);
        // A bug, not the client's fault: log loudly, drop this connection, keep the node serving.
        this.#logger.error({ ...api, err }, 'request handler failed; closing the connection');
        this.close('internal error');
        return null;
      },
    );
    return { start, pipelined, releasable: header.apiKey === ApiKey.Produce };
  }

  #write(chunks: Buffer[]): void {
    if (this.#closed) {
      for (const c of chunks) this.#broker.readPool.release(c);
      return;
    }
    this.#socket.cork();
    for (let i = 0; i < chunks.length - 1; i++) this.#socket.write(chunks[i]!);
    // Once the socket has written (or failed to write) the last chunk it holds none of them: pooled
    // fetch buffers among them go back to the pool.
    this.#socket.write(chunks[chunks.length - 1]!, () => {
      for (const c of chunks) this.#broker.readPool.release(c);
    });
    this.#socket.uncork();
  }

}
