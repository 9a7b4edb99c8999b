export * from './simulation.ts';
export * from './invariants.ts';
export * from './network.ts';
export * from './state-machine.ts';
export * from './cluster/index.ts';
export * from './durable-store.ts';
