/**
 * The launcher's command line, parsed into one Command (pure: no I/O). Every mistake is a UsageError whose
 * message names the option and what to do; main.ts prints it and exits 2 before anything starts.
 */
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { DEFAULT_BASE_PORT, DEFAULT_CONTROLLER_BASE_PORT, LayoutError, nodeRoles, type LayoutOptions } from './layout.ts';

export class UsageError extends Error {
  override name = 'UsageError';
}

export const SIGNALS = ['KILL', 'TERM', 'STOP', 'CONT'] as const;
export type SignalName = (typeof SIGNALS)[number];

export const DEFAULT_DIR = '.cluster';
export const DEFAULT_START_TIMEOUT_MS = 60_000;
export const DEFAULT_STOP_TIMEOUT_MS = 15_000;
export const MAX_TIMEOUT_MS = 3_600_000;
export const DEFAULT_LOG_LINES = 100;
export const MAX_LOG_LINES = 100_000;

interface Common {
  /** Absolute cluster folder. */
  dir: string;
  json: boolean;
}

export type Command =
  | ({ kind: 'up'; layout: LayoutOptions; startTimeoutMs: number } & Common)
  | ({ kind: 'down'; purge: boolean; stopTimeoutMs: number } & Common)
  | ({ kind: 'status' } & Common)
  | ({ kind: 'kill'; nodeId: number; signal: SignalName; stopTimeoutMs: number } & Common)
  | ({ kind: 'restart'; nodeId: number; startTimeoutMs: number; stopTimeoutMs: number } & Common)
  | ({ kind: 'logs'; nodeId: number; lines: number; stderr: boolean } & Common)
  | { kind: 'help' };

export const USAGE = `usage: pnpm cluster <command> [options]

  up [--nodes N | --controllers C --brokers B] [--dir D] [--base-port P] [--controller-base-port Q]
     [--rack-count K] [--override key=value]... [--start-timeout-ms MS]
                         start a cluster on 127.0.0.1 (default --nodes 3) and wait until it serves
  down [--purge] [--stop-timeout-ms MS]
                         stop every node (TERM, then KILL after the timeout); --purge deletes the folder
  status                 each node alive or dead, brokers, active controller, partition leaders
  kill <id> [--signal KILL|TERM|STOP|CONT]
                         signal one node (default KILL)
  restart <id>           stop the node if it runs, start it with the same argv, wait until it is up
  logs <id> [--lines N] [--stderr]
                         the last N lines (default ${DEFAULT_LOG_LINES}) of the node's stdout (or stderr) log

Every command takes --dir D (default ${DEFAULT_DIR}, where the state file cluster.json lives) and --json.
Ports: broker k (from 0) serves clients on P+k (default ${DEFAULT_BASE_PORT}); controller k listens on Q+k
(default ${DEFAULT_CONTROLLER_BASE_PORT}). With --nodes N ids are 1..N (combined); with --controllers C
--brokers B controllers are 1..C and brokers C+1..C+B.
`;

const COMMANDS = ['up', 'down', 'status', 'kill', 'restart', 'logs', 'help'] as const;

/** An integer option within [min, max]. */
function int(value: string | undefined, option: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = /^-?\d+$/.test(value.trim()) ? Number(value.trim()) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new UsageError(`${option} must be an integer in ${min}..${max}, got "${value}"`);
  return n;
}

function nodeIdArg(positionals: string[], command: string): number {
  if (positionals.length !== 1) throw new UsageError(`${command} needs exactly one node id (pnpm cluster ${command} <id>), got ${positionals.length === 0 ? 'none' : positionals.join(' ')}`);
  const n = int(positionals[0], `${command} <id>`, 0, 2_147_483_647);
  return n as number;
}

/** Keys the layout owns: overriding them would break ids, ports, voters or where the state file says data is. */
export const LAUNCHER_KEYS: readonly string[] = ['node.id', 'broker.id', 'process.roles', 'listeners', 'advertised.listeners', 'controller.listener.names', 'controller.quorum.voters', 'log.dirs', 'log.dir', 'cluster.id'];

function overrides(values: string[]): [string, string][] {
  const out = new Map<string, string>();
  for (const raw of values) {
    const eq = raw.indexOf('=');
    if (eq <= 0) throw new UsageError(`--override expects key=value, got "${raw}"`);
    const key = raw.slice(0, eq).trim();
    if (!/^[a-z0-9._-]+$/i.test(key)) throw new UsageError(`--override key "${key}" is not a config key (letters, digits, . _ -)`);
    if (out.has(key)) throw new UsageError(`--override ${key} given twice`);
    if (LAUNCHER_KEYS.includes(key)) {
      throw new UsageError(`--override ${key}: the launcher sets ${LAUNCHER_KEYS.join(', ')} from the layout; use --nodes/--controllers/--brokers, --base-port, --controller-base-port or --dir instead`);
    }
    out.set(key, raw.slice(eq + 1));
  }
  return [...out];
}

/** Options each command accepts (parseArgs then rejects any other). */
const OPTIONS_BY_COMMAND: Record<(typeof COMMANDS)[number], readonly string[]> = {
  up: ['nodes', 'controllers', 'brokers', 'base-port', 'controller-base-port', 'rack-count', 'override', 'start-timeout-ms'],
  down: ['purge', 'stop-timeout-ms'],
  status: [],
  kill: ['signal', 'stop-timeout-ms'],
  restart: ['start-timeout-ms', 'stop-timeout-ms'],
  logs: ['lines', 'stderr'],
  help: [],
};

const ALL_OPTIONS = {
  dir: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  nodes: { type: 'string' },
  controllers: { type: 'string' },
  brokers: { type: 'string' },
  'base-port': { type: 'string' },
  'controller-base-port': { type: 'string' },
  'rack-count': { type: 'string' },
  override: { type: 'string', multiple: true },
  'start-timeout-ms': { type: 'string' },
  'stop-timeout-ms': { type: 'string' },
  purge: { type: 'boolean' },
  signal: { type: 'string' },
  lines: { type: 'string' },
  stderr: { type: 'boolean' },
} as const;

/** `cwd` resolves a relative --dir. */
export function parseCommand(argv: readonly string[], cwd: string): Command {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') return { kind: 'help' };
  if (!(COMMANDS as readonly string[]).includes(name)) {
    throw new UsageError(`unknown command "${name}": use one of ${COMMANDS.filter((c) => c !== 'help').join(', ')}`);
  }
  const command = name as (typeof COMMANDS)[number];
  let parsed: ReturnType<typeof parseArgs<{ options: typeof ALL_OPTIONS; allowPositionals: true; strict: true; args: string[] }>>;
  try {
    parsed = parseArgs({ args: [...rest], options: ALL_OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    // node:util's messages name the option ("Unknown option '--nodez'"); keep them, add where to look.
    throw new UsageError(`${command}: ${(err as Error).message.split('\n')[0]}`);
  }
  const v = parsed.values as Record<string, string | boolean | string[] | undefined>;
  if (v.help === true) return { kind: 'help' };
  const allowed = new Set(['dir', 'json', 'help', ...OPTIONS_BY_COMMAND[command]]);
  for (const key of Object.keys(v)) {
    if (!allowed.has(key)) throw new UsageError(`${command} does not take --${key}`);
  }
  const str = (k: string): string | undefined => v[k] as string | undefined;
  const dirArg = str('dir') ?? DEFAULT_DIR;
  if (dirArg.trim() === '') throw new UsageError('--dir must not be empty');
  const common: Common = { dir: resolve(cwd, dirArg), json: v.json === true };
  const startTimeoutMs = int(str('start-timeout-ms'), '--start-timeout-ms', 1000, MAX_TIMEOUT_MS) ?? DEFAULT_START_TIMEOUT_MS;
  const stopTimeoutMs = int(str('stop-timeout-ms'), '--stop-timeout-ms', 0, MAX_TIMEOUT_MS) ?? DEFAULT_STOP_TIMEOUT_MS;
  const positionals = parsed.positionals;
  if (command !== 'kill' && command !== 'restart' && command !== 'logs' && positionals.length > 0) {
    throw new UsageError(`${command} takes no positional arguments, got "${positionals.join(' ')}"`);
  }
  switch (command) {
    case 'help':
      return { kind: 'help' };
    case 'up': {
      const nodes = int(str('nodes'), '--nodes', 1, 64) ?? null;
      const controllers = int(str('controllers'), '--controllers', 1, 64) ?? null;
      const brokers = int(str('brokers'), '--brokers', 1, 64) ?? null;
      const layout: LayoutOptions = {
        // No shape at all means the first example: three combined nodes.
        nodes: nodes === null && controllers === null && brokers === null ? 3 : nodes,
        controllers,
        brokers,
        dir: common.dir,
        basePort: int(str('base-port'), '--base-port', 1, 65535) ?? DEFAULT_BASE_PORT,
        controllerBasePort: int(str('controller-base-port'), '--controller-base-port', 1, 65535) ?? DEFAULT_CONTROLLER_BASE_PORT,
        rackCount: int(str('rack-count'), '--rack-count', 0, 64) ?? 0,
        overrides: overrides((v.override as string[] | undefined) ?? []),
        host: '127.0.0.1',
      };
      try {
        nodeRoles(layout);
      } catch (err) {
        if (err instanceof LayoutError) throw new UsageError(err.message);
        throw err;
      }
      return { kind: 'up', layout, startTimeoutMs, ...common };
    }
    case 'down':
      return { kind: 'down', purge: v.purge === true, stopTimeoutMs, ...common };
    case 'status':
      return { kind: 'status', ...common };
    case 'kill': {
      const signal = (str('signal') ?? 'KILL').toUpperCase().replace(/^SIG/, '');
      if (!(SIGNALS as readonly string[]).includes(signal)) throw new UsageError(`--signal must be one of ${SIGNALS.join(', ')}, got "${str('signal')}"`);
      return { kind: 'kill', nodeId: nodeIdArg(positionals, 'kill'), signal: signal as SignalName, stopTimeoutMs, ...common };
    }
    case 'restart':
      return { kind: 'restart', nodeId: nodeIdArg(positionals, 'restart'), startTimeoutMs, stopTimeoutMs, ...common };
    case 'logs':
      return { kind: 'logs', nodeId: nodeIdArg(positionals, 'logs'), lines: int(str('lines'), '--lines', 1, MAX_LOG_LINES) ?? DEFAULT_LOG_LINES, stderr: v.stderr === true, ...common };
  }
}
