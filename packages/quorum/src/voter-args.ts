/**
 * The command line every Raft voter process shares (this package's main.ts and @tributary/controller's): the flags,
 * their checks, and the stdout line that says the node serves. Each main adds its own flags and defaults.
 */
import type { ParseArgsOptionsConfig } from 'node:util';
import { DEFAULT_CLUSTER_ID, parseVoters } from './node.ts';
import { isLogLevel, type jsonLogger } from './system.ts';

export const VOTER_OPTIONS = {
  'node-id': { type: 'string' },
  voters: { type: 'string' },
  'data-dir': { type: 'string' },
  listen: { type: 'string' },
  'cluster-id': { type: 'string' },
  'tick-ms': { type: 'string' },
  'snapshot-interval': { type: 'string' },
  'log-level': { type: 'string' },
} as const satisfies ParseArgsOptionsConfig;

export interface VoterArgs {
  nodeId: number;
  voters: Map<number, string>;
  dataDir: string;
  listen: string;
  clusterId: string;
  level: NonNullable<Parameters<typeof jsonLogger>[0]>;
}

/** Checks the shared flags; a bad one goes to `usage` (which exits). The log level falls back to TRIB_LOG_LEVEL. */
export function parseVoterArgs(values: { readonly [K in keyof typeof VOTER_OPTIONS]?: string }, usage: (message: string) => never): VoterArgs {
  const nodeId = Number(values['node-id']);
  if (!Number.isSafeInteger(nodeId) || nodeId < 0) usage('--node-id must be a non-negative integer');
  const dataDir = values['data-dir'];
  const listen = values.listen;
  if (!values.voters || !dataDir || !listen) usage('--voters, --data-dir and --listen are required');
  let voters: Map<number, string>;
  try {
    voters = parseVoters(values.voters);
  } catch (err) {
    usage((err as Error).message);
  }
  const level = values['log-level'] ?? process.env['TRIB_LOG_LEVEL'] ?? 'info';
  if (!isLogLevel(level)) usage(`bad --log-level ${level}`);
  return { nodeId, voters, dataDir, listen, clusterId: values['cluster-id'] ?? DEFAULT_CLUSTER_ID, level };
}

/** The one stdout line test harnesses and scripts wait for: node `nodeId` serves on `port`. */
export function announceListening(nodeId: number, port: number): void {
  process.stdout.write(`${JSON.stringify({ event: 'listening', nodeId, port })}\n`);
}
