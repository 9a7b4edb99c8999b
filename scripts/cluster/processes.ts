/**
 * Node processes: start detached (own process group, output appended to files in the node's folder), tell
 * whether a recorded pid is still that node, signal it, and wait until it logs "node started" or exits.
 *
 * A pid in the state file may have been reused by an unrelated process after the node died; before any
 * signal the launcher checks /proc/<pid>/cmdline for the node's own `node.id=` and `log.dirs=` arguments,
 * so it never signals a process it did not start.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import net from 'node:net';
import type { NodeState } from './state.ts';

export const STARTED_MARKER = '"msg":"node started"';
/** How often to look at logs and processes while waiting. */
export const POLL_MS = 100;
/** Bytes of a log read per poll; a line longer than this is still found across polls. */
const READ_CHUNK_BYTES = 1 << 20;

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The arguments of a live process, or null when it is gone (or /proc is not there). */
function cmdline(pid: number): string[] | null {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((a) => a.length > 0);
  } catch {
    return null;
  }
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether `pid` is this node's process (not a reused pid). Without /proc, a live pid is trusted. */
export function isNodeProcess(node: NodeState, pid: number | null = node.pid): boolean {
  if (pid === null) return false;
  const args = cmdline(pid);
  if (args === null) return existsSync('/proc/self') ? false : processExists(pid);
  // A zombie (exited, not yet reaped) has an empty cmdline: it is no longer the node.
  return args.includes(`node.id=${node.id}`) && args.some((a) => a === `log.dirs=${node.dataDir}`);
}

/** 'running', 'stopped' (SIGSTOP), or 'dead' (gone, a zombie, or the pid now belongs to someone else). */
export function processState(node: NodeState): 'running' | 'stopped' | 'dead' {
  if (!isNodeProcess(node)) return 'dead';
  try {
    // /proc/<pid>/stat: "pid (comm) S ..." where S is the state letter; comm may hold spaces and parens.
    const stat = readFileSync(`/proc/${node.pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (state === 'Z' || state === 'X') return 'dead';
    if (state === 'T' || state === 't') return 'stopped';
  } catch {
    // No /proc: isNodeProcess already trusted the pid.
  }
  return 'running';
}

/** Sends a signal to the node's process group (the node and anything it spawned); false if it was not running. */
export function signalNode(node: NodeState, signal: NodeJS.Signals): boolean {
  if (node.pid === null || !isNodeProcess(node)) return false;
  try {
    process.kill(-node.pid, signal);
  } catch {
    try {
      process.kill(node.pid, signal);
    } catch {
      return false;
    }
  }
  return true;
}

/** Starts the node detached; returns its pid and the stdout offset its new output starts at. */
export function startNode(node: NodeState, env: NodeJS.ProcessEnv = process.env): { pid: number; stdoutOffset: number } {
  mkdirSync(node.dataDir, { recursive: true });
  const stdoutOffset = existsSync(node.stdoutPath) ? statSync(node.stdoutPath).size : 0;
  const out = openSync(node.stdoutPath, 'a');
  const err = openSync(node.stderrPath, 'a');
  try {
    const [command, ...args] = node.argv as [string, ...string[]];
    const child = spawn(command, args, { cwd: node.dir, env, detached: true, stdio: ['ignore', out, err] });
    if (child.pid === undefined) throw new Error(`could not start node ${node.id}: ${command} did not start`);
    child.unref();
    return { pid: child.pid, stdoutOffset };
  } finally {
    closeSync(out);
    closeSync(err);
  }
}

/**
 * Waits until the node's stdout (from `offset`) holds the "node started" line. Rejects when the process
 * dies first or the deadline passes, with the end of its logs in the message.
 */
export async function waitStarted(node: NodeState, pid: number, offset: number, deadlineMs: number): Promise<void> {
  let position = offset;
  let carry = '';
  const buffer = Buffer.alloc(READ_CHUNK_BYTES);
  for (;;) {
    const fd = openSync(node.stdoutPath, 'r');
    try {
      // Bounded: each pass reads what is new, at most READ_CHUNK_BYTES at a time, until the end.
      for (;;) {
        const n = readSync(fd, buffer, 0, buffer.length, position);
        if (n === 0) break;
        position += n;
        const text = carry + buffer.subarray(0, n).toString('utf8');
        if (text.includes(STARTED_MARKER)) return;
        carry = text.slice(-STARTED_MARKER.length);
      }
    } finally {
      closeSync(fd);
    }
    if (!isNodeProcess(node, pid) || processStateOf(pid) === 'dead') {
      throw new Error(`node ${node.id} exited before it logged "node started"\n${tail(node, 15, offset)}`);
    }
    if (Date.now() > deadlineMs) throw new Error(`node ${node.id} did not log "node started" in time\n${tail(node, 15, offset)}`);
    await sleep(POLL_MS);
  }
}

function processStateOf(pid: number): 'alive' | 'dead' {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state === 'Z' || state === 'X' ? 'dead' : 'alive';
  } catch {
    return processExists(pid) ? 'alive' : 'dead';
  }
}

/** Waits until the node's process is gone; true if it went before the deadline. */
export async function waitExited(node: NodeState, pid: number, deadlineMs: number): Promise<boolean> {
  for (;;) {
    if (!isNodeProcess(node, pid) || processStateOf(pid) === 'dead') return true;
    if (Date.now() > deadlineMs) return false;
    await sleep(POLL_MS);
  }
}

/**
 * Stops the node: TERM (and CONT, so a stopped node can act on it), then KILL once `timeoutMs` has passed.
 * Resolves to how it ended: 'not-running', 'terminated' (clean) or 'killed'.
 */
export async function stopNode(node: NodeState, timeoutMs: number): Promise<'not-running' | 'terminated' | 'killed'> {
  const pid = node.pid;
  if (pid === null || !isNodeProcess(node)) return 'not-running';
  signalNode(node, 'SIGTERM');
  signalNode(node, 'SIGCONT');
  if (await waitExited(node, pid, Date.now() + timeoutMs)) return 'terminated';
  signalNode(node, 'SIGKILL');
  // KILL cannot be caught; a few seconds covers the kernel tearing the process down.
  if (await waitExited(node, pid, Date.now() + 5000)) return 'killed';
  throw new Error(`node ${node.id} (pid ${pid}) is still there after SIGKILL`);
}

/** The last `lines` lines of the node's stdout (from byte `stdoutFrom`: this start's output only) and stderr, for error messages. */
export function tail(node: NodeState, lines: number, stdoutFrom = 0): string {
  const part = (path: string, label: string, from: number): string => {
    const text = lastLines(path, lines, from);
    return text === '' ? '' : `--- ${label} (${path}) ---\n${text}\n`;
  };
  return (part(node.stdoutPath, 'stdout', stdoutFrom) + part(node.stderrPath, 'stderr', 0)).trimEnd();
}

/** The last `lines` lines of a file after byte `from`, reading at most the last 4 MiB. */
export function lastLines(path: string, lines: number, from = 0): string {
  if (!existsSync(path)) return '';
  const size = statSync(path).size;
  const length = Math.max(0, Math.min(size - from, 4 * 1024 * 1024));
  const buffer = Buffer.alloc(length);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, buffer, 0, length, size - length);
  } finally {
    closeSync(fd);
  }
  const all = buffer.toString('utf8').split('\n');
  if (all.at(-1) === '') all.pop();
  return all.slice(-lines).join('\n');
}

/** Whether something already listens on host:port (a bind test: the port is free only if we can bind it). */
export async function portInUse(host: string, port: number): Promise<boolean> {
  return await new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(true));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(false)));
  });
}
