// CRC-32C (Castagnoli), the checksum of record batch v2. It runs on every produced byte, so it
// uses the SSE4.2 crc32 instruction through the `sse4_crc32` Node-API addon when that addon was
// built on this machine (an optional dependency: it needs a compiler at install time), and
// @node-rs/crc32's prebuilt binary otherwise. bench/crc32c.ts measures both.
import { createRequire } from 'node:module';
import { crc32c as portableCrc32c } from '@node-rs/crc32';

interface HardwareCrc {
  calculate(data: Uint8Array, initial?: number): number;
  hardware_support: boolean;
}

function loadHardware(): HardwareCrc | null {
  if (process.env.TRIB_CRC32C === 'portable') return null;
  try {
    const addon = createRequire(import.meta.url)('sse4_crc32') as HardwareCrc;
    return addon.hardware_support ? addon : null;
  } catch {
    return null;
  }
}

const hardware = loadHardware();

/** Which implementation this process uses, for logs and benchmarks. */
export const crc32cImplementation: 'sse4.2' | 'portable' = hardware ? 'sse4.2' : 'portable';

/** CRC-32C of `data`, continuing from `initial` (0 to start). Returns an unsigned 32-bit value. */
export const crc32c: (data: Uint8Array, initial?: number) => number = hardware
  ? (data, initial = 0) => hardware.calculate(data, initial) >>> 0
  : (data, initial = 0) => portableCrc32c(data, initial) >>> 0;
