/**
 * MetadataFollower: a broker's copy of the cluster metadata. It long-polls FetchMetadata through a ControllerApi
 * (a ControllerClient: follows the active controller across failovers), applies the committed entries in offset
 * order to its own MetadataImage (or installs a snapshot, received in chunks, when it is too far behind) and hands
 * each step to a listener, awaited before the next fetch (back-pressure). After an error or a controller failover it
 * resumes from its next offset: committed entries never change, so nothing is applied twice or skipped.
 *
 * The offset a broker reports in its heartbeat is `lastAppliedOffset` (next offset - 1): caught up once it reaches
 * the offset of the broker's own registration entry.
 */
import { silentLogger, type Logger } from '@tributary/common';
import { decodeRecordBatch, decodeSnapshot, MetadataDelta, MetadataImage, type MetadataRecord } from '@tributary/metadata';
import type { ControllerApi, SnapshotPosition } from './api.ts';

export interface MetadataUpdate {
  /** 'snapshot': the image was replaced (a snapshot install, or a reset); 'records': entries were applied. */
  readonly kind: 'snapshot' | 'records';
  readonly image: MetadataImage;
  readonly previous: MetadataImage;
  /** The applied entries in offset order (empty for a snapshot). */
  readonly entries: readonly { readonly offset: number; readonly records: readonly MetadataRecord[] }[];
  /** Everything below this offset is in `image`. */
  readonly nextOffset: number;
}

export type MetadataListener = (update: MetadataUpdate) => void | Promise<void>;

export interface MetadataFollowerOptions {
  client: ControllerApi;
  listener?: MetadataListener;
  /** The broker following (-1: a tool), for the controller's logs. */
  brokerId?: number;
  /** Resume from a persisted position: the image and the offset it covers up to (exclusive). */
  image?: MetadataImage;
  nextOffset?: number;
  /** Bytes per fetch (entries soft, snapshot chunks hard). Default 1 MiB. */
  maxBytes?: number;
  /** Long-poll wait. Default 500 ms. */
  maxWaitMs?: number;
  /** A fetch's timeout beyond its wait (retries to other controllers included). Default 10 s. */
  requestTimeoutMs?: number;
  retryBackoffMs?: number;
  maxRetryBackoffMs?: number;
  /** Largest snapshot accepted. Default 1 GiB. */
  maxSnapshotBytes?: number;
  logger?: Logger;
  /** Fetch, decode, apply and listener errors (the follower keeps going). */
  onError?: (err: unknown) => void;
}

interface PendingSnapshot {
  nextOffset: number;
  totalBytes: number;
  received: number;
  parts: Uint8Array[];
}

export class MetadataFollower {
  readonly #client: ControllerApi;
  readonly #listener: MetadataListener;
  readonly #brokerId: number;
  readonly #maxBytes: number;
  readonly #maxWaitMs: number;
  readonly #requestTimeoutMs: number;
  readonly #backoffMs: number;
  readonly #maxBackoffMs: number;
  readonly #maxSnapshotBytes: number;
  readonly #logger: Logger;
  readonly #onError: (err: unknown) => void;
  #image: MetadataImage;
  #nextOffset: number;
  #pending: PendingSnapshot | null = null;
  #running: Promise<void> | null = null;
  #stopped = false;
  #waiters: { offset: number; resolve: () => void }[] = [];
  readonly stats = { fetches: 0, entriesApplied: 0, snapshotsInstalled: 0, errors: 0, resets: 0 };

  constructor(opts: MetadataFollowerOptions) {
    this.#client = opts.client;
    this.#listener = opts.listener ?? (() => {});
    this.#brokerId = opts.brokerId ?? -1;
    this.#image = opts.image ?? MetadataImage.EMPTY;
    this.#nextOffset = opts.nextOffset ?? 0;
    this.#maxBytes = opts.maxBytes ?? 1024 * 1024;
    this.#maxWaitMs = opts.maxWaitMs ?? 500;
    this.#requestTimeoutMs = opts.requestTimeoutMs ?? 10_000;
    this.#backoffMs = opts.retryBackoffMs ?? 50;
    this.#maxBackoffMs = opts.maxRetryBackoffMs ?? 1000;
    this.#maxSnapshotBytes = opts.maxSnapshotBytes ?? 1024 * 1024 * 1024;
    this.#logger = (opts.logger ?? silentLogger).child({ component: 'metadata-follower', broker: this.#brokerId });
    this.#onError = opts.onError ?? (() => {});
    if (!Number.isSafeInteger(this.#nextOffset) || this.#nextOffset < 0) throw new Error(`bad nextOffset ${this.#nextOffset}`);
  }

  get image(): MetadataImage {
    return this.#image;
  }

  /** Everything below this offset is applied. */
  get nextOffset(): number {
    return this.#nextOffset;
  }

  /** What a broker heartbeat reports as its current metadata offset (-1: nothing yet). */
  get lastAppliedOffset(): number {
    return this.#nextOffset - 1;
  }

  start(): void {
    if (this.#running !== null || this.#stopped) return;
    this.#running = this.#loop();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#running;
    for (const w of this.#waiters.splice(0)) w.resolve();
  }

  /** Resolves once everything below `offset` + 1 is applied (rejects after `timeoutMs`). */
  waitForOffset(offset: number, timeoutMs: number): Promise<void> {
    if (this.#nextOffset > offset) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        reject(new Error(`metadata offset ${offset} not reached within ${timeoutMs} ms (at ${this.#nextOffset})`));
      }, timeoutMs);
      const waiter = {
        offset,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      this.#waiters.push(waiter);
    });
  }

  async #loop(): Promise<void> {
    let backoff = this.#backoffMs;
    // Runs until stop(); each round is one bounded fetch (or one bounded backoff).
    while (!this.#stopped) {
      try {
        await this.#fetchOnce();
        backoff = this.#backoffMs;
      } catch (err) {
        if (this.#stopped) break;
        this.stats.errors++;
        this.#logger.debug({ err: String(err), nextOffset: this.#nextOffset }, 'metadata fetch failed');
        this.#onError(err);
        await new Promise((r) => setTimeout(r, backoff * (0.5 + Math.random() / 2)));
        backoff = Math.min(backoff * 2, this.#maxBackoffMs);
      }
    }
  }

  async #fetchOnce(): Promise<void> {
    const snapshot: SnapshotPosition | null = this.#pending === null ? null : { nextOffset: this.#pending.nextOffset, position: this.#pending.received };
    this.stats.fetches++;
    const response = await this.#client.fetchMetadata(
      { fromOffset: this.#nextOffset, maxBytes: this.#maxBytes, maxWaitMs: this.#maxWaitMs, snapshot, brokerId: this.#brokerId },
      { timeoutMs: this.#maxWaitMs + this.#requestTimeoutMs },
    );
    if (this.#stopped) return;
    if (response.snapshot !== null) {
      await this.#snapshotChunk(response.snapshot);
      return;
    }
    this.#pending = null;
    if (response.entries.length === 0 && response.nextOffset === this.#nextOffset) return;
    if (response.nextOffset < this.#nextOffset) throw new Error(`the controller went back from offset ${this.#nextOffset} to ${response.nextOffset}`);
    const previous = this.#image;
    const applied: { offset: number; records: MetadataRecord[] }[] = [];
    let image: MetadataImage;
    try {
      const delta = new MetadataDelta(previous);
      let last = this.#nextOffset - 1;
      for (const entry of response.entries) {
        if (entry.offset <= last || entry.offset >= response.nextOffset) throw new Error(`entry offset ${entry.offset} out of order (after ${last}, before ${response.nextOffset})`);
        last = entry.offset;
        const records = decodeRecordBatch(entry.records);
        delta.replayAll(records);
        applied.push({ offset: entry.offset, records });
      }
      image = delta.apply();
    } catch (err) {
      // Our image does not fit the controller's log (a bug, or a wiped cluster): start over from nothing.
      this.#logger.error({ err: String(err), nextOffset: this.#nextOffset }, 'metadata does not apply; starting over from offset 0');
      this.#onError(err);
      this.stats.resets++;
      await this.#install(MetadataImage.EMPTY, 0, previous);
      return;
    }
    this.#image = image;
    this.#nextOffset = response.nextOffset;
    this.stats.entriesApplied += applied.length;
    await this.#notify({ kind: 'records', image, previous, entries: applied, nextOffset: response.nextOffset });
  }

  async #snapshotChunk(chunk: { nextOffset: number; totalBytes: number; position: number; data: Uint8Array }): Promise<void> {
    if (chunk.position === 0) {
      // Committed metadata only grows: a snapshot below what is applied here would undo applied entries.
      if (chunk.nextOffset < this.#nextOffset) {
        this.#pending = null;
        throw new Error(`refusing a metadata snapshot ending at ${chunk.nextOffset}: this broker has applied up to ${this.#nextOffset}`);
      }
      if (chunk.totalBytes > this.#maxSnapshotBytes) throw new Error(`snapshot of ${chunk.totalBytes} bytes exceeds ${this.#maxSnapshotBytes}`);
      this.#pending = { nextOffset: chunk.nextOffset, totalBytes: chunk.totalBytes, received: 0, parts: [] };
    }
    const p = this.#pending;
    if (p === null || p.nextOffset !== chunk.nextOffset || p.received !== chunk.position || p.totalBytes !== chunk.totalBytes) {
      // The controller moved to another snapshot: start over.
      this.#pending = null;
      return;
    }
    if (chunk.data.byteLength === 0 && p.received < p.totalBytes) {
      this.#pending = null;
      throw new Error('empty snapshot chunk');
    }
    p.parts.push(chunk.data);
    p.received += chunk.data.byteLength;
    if (p.received > p.totalBytes) {
      this.#pending = null;
      throw new Error(`snapshot chunks exceed its size ${p.totalBytes}`);
    }
    if (p.received < p.totalBytes) return;
    this.#pending = null;
    const image = decodeSnapshot(p.parts.length === 1 ? p.parts[0]! : Buffer.concat(p.parts));
    this.stats.snapshotsInstalled++;
    this.#logger.info({ nextOffset: p.nextOffset, bytes: p.totalBytes }, 'metadata snapshot installed');
    await this.#install(image, p.nextOffset, this.#image);
  }

  async #install(image: MetadataImage, nextOffset: number, previous: MetadataImage): Promise<void> {
    this.#image = image;
    this.#nextOffset = nextOffset;
    await this.#notify({ kind: 'snapshot', image, previous, entries: [], nextOffset });
  }

  async #notify(update: MetadataUpdate): Promise<void> {
    try {
      await this.#listener(update);
    } catch (err) {
      this.#logger.error({ err: String(err) }, 'metadata listener failed');
      this.#onError(err);
    }
    if (this.#waiters.length > 0) {
      const ready = this.#waiters.filter((w) => this.#nextOffset > w.offset);
      this.#waiters = this.#waiters.filter((w) => this.#nextOffset <= w.offset);
      for (const w of ready) w.resolve();
    }
  }
}
