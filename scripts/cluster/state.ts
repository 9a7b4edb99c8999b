/**
 * The state file `<dir>/cluster.json`: what `up` started, so `down`, `status`, `kill`, `restart` and `logs`
 * work from another shell. Written whole to a temporary file and renamed over the old one, so a reader never
 * sees half a file. `parseState` checks every field: a hand-edited or foreign file is refused with a message
 * naming the field rather than acted on (the pids in it get signals).
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ClusterPlan, Role } from './layout.ts';

export const STATE_FILE = 'cluster.json';
export const STATE_VERSION = 1;

export interface NodeState {
  id: number;
  roles: Role[];
  clientPort: number | null;
  controllerPort: number | null;
  rack: string | null;
  dir: string;
  dataDir: string;
  stdoutPath: string;
  stderrPath: string;
  /** The exact command: argv[0] is the node executable. */
  argv: string[];
  /** The running process, or null once it is known to be stopped. */
  pid: number | null;
  /** When it was last started (ms since the epoch); null if never. */
  startedAtMs: number | null;
}

export interface ClusterState {
  version: typeof STATE_VERSION;
  clusterId: string;
  host: string;
  /** Absolute cluster folder. */
  dir: string;
  createdAtMs: number;
  nodes: NodeState[];
}

export class StateError extends Error {
  override name = 'StateError';
}

export function statePath(dir: string): string {
  return join(dir, STATE_FILE);
}

/** A new state for a plan (no process started yet). */
export function stateFromPlan(plan: ClusterPlan, dir: string, nodeExecutable: string, serverEntry: string, nowMs: number): ClusterState {
  return {
    version: STATE_VERSION,
    clusterId: plan.clusterId,
    host: plan.host,
    dir,
    createdAtMs: nowMs,
    nodes: plan.nodes.map((n) => ({
      id: n.id,
      roles: [...n.roles],
      clientPort: n.clientPort,
      controllerPort: n.controllerPort,
      rack: n.rack,
      dir: n.dir,
      dataDir: n.dataDir,
      stdoutPath: n.stdoutPath,
      stderrPath: n.stderrPath,
      argv: [nodeExecutable, serverEntry, ...n.args],
      pid: null,
      startedAtMs: null,
    })),
  };
}

export function serializeState(state: ClusterState): string {
  return `${JSON.stringify(state, null, 2)}\n`;
}

function fail(what: string): never {
  throw new StateError(`${STATE_FILE}: ${what}`);
}

const isInt = (v: unknown, min: number, max: number): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max;
const isPort = (v: unknown): v is number | null => v === null || isInt(v, 1, 65535);
const isStr = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

/** Parses and checks a state file's text. */
export function parseState(text: string): ClusterState {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    fail(`not JSON (${(err as Error).message}); delete the folder or use another --dir`);
  }
  if (typeof raw !== 'object' || raw === null) fail('not an object');
  const s = raw as Record<string, unknown>;
  if (s.version !== STATE_VERSION) fail(`version ${String(s.version)} is not ${STATE_VERSION}; it was written by another launcher version`);
  if (!isStr(s.clusterId)) fail('clusterId missing');
  if (!isStr(s.host)) fail('host missing');
  if (!isStr(s.dir)) fail('dir missing');
  if (!isInt(s.createdAtMs, 0, Number.MAX_SAFE_INTEGER)) fail('createdAtMs missing');
  if (!Array.isArray(s.nodes) || s.nodes.length === 0 || s.nodes.length > 64) fail('nodes must be a list of 1..64 nodes');
  const ids = new Set<number>();
  const nodes = s.nodes.map((value: unknown, i: number): NodeState => {
    if (typeof value !== 'object' || value === null) fail(`nodes[${i}] is not an object`);
    const n = value as Record<string, unknown>;
    const where = `nodes[${i}]`;
    if (!isInt(n.id, 0, 2_147_483_647)) fail(`${where}.id must be a non-negative integer`);
    if (ids.has(n.id)) fail(`node id ${n.id} appears twice`);
    ids.add(n.id);
    const roles = n.roles;
    if (!Array.isArray(roles) || roles.length === 0 || !roles.every((r) => r === 'broker' || r === 'controller')) fail(`${where}.roles must list broker and/or controller`);
    if (!isPort(n.clientPort) || !isPort(n.controllerPort)) fail(`${where}: ports must be 1..65535 or null`);
    if (roles.includes('broker') !== (n.clientPort !== null)) fail(`${where}: a broker has a client port and only a broker does`);
    if (roles.includes('controller') !== (n.controllerPort !== null)) fail(`${where}: a controller has a controller port and only a controller does`);
    if (!(n.rack === null || isStr(n.rack))) fail(`${where}.rack must be a string or null`);
    for (const k of ['dir', 'dataDir', 'stdoutPath', 'stderrPath'] as const) if (!isStr(n[k])) fail(`${where}.${k} missing`);
    if (!Array.isArray(n.argv) || n.argv.length < 2 || !n.argv.every(isStr)) fail(`${where}.argv must be the node's command line`);
    if (!(n.pid === null || isInt(n.pid, 2, 4_194_304))) fail(`${where}.pid must be a process id or null`);
    if (!(n.startedAtMs === null || isInt(n.startedAtMs, 0, Number.MAX_SAFE_INTEGER))) fail(`${where}.startedAtMs must be a time or null`);
    return {
      id: n.id,
      roles: roles as Role[],
      clientPort: n.clientPort,
      controllerPort: n.controllerPort,
      rack: n.rack as string | null,
      dir: n.dir as string,
      dataDir: n.dataDir as string,
      stdoutPath: n.stdoutPath as string,
      stderrPath: n.stderrPath as string,
      argv: [...(n.argv as string[])],
      pid: n.pid as number | null,
      startedAtMs: n.startedAtMs as number | null,
    };
  });
  return { version: STATE_VERSION, clusterId: s.clusterId, host: s.host, dir: s.dir, createdAtMs: s.createdAtMs, nodes };
}

/** The state in `dir`, or null when there is none. */
export function readState(dir: string): ClusterState | null {
  const path = statePath(dir);
  if (!existsSync(path)) return null;
  return parseState(readFileSync(path, 'utf8'));
}

/** Like readState, but a missing file is an error that says how to make one. */
export function requireState(dir: string): ClusterState {
  const state = readState(dir);
  if (state === null) throw new StateError(`no cluster in ${dir} (no ${STATE_FILE}): start one with pnpm cluster up --dir ${dir}`);
  return state;
}

export function writeState(state: ClusterState): void {
  const path = statePath(state.dir);
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, serializeState(state));
  renameSync(tmp, path);
}

export function findNode(state: ClusterState, id: number): NodeState {
  const node = state.nodes.find((n) => n.id === id);
  if (node === undefined) throw new StateError(`no node ${id} in the cluster in ${state.dir}: its nodes are ${state.nodes.map((n) => n.id).join(', ')}`);
  return node;
}
