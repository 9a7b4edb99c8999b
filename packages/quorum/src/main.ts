/**
 * The quorum process:
 *   node packages/quorum/src/main.ts --node-id 1 --voters 1@127.0.0.1:19091,2@127.0.0.1:19092,3@127.0.0.1:19093 \
 *     --data-dir /tmp/q1 --listen 127.0.0.1:19091 [--cluster-id ID] [--tick-ms 50] [--snapshot-interval N]
 *     [--log-level debug|info|warn|error]
 * Prints one JSON line `{"event":"listening","nodeId":N,"port":P}` on stdout once it serves; logs JSON lines on
 * stderr. SIGTERM/SIGINT stop it gracefully; a fatal error exits with status 1 (recovery is from disk).
 */
import { parseArgs } from 'node:util';
import { QuorumNode } from './node.ts';
import { stopOnSignals } from './shutdown.ts';
import { jsonLogger } from './system.ts';
import { announceListening, parseVoterArgs, VOTER_OPTIONS } from './voter-args.ts';

function usage(message: string): never {
  process.stderr.write(`${message}\nusage: main.ts --node-id N --voters id@host:port,... --data-dir DIR --listen host:port [--cluster-id ID] [--tick-ms MS] [--snapshot-interval ENTRIES] [--log-level LEVEL]\n`);
  process.exit(2);
}

const { values } = parseArgs({ options: VOTER_OPTIONS, strict: true });
const { nodeId, voters, dataDir, listen, clusterId, level } = parseVoterArgs(values, usage);
const tickMs = values['tick-ms'] !== undefined ? Number(values['tick-ms']) : undefined;
if (tickMs !== undefined && (!Number.isSafeInteger(tickMs) || tickMs <= 0)) usage('--tick-ms must be a positive integer');
const snapshotInterval = values['snapshot-interval'] !== undefined ? Number(values['snapshot-interval']) : 0;
if (!Number.isSafeInteger(snapshotInterval) || snapshotInterval < 0) usage('--snapshot-interval must be a non-negative integer');

const logger = jsonLogger(level);
const node = await QuorumNode.start({
  nodeId,
  voters,
  listen,
  dataDir,
  clusterId,
  timing: tickMs !== undefined ? { tickMs } : {},
  snapshotIntervalEntries: snapshotInterval,
  logger,
  onFatal: () => process.exit(1),
});
announceListening(nodeId, node.port);

stopOnSignals(node, logger);
