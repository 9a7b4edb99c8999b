/**
 * A controller-only node (process.roles=controller):
 *   node packages/controller/src/main.ts --node-id 1 --voters 1@127.0.0.1:19091,2@127.0.0.1:19092,3@127.0.0.1:19093 \
 *     --data-dir /tmp/c1 --listen 127.0.0.1:19091 [--cluster-id ID] [--tick-ms 25] [--snapshot-interval N]
 *     [--session-timeout-ms 9000] [--num-partitions 1] [--default-replication-factor 1]
 *     [--config-defs FILE.json] [--verify-images] [--log-level debug|info|warn|error]
 * Serves tributary.raft.v1.RaftService and tributary.controller.v1.ControllerService on --listen. Prints one JSON
 * line `{"event":"listening","nodeId":N,"port":P}` on stdout once it serves; logs JSON lines on stderr. SIGTERM/SIGINT
 * stop it gracefully; a fatal error exits with status 1 (recovery is from disk).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { announceListening, jsonLogger, parseVoterArgs, stopOnSignals, VOTER_OPTIONS } from '@tributary/quorum';
import { configSchemaFromDefs, parseConfigDefs } from './config-schema.ts';
import { ControllerNode } from './node.ts';
import type { ConfigSchema } from '@tributary/metadata';

function usage(message: string): never {
  process.stderr.write(
    `${message}\nusage: main.ts --node-id N --voters id@host:port,... --data-dir DIR --listen host:port [--cluster-id ID] [--tick-ms MS] ` +
      `[--snapshot-interval ENTRIES] [--session-timeout-ms MS] [--num-partitions N] [--default-replication-factor N] [--config-defs FILE] [--verify-images] [--log-level LEVEL]\n`,
  );
  process.exit(2);
}

const { values } = parseArgs({
  options: {
    ...VOTER_OPTIONS,
    'session-timeout-ms': { type: 'string' },
    'num-partitions': { type: 'string' },
    'default-replication-factor': { type: 'string' },
    'config-defs': { type: 'string' },
    'verify-images': { type: 'boolean' },
  },
  strict: true,
});

function positiveInt(name: string, fallback: number | undefined, min = 1): number | undefined {
  const raw = values[name as keyof typeof values];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min) usage(`--${name} must be an integer >= ${min}`);
  return n;
}

const { nodeId, voters, dataDir, listen, clusterId, level } = parseVoterArgs(values, usage);
if (!voters.has(nodeId)) usage(`--node-id ${nodeId} is not among --voters`);
let configSchema: ConfigSchema | undefined;
if (values['config-defs'] !== undefined) {
  try {
    configSchema = configSchemaFromDefs(parseConfigDefs(readFileSync(values['config-defs'], 'utf8')));
  } catch (err) {
    usage(`--config-defs: ${(err as Error).message}`);
  }
}
const tickMs = positiveInt('tick-ms', undefined);

const logger = jsonLogger(level);
const node = await ControllerNode.start({
  nodeId,
  voters,
  listen,
  dataDir,
  clusterId,
  configSchema,
  settings: {
    brokerSessionTimeoutMs: positiveInt('session-timeout-ms', 9000),
    defaultNumPartitions: positiveInt('num-partitions', 1),
    defaultReplicationFactor: positiveInt('default-replication-factor', 1),
  },
  snapshotIntervalEntries: positiveInt('snapshot-interval', 20_000, 0),
  quorum: tickMs !== undefined ? { timing: { tickMs } } : {},
  verifyImages: values['verify-images'] ?? false,
  logger,
  onFatal: () => process.exit(1),
});
announceListening(nodeId, node.port);

stopOnSignals(node, logger);
