export * from './checker/index.ts';
export * from './nemesis/index.ts';
export * from './report/index.ts';
export * from './cluster/index.ts';
export * from './workload/index.ts';
