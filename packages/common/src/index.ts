export * from './assert.ts';
export * from './ports.ts';
export * from './queue.ts';
