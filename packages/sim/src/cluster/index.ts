export * from './simulation.ts';
export * from './checker.ts';
export * from './time.ts';
export * from './rpc.ts';
export * from './broker.ts';
export * from './controller-node.ts';
