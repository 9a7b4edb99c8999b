/**
 * The quorum process:
 *   node packages/quorum/src/main.ts --node-id 1 --voters 1@127.0.0.1:19091,2@127.0.0.1:19092,3@127.0.0.1:19093 \
 *     --data-dir /tmp/q1 --listen 127.0.0.1:19091 [--cluster-id ID] [--tick-ms 50] [--snapshot-interval N]
 *     [--log-level debug|info|warn|error]
 * Prints one JSON line `{"event":"listening","nodeId":N,"port":P}` on stdout once it serves; logs JSON lines on
 * stderr. SIGTERM/SIGINT stop it gracefully; a fatal error exits with status 1 (recovery is from disk).
 */
import { stopOnSignals } from './shutdown.ts';
import { parseArgs } from 'node:util';
import { DEFAULT_CLUSTER_ID, QuorumNode, parseVoters } from './node.ts';
import { isLogLevel, jsonLogger } from './system.ts';

function usage(message: string): never {
  process.stderr.write(`${message}\nusage: main.ts --node-id N --voters id@host:port,... --data-dir DIR --listen host:port [--cluster-id ID] [--tick-ms MS] [--snapshot-interval ENTRIES] [--log-level LEVEL]\n`);
  process.exit(2);
}

const { values } = parseArgs({
  options: {
    'node-id': { type: 'string' },
    voters: { type: 'string' },
    'data-dir': { type: 'string' },
    listen: { type: 'string' },
    'cluster-id': { type: 'string' },
    'tick-ms': { type: 'string' },
    'snapshot-interval': { type: 'string' },
    'log-level': { type: 'string' },
  },
  strict: true,
});

const nodeId = Number(values['node-id']);
if (!Number.isSafeInteger(nodeId) || nodeId < 0) usage('--node-id must be a non-negative integer');
if (!values.voters || !values['data-dir'] || !values.listen) usage('--voters, --data-dir and --listen are required');
let voters: Map<number, string>;
try {
  voters = parseVoters(values.voters);
} catch (err) {
  usage((err as Error).message);
}
const level = values['log-level'] ?? process.env['TRIB_LOG_LEVEL'] ?? 'info';
if (!isLogLevel(level)) usage(`bad --log-level ${level}`);
const tickMs = values['tick-ms'] !== undefined ? Number(values['tick-ms']) : undefined;
if (tickMs !== undefined && (!Number.isSafeInteger(tickMs) || tickMs <= 0)) usage('--tick-ms must be a positive integer');
const snapshotInterval = values['snapshot-interval'] !== undefined ? Number(values['snapshot-interval']) : 0;
if (!Number.isSafeInteger(snapshotInterval) || snapshotInterval < 0) usage('--snapshot-interval must be a non-negative integer');

const logger = jsonLogger(level);
const node = await QuorumNode.start({
  nodeId,
  voters,
  listen: values.listen,
  dataDir: values['data-dir'],
  clusterId: values['cluster-id'] ?? DEFAULT_CLUSTER_ID,
  timing: tickMs !== undefined ? { tickMs } : {},
  snapshotIntervalEntries: snapshotInterval,
  logger,
  onFatal: () => process.exit(1),
});
process.stdout.write(`${JSON.stringify({ event: 'listening', nodeId, port: node.port })}\n`);

stopOnSignals(node, logger);
