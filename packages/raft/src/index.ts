export * from './types.ts';
export * from './messages.ts';
export * from './log.ts';
export * from './roles.ts';
export * from './quorum-state.ts';
export * from './raft-node.ts';
