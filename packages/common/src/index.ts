export * from './assert.ts';
export * from './ports.ts';
export * from './queue.ts';
export * from './buffer-pool.ts';
