/**
 * The process-wide pool for large request frames. A produce frame of a megabyte would otherwise be a
 * fresh allocation whose pages the kernel must fault in and zero on every request.
 *
 * Safety rule: a frame goes back to the pool only after its request completed AND nothing can still
 * reference it. The connection releases only Produce frames whose handler succeeded: the produce path
 * validates and writes the bytes and keeps no view of them once the append has resolved.
 */
import { BufferPool } from '@tributary/common';

export const POOLED_FRAME_MIN_BYTES = 64 * 1024;

export const sharedFramePool = new BufferPool({ minBytes: POOLED_FRAME_MIN_BYTES, maxPooledBytes: 64 * 1024 * 1024 });
