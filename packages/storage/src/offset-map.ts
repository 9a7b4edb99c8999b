/**
 * OffsetMap: the log cleaner's key → latest offset map over the dirty section, bounded in (estimated) bytes.
 *
 * Keys of up to 32 bytes are stored exactly; longer keys by their SHA-256 digest (a distinct prefix keeps the two
 * spaces apart). Kafka's SkimpyOffsetMap stores MD5 digests of every key; a digest collision there makes the cleaner
 * drop a live record. Here a collision needs a SHA-256 collision.
 *
 * Memory is accounted per entry as ENTRY_OVERHEAD_BYTES + the stored key length (V8's Map entry, the string header and
 * the boxed offset); `wouldFit` lets the cleaner stop at a batch boundary when the next batch might not fit, which is
 * Kafka's "clean up to where the map reached".
 *
 * Not thread-shared: one map per cleaning pass.
 */
import { createHash } from 'node:crypto';
import { assert } from '@tributary/common';

const MAX_EXACT_KEY_BYTES = 32;
/** Estimated bytes per entry besides the key characters. */
export const ENTRY_OVERHEAD_BYTES = 80;

export class OffsetMap {
  readonly maxBytes: number;
  #map = new Map<string, number>();
  #bytes = 0;

  constructor(maxBytes: number) {
    assert(Number.isSafeInteger(maxBytes) && maxBytes > 0, `offset map bytes must be positive: ${maxBytes}`);
    this.maxBytes = maxBytes;
  }

  static #slot(key: Buffer): string {
    if (key.length <= MAX_EXACT_KEY_BYTES) return `k${key.toString('latin1')}`;
    return `h${createHash('sha256').update(key).digest().toString('latin1')}`;
  }

  /** Upper bound of the bytes one more entry for `key` costs. */
  static costOf(key: Buffer): number {
    return ENTRY_OVERHEAD_BYTES + 1 + Math.min(key.length, MAX_EXACT_KEY_BYTES);
  }

  get size(): number {
    return this.#map.size;
  }

  get bytesUsed(): number {
    return this.#bytes;
  }

  get utilization(): number {
    return this.#bytes / this.maxBytes;
  }

  wouldFit(extraBytes: number): boolean {
    return this.#bytes + extraBytes <= this.maxBytes;
  }

  /** Records `offset` as the latest for `key` (offsets are put in increasing order). */
  put(key: Buffer, offset: number): void {
    const slot = OffsetMap.#slot(key);
    const previous = this.#map.get(slot);
    assert(previous === undefined || previous < offset, 'offset map: offsets must increase per key');
    if (previous === undefined) this.#bytes += ENTRY_OVERHEAD_BYTES + slot.length;
    this.#map.set(slot, offset);
  }

  /** The latest offset recorded for `key`, or -1. */
  get(key: Buffer): number {
    return this.#map.get(OffsetMap.#slot(key)) ?? -1;
  }
}
