// Type declarations for small untyped packages the e2e tests use.
declare module 'snappyjs' {
  const snappy: { compress(input: Buffer | Uint8Array): Buffer; uncompress(input: Buffer | Uint8Array): Buffer };
  export default snappy;
}
declare module 'kafkajs-snappy' {
  const codec: () => { compress(encoder: { buffer: Buffer }): Promise<Buffer>; decompress(buffer: Buffer): Promise<Buffer> };
  export default codec;
}
