// CRC-32C (Castagnoli), the checksum of record batch v2, computed natively (SSE4.2/ARMv8 CRC
// instructions) by @node-rs/crc32. bench/crc32c.ts measures it.
import { crc32c as nativeCrc32c } from '@node-rs/crc32';

/** CRC-32C of `data`, continuing from `initial` (0 to start). Returns an unsigned 32-bit value. */
export function crc32c(data: Uint8Array, initial = 0): number {
  return nativeCrc32c(data, initial) >>> 0;
}
