export * from './errors.ts';
export * from './types.ts';
export * from './leader.ts';
export * from './follower.ts';
