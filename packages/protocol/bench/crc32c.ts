// CRC-32C throughput: node bench/crc32c.ts
import { crc32c } from '../src/crc32c.ts';

const sizes = [1024, 64 * 1024, 1024 * 1024, 16 * 1024 * 1024];
for (const size of sizes) {
  const data = Buffer.alloc(size, 0xa5);
  const totalBytes = 1024 * 1024 * 1024;
  const iterations = Math.max(1, Math.floor(totalBytes / size));
  let sink = 0;
  for (let i = 0; i < Math.min(iterations, 100); i++) sink ^= crc32c(data); // warm up
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) sink ^= crc32c(data);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(`crc32c ${String(size).padStart(9)} B: ${((size * iterations) / seconds / 1e9).toFixed(2)} GB/s (sink ${sink})`);
}
