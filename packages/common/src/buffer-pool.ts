/**
 * Reusable large buffers for the hot paths (request frames, fetch reads). A fresh multi-megabyte
 * allocation costs a page fault and a zeroed page per 4 KiB on first touch; a warm buffer does not.
 *
 * `acquire(size)` returns a view of exactly `size` bytes over a power-of-two buffer; `release(view)`
 * takes any view whose memory came from `acquire` (found by its ArrayBuffer) and keeps the buffer
 * for reuse while the pool holds less than its bound. Views of other memory are ignored, so callers
 * may offer every buffer they are done with. The caller's rule: release only what nothing will read
 * or write again.
 */
export class BufferPool {
  readonly minBytes: number;
  readonly #maxPooledBytes: number;
  readonly #buckets = new Map<number, Buffer[]>();
  readonly #owned = new WeakMap<ArrayBufferLike, Buffer>();
  #pooledBytes = 0;

  constructor(opts: { minBytes: number; maxPooledBytes: number }) {
    this.minBytes = opts.minBytes;
    this.#maxPooledBytes = opts.maxPooledBytes;
  }

  acquire(size: number): Buffer {
    const capacity = 2 ** Math.ceil(Math.log2(Math.max(size, this.minBytes, 1)));
    let base = this.#buckets.get(capacity)?.pop();
    if (base) {
      this.#pooledBytes -= capacity;
    } else {
      base = Buffer.allocUnsafeSlow(capacity);
      this.#owned.set(base.buffer, base);
    }
    return base.subarray(0, size);
  }

  release(view: Uint8Array): void {
    const base = this.#owned.get(view.buffer);
    if (base === undefined) return;
    const capacity = base.length;
    if (this.#pooledBytes + capacity > this.#maxPooledBytes) return;
    let bucket = this.#buckets.get(capacity);
    if (!bucket) this.#buckets.set(capacity, (bucket = []));
    if (bucket.includes(base)) return; // released twice: keep one entry
    bucket.push(base);
    this.#pooledBytes += capacity;
  }

  get pooledBytes(): number {
    return this.#pooledBytes;
  }
}
