export * from './collect.ts';
export * from './consumer.ts';
export * from './faults.ts';
export * from './producer.ts';
export * from './readback.ts';
export * from './runner.ts';
