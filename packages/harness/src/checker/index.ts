export * from './history.ts';
export * from './checker.ts';
