/**
 * Reusable buffers for large request frames. A produce frame of a megabyte would otherwise be a
 * fresh allocation whose pages the kernel must fault in and zero on every request; reusing warm
 * buffers takes that off the produce hot path.
 *
 * Safety rule: a frame goes back to the pool only after its request completed AND nothing can
 * still reference it. The connection releases only Produce frames: the produce path validates
 * and writes the bytes, and keeps no view of them once the append has resolved.
 */
export const POOLED_FRAME_MIN_BYTES = 64 * 1024;

export class FramePool {
  readonly #maxPooledBytes: number;
  readonly #buckets = new Map<number, Buffer[]>();
  #pooledBytes = 0;

  constructor(maxPooledBytes: number) {
    this.#maxPooledBytes = maxPooledBytes;
  }

  /** A buffer of at least `size` bytes (power-of-two capacity) for one frame. */
  acquire(size: number): Buffer {
    const capacity = bucketCapacity(size);
    const bucket = this.#buckets.get(capacity);
    const reused = bucket?.pop();
    if (reused) {
      this.#pooledBytes -= capacity;
      return reused;
    }
    return Buffer.allocUnsafeSlow(capacity);
  }

  /** Returns a buffer from `acquire`; dropped when the pool is full. */
  release(buffer: Buffer): void {
    const capacity = buffer.length;
    if (capacity !== bucketCapacity(capacity) || this.#pooledBytes + capacity > this.#maxPooledBytes) return;
    let bucket = this.#buckets.get(capacity);
    if (!bucket) this.#buckets.set(capacity, (bucket = []));
    bucket.push(buffer);
    this.#pooledBytes += capacity;
  }

  get pooledBytes(): number {
    return this.#pooledBytes;
  }
}

function bucketCapacity(size: number): number {
  return 2 ** Math.ceil(Math.log2(Math.max(size, POOLED_FRAME_MIN_BYTES)));
}

/** One pool per process, shared by every connection. */
export const sharedFramePool = new FramePool(64 * 1024 * 1024);
