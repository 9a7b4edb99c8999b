/**
 * One TCP connection to one broker.
 *
 * Framing: every response is `int32 size` + `size` bytes, the first 4 of which are the correlation id
 * (true for both response header versions). Frames larger than `maxFrameBytes` are a protocol violation
 * and close the connection rather than growing a buffer without bound.
 *
 * Requests: at most `maxInFlight` are on the wire at once; the rest wait in a bounded FIFO
 * (`maxQueued`) and a full queue refuses the request. Each request has a timeout that covers its time in
 * the queue and on the wire; a response that arrives after its request timed out is dropped.
 *
 * Errors name the broker and the API, e.g. `connection to broker 127.0.0.1:9092 lost during Fetch v12: ...`.
 */
import net from 'node:net';
import { assert, BoundedQueue } from '@tributary/common';
import { protocolCodec, type Codec } from './codec.ts';
import { ConnectionError, RequestTimeoutError } from './errors.ts';
import { apiName } from './versions.ts';

export interface ConnectionOptions {
  host: string;
  port: number;
  clientId?: string;
  codec?: Codec;
  /** Requests on the wire at once. */
  maxInFlight?: number;
  /** Requests waiting for an in-flight slot; beyond this `request` rejects. */
  maxQueued?: number;
  requestTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** The largest response frame accepted, size prefix excluded. */
  maxFrameBytes?: number;
}

export interface RequestOptions {
  timeoutMs?: number;
  /** False for requests the broker never answers (Produce with acks=0): resolves once written. */
  expectResponse?: boolean;
}

interface Pending {
  apiKey: number;
  apiVersion: number;
  body: object;
  correlationId: number;
  expectResponse: boolean;
  resolve(body: unknown): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout | undefined;
  /** Set when the request left the queue (sent, timed out or failed), so the queue can skip it. */
  done: boolean;
}

const DEFAULTS = {
  clientId: 'tributary-client',
  maxInFlight: 64,
  maxQueued: 4096,
  requestTimeoutMs: 30_000,
  connectTimeoutMs: 10_000,
  maxFrameBytes: 128 * 1024 * 1024,
};

const MAX_CORRELATION_ID = 0x7fffffff;

export class KafkaConnection {
  readonly host: string;
  readonly port: number;
  /** `host:port`, used in every error message. */
  readonly broker: string;
  readonly clientId: string;
  readonly #codec: Codec;
  readonly #socket: net.Socket;
  readonly #maxInFlight: number;
  readonly #maxFrameBytes: number;
  readonly #requestTimeoutMs: number;
  readonly #inFlight = new Map<number, Pending>();
  readonly #queue: BoundedQueue<Pending>;
  #nextCorrelationId = 0;
  #closedError: Error | null = null;
  #closed: Promise<void>;
  // Receive buffer: chunks not yet consumed, and their total length. Frames that fit inside one chunk are
  // handed out as views; only frames that straddle chunks are copied together.
  #chunks: Buffer[] = [];
  #bufferedBytes = 0;

  private constructor(socket: net.Socket, options: ConnectionOptions) {
    this.host = options.host;
    this.port = options.port;
    this.broker = `${options.host}:${options.port}`;
    this.clientId = options.clientId ?? DEFAULTS.clientId;
    this.#codec = options.codec ?? protocolCodec;
    this.#maxInFlight = options.maxInFlight ?? DEFAULTS.maxInFlight;
    this.#maxFrameBytes = options.maxFrameBytes ?? DEFAULTS.maxFrameBytes;
    this.#requestTimeoutMs = options.requestTimeoutMs ?? DEFAULTS.requestTimeoutMs;
    assert(Number.isInteger(this.#maxInFlight) && this.#maxInFlight > 0, 'maxInFlight must be a positive integer');
    assert(this.#maxFrameBytes >= 4, 'maxFrameBytes must be at least 4');
    this.#queue = new BoundedQueue(options.maxQueued ?? DEFAULTS.maxQueued);
    this.#socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', (err) => this.#fail(new ConnectionError(this.broker, this.#lostMessage(err.message), { cause: err })));
    this.#closed = new Promise((resolve) => {
      socket.once('close', () => {
        this.#fail(new ConnectionError(this.broker, this.#lostMessage('closed by the broker')));
        resolve();
      });
    });
  }

  /** Opens a connection; rejects with a ConnectionError naming the broker when it cannot. */
  static connect(options: ConnectionOptions): Promise<KafkaConnection> {
    const broker = `${options.host}:${options.port}`;
    const timeoutMs = options.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs;
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: options.host, port: options.port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new ConnectionError(broker, `cannot connect to broker ${broker}: timed out after ${timeoutMs} ms`, { neverConnected: true }));
      }, timeoutMs);
      socket.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(new ConnectionError(broker, `cannot connect to broker ${broker}: ${err.code ?? err.message}`, { cause: err, neverConnected: true }));
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new KafkaConnection(socket, options));
      });
    });
  }

  /** Calls `fn` once the socket has closed (at once if it already has). */
  onClose(fn: () => void): void {
    void this.#closed.then(fn);
  }

  get closed(): boolean {
    return this.#closedError !== null;
  }

  get inFlightCount(): number {
    return this.#inFlight.size;
  }

  get queuedCount(): number {
    return this.#queue.length;
  }

  /** Sends one request and resolves with the decoded response body. */
  request<T = unknown>(apiKey: number, apiVersion: number, body: object, options: RequestOptions = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.#closedError !== null) {
        reject(this.#closedError);
        return;
      }
      const pending: Pending = {
        apiKey,
        apiVersion,
        body,
        correlationId: -1,
        expectResponse: options.expectResponse ?? true,
        resolve: resolve as (body: unknown) => void,
        reject,
        timer: undefined,
        done: false,
      };
      const timeoutMs = options.timeoutMs ?? this.#requestTimeoutMs;
      pending.timer = setTimeout(() => this.#timeout(pending, timeoutMs), timeoutMs);
      if (this.#inFlight.size < this.#maxInFlight) {
        this.#send(pending);
      } else if (!this.#queue.offer(pending)) {
        this.#settle(pending);
        reject(
          new ConnectionError(
            this.broker,
            `too many requests queued for broker ${this.broker} (${this.#queue.capacity}); ${this.#describe(pending)} refused`,
          ),
        );
      }
    });
  }

  /** Closes the socket; outstanding requests reject with a ConnectionError. */
  async close(): Promise<void> {
    if (this.#closedError === null) {
      this.#fail(new ConnectionError(this.broker, `connection to broker ${this.broker} closed by the client`));
    }
    this.#socket.end();
    // A peer that never finishes the close handshake must not hold us up.
    const timer = setTimeout(() => this.#socket.destroy(), 1000);
    await this.#closed;
    clearTimeout(timer);
  }

  #describe(p: { apiKey: number; apiVersion: number }): string {
    return `${apiName(p.apiKey)} v${p.apiVersion}`;
  }

  #lostMessage(reason: string): string {
    const apis = [...new Set([...this.#inFlight.values()].map((p) => this.#describe(p)))];
    const during = apis.length > 0 ? ` during ${apis.slice(0, 3).join(', ')}` : '';
    return `connection to broker ${this.broker} lost${during}: ${reason}`;
  }

  #send(pending: Pending): void {
    assert(this.#inFlight.size < this.#maxInFlight, 'in-flight bound exceeded');
    const correlationId = this.#nextCorrelationId;
    this.#nextCorrelationId = correlationId === MAX_CORRELATION_ID ? 0 : correlationId + 1;
    pending.correlationId = correlationId;
    let buffers: Buffer[];
    try {
      buffers = this.#codec.encodeRequest(pending.apiKey, pending.apiVersion, correlationId, this.clientId, pending.body);
    } catch (err) {
      this.#settle(pending);
      pending.reject(new Error(`cannot encode ${this.#describe(pending)} for broker ${this.broker}: ${(err as Error).message}`, { cause: err }));
      return;
    }
    if (pending.expectResponse) {
      assert(!this.#inFlight.has(correlationId), () => `correlation id ${correlationId} reused while in flight`);
      this.#inFlight.set(correlationId, pending);
    }
    this.#socket.cork();
    for (const buf of buffers) this.#socket.write(buf);
    this.#socket.uncork();
    if (!pending.expectResponse) {
      this.#settle(pending);
      pending.resolve(undefined);
    }
  }

  /** Marks a request finished: frees its in-flight slot, clears its timer, and admits queued requests. */
  #settle(pending: Pending): void {
    pending.done = true;
    if (pending.timer !== undefined) clearTimeout(pending.timer);
    pending.timer = undefined;
    if (this.#inFlight.get(pending.correlationId) === pending) this.#inFlight.delete(pending.correlationId);
    this.#drainQueue();
  }

  #drainQueue(): void {
    // Bounded by the queue length: each iteration removes one entry.
    while (this.#closedError === null && this.#inFlight.size < this.#maxInFlight && this.#queue.length > 0) {
      const next = this.#queue.poll() as Pending;
      if (!next.done) this.#send(next);
    }
  }

  #timeout(pending: Pending, timeoutMs: number): void {
    if (pending.done) return;
    pending.timer = undefined;
    const where = pending.correlationId === -1 ? 'waiting for an in-flight slot' : 'waiting for the response';
    this.#settle(pending);
    pending.reject(
      new RequestTimeoutError(this.broker, `${this.#describe(pending)} to broker ${this.broker} timed out after ${timeoutMs} ms ${where}`),
    );
  }

  #fail(error: Error): void {
    if (this.#closedError !== null) return;
    this.#closedError = error;
    const failed = [...this.#inFlight.values(), ...this.#queue.drain()];
    this.#inFlight.clear();
    for (const pending of failed) {
      if (pending.done) continue;
      pending.done = true;
      if (pending.timer !== undefined) clearTimeout(pending.timer);
      pending.reject(error);
    }
    this.#chunks = [];
    this.#bufferedBytes = 0;
    this.#socket.destroy();
  }

  #onData(chunk: Buffer): void {
    if (this.#closedError !== null) return;
    this.#chunks.push(chunk);
    this.#bufferedBytes += chunk.length;
    // Each iteration consumes one frame, so the loop is bounded by the bytes received.
    while (this.#bufferedBytes >= 4) {
      const size = this.#peekSize();
      if (size < 4 || size > this.#maxFrameBytes) {
        this.#fail(
          new ConnectionError(
            this.broker,
            `broker ${this.broker} sent a frame of ${size} bytes (limit ${this.#maxFrameBytes}); closing the connection`,
          ),
        );
        return;
      }
      if (this.#bufferedBytes < 4 + size) return;
      this.#consume(4);
      this.#onFrame(this.#consume(size));
      if (this.#closedError !== null) return;
    }
  }

  #peekSize(): number {
    const first = this.#chunks[0] as Buffer;
    if (first.length >= 4) return first.readInt32BE(0);
    return this.#consume(4, true).readInt32BE(0);
  }

  /** Takes `n` buffered bytes (a view when they lie in one chunk); with `peek`, leaves them buffered. */
  #consume(n: number, peek = false): Buffer {
    assert(n <= this.#bufferedBytes, 'consume past the buffered bytes');
    const first = this.#chunks[0] as Buffer;
    if (first.length >= n) {
      const out = first.subarray(0, n);
      if (!peek) {
        if (first.length === n) this.#chunks.shift();
        else this.#chunks[0] = first.subarray(n);
        this.#bufferedBytes -= n;
      }
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let copied = 0;
    let index = 0;
    while (copied < n) {
      const chunk = this.#chunks[index] as Buffer;
      const take = Math.min(chunk.length, n - copied);
      chunk.copy(out, copied, 0, take);
      copied += take;
      if (!peek) {
        if (take === chunk.length) {
          this.#chunks.shift();
        } else {
          this.#chunks[0] = chunk.subarray(take);
        }
      } else {
        index++;
      }
    }
    if (!peek) this.#bufferedBytes -= n;
    return out;
  }

  #onFrame(frame: Buffer): void {
    const correlationId = frame.readInt32BE(0);
    const pending = this.#inFlight.get(correlationId);
    if (pending === undefined) return; // The response to a request that already timed out.
    let body: unknown;
    try {
      const decoded = this.#codec.decodeResponse(pending.apiKey, pending.apiVersion, frame);
      assert(decoded.correlationId === correlationId, 'decoded correlation id differs from the frame header');
      body = decoded.body;
    } catch (err) {
      this.#settle(pending);
      pending.reject(
        new Error(`cannot decode ${this.#describe(pending)} response from broker ${this.broker}: ${(err as Error).message}`, { cause: err }),
      );
      return;
    }
    this.#settle(pending);
    pending.resolve(body);
  }
}
