/**
 * `pnpm cluster <up|down|status|kill|restart|logs>`: a local Tributary cluster of node processes on 127.0.0.1,
 * each with its folder under --dir (data, stdout.log, stderr.log) and the whole cluster recorded in
 * <dir>/cluster.json so any shell can act on it. Exit codes: 0 done, 1 an operation failed (a node did not
 * come up, a node is not running), 2 bad input (checked before anything starts).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync, rmdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseCommand, UsageError, USAGE, type Command } from './args.ts';
import { bootstrapServers, formatClusterId, LayoutError, planCluster } from './layout.ts';
import { brokersSeenBy, clusterView } from './probe.ts';
import { isNodeProcess, lastLines, portInUse, processState, signalNode, sleep, startNode, stopNode, waitExited, waitStarted, POLL_MS } from './processes.ts';
import { findNode, readState, requireState, stateFromPlan, StateError, statePath, writeState, type ClusterState, type NodeState } from './state.ts';

export const SERVER_ENTRY = fileURLToPath(new URL('../../packages/server/src/main.ts', import.meta.url));

export interface Io {
  out(line: string): void;
  err(line: string): void;
}

/** A failed operation (exit 1), as opposed to bad input (UsageError, exit 2). */
export class LaunchError extends Error {
  override name = 'LaunchError';
}

function table(headers: string[], rows: (string | number)[][]): string {
  const cells = rows.map((r) => r.map(String));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]): string => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [line(headers), ...cells.map(line)].join('\n');
}

const address = (host: string, port: number | null): string => (port === null ? '-' : `${host}:${port}`);

/** alive, stopped (SIGSTOP) or dead. */
function aliveness(n: NodeState): 'alive' | 'stopped' | 'dead' {
  const s = processState(n);
  return s === 'running' ? 'alive' : s;
}

function nodeTable(state: ClusterState, withState: boolean): string {
  const headers = ['ID', 'ROLES', 'PID', ...(withState ? ['STATE'] : []), 'CLIENT', 'CONTROLLER', 'RACK'];
  const rows = state.nodes.map((n) => {
    const s = processState(n);
    return [n.id, n.roles.join(','), s === 'dead' || n.pid === null ? '-' : n.pid, ...(withState ? [aliveness(n)] : []), address(state.host, n.clientPort), address(state.host, n.controllerPort), n.rack ?? '-'];
  });
  return table(headers, rows);
}

function nodeOrUsage(state: ClusterState, id: number): NodeState {
  try {
    return findNode(state, id);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** Waits until every broker's own Metadata lists every broker. */
async function waitBrokersVisible(state: ClusterState, deadlineMs: number): Promise<void> {
  const brokers = state.nodes.filter((n) => n.clientPort !== null);
  const expected = brokers.map((n) => n.id).sort((a, b) => a - b);
  const pending = new Set(brokers.map((n) => n.id));
  let last = '';
  // Bounded by the deadline; each round asks only the brokers that have not shown the full set yet.
  while (pending.size > 0) {
    for (const n of brokers.filter((b) => pending.has(b.id))) {
      try {
        const seen = await brokersSeenBy(address(state.host, n.clientPort));
        if (expected.every((id) => seen.includes(id))) pending.delete(n.id);
        else last = `broker ${n.id}'s Metadata lists brokers [${seen.join(',')}], expected [${expected.join(',')}]`;
      } catch (err) {
        last = `broker ${n.id}: ${(err as Error).message}`;
      }
    }
    if (pending.size === 0) return;
    if (Date.now() > deadlineMs) throw new LaunchError(`not every broker appears in Metadata in time: ${last}`);
    await sleep(POLL_MS * 2);
  }
}

/**
 * Stops every node of `state` that runs and records them as stopped: broker-only nodes first (their
 * controlled shutdown needs the controller quorum), then the rest, each group in parallel.
 */
async function stopAll(state: ClusterState, timeoutMs: number, io: Io): Promise<void> {
  const brokerOnly = state.nodes.filter((n) => !n.roles.includes('controller'));
  const others = state.nodes.filter((n) => n.roles.includes('controller'));
  for (const group of [brokerOnly, others]) {
    await Promise.all(
      group.map(async (n) => {
        const how = await stopNode(n, timeoutMs);
        if (how !== 'not-running') io.out(`node ${n.id} (pid ${n.pid}) ${how === 'terminated' ? 'stopped' : `killed after ${timeoutMs} ms without exiting on SIGTERM`}`);
        n.pid = null;
      }),
    );
    writeState(state);
  }
}

async function up(cmd: Extract<Command, { kind: 'up' }>, io: Io): Promise<void> {
  const startedAtMs = Date.now();
  const previous = readState(cmd.dir);
  if (previous !== null) {
    const running = previous.nodes.filter((n) => processState(n) !== 'dead');
    if (running.length > 0) {
      throw new UsageError(`a cluster already runs in ${cmd.dir} (nodes ${running.map((n) => n.id).join(', ')}): stop it with pnpm cluster down --dir ${cmd.dir}, or use another --dir`);
    }
  }
  let plan;
  try {
    // A kept cluster folder is formatted with its cluster id; starting it again must use the same one.
    plan = planCluster(cmd.layout, previous?.clusterId ?? formatClusterId(randomBytes(16)));
  } catch (err) {
    if (err instanceof LayoutError) throw new UsageError(err.message);
    throw err;
  }
  if (previous !== null) {
    const shape = (ns: readonly { id: number; roles: readonly string[]; clientPort: number | null; controllerPort: number | null }[]): string =>
      ns.map((n) => `${n.id}:${n.roles.join('+')}:${n.clientPort}:${n.controllerPort}`).join(' ');
    if (shape(previous.nodes) !== shape(plan.nodes)) {
      throw new UsageError(`${cmd.dir} holds a stopped cluster of another shape (${previous.nodes.length} nodes: ${shape(previous.nodes)}); start it with the same options, delete it with pnpm cluster down --purge --dir ${cmd.dir}, or use another --dir`);
    }
  }
  const ports = plan.nodes.flatMap((n) => [n.clientPort, n.controllerPort]).filter((p) => p !== null);
  for (const port of ports) {
    if (await portInUse(plan.host, port)) {
      throw new UsageError(`port ${port} on ${plan.host} is already in use (another cluster or broker?): stop it, or move the cluster with --base-port / --controller-base-port`);
    }
  }

  const state = stateFromPlan(plan, cmd.dir, process.execPath, SERVER_ENTRY, startedAtMs);
  if (previous !== null) state.createdAtMs = previous.createdAtMs;
  mkdirSync(cmd.dir, { recursive: true });
  writeState(state);
  const teardown = async (): Promise<void> => {
    await stopAll(state, 5000, io);
  };
  const onSignal = (): void => {
    io.err('pnpm cluster: interrupted; stopping the nodes started so far');
    void teardown().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  try {
    const offsets = new Map<number, number>();
    for (const n of state.nodes) {
      const { pid, stdoutOffset } = startNode(n);
      n.pid = pid;
      n.startedAtMs = Date.now();
      offsets.set(n.id, stdoutOffset);
      // Recorded at once, so a `down` from another shell finds every process even while this one waits.
      writeState(state);
    }
    const deadlineMs = startedAtMs + cmd.startTimeoutMs;
    await Promise.all(state.nodes.map((n) => waitStarted(n, n.pid!, offsets.get(n.id)!, deadlineMs)));
    const startedMs = Date.now() - startedAtMs;
    await waitBrokersVisible(state, deadlineMs);
    const servingMs = Date.now() - startedAtMs;
    const bootstrap = bootstrapServers(state);
    if (cmd.json) {
      io.out(JSON.stringify({ dir: cmd.dir, clusterId: state.clusterId, bootstrap, startedMs, servingMs, nodes: state.nodes.map((n) => ({ id: n.id, roles: n.roles, pid: n.pid, client: n.clientPort === null ? null : address(state.host, n.clientPort), controller: n.controllerPort === null ? null : address(state.host, n.controllerPort), rack: n.rack })) }));
      return;
    }
    io.out(`Cluster ${state.clusterId} is up in ${cmd.dir}: every node started in ${startedMs} ms, every broker in Metadata after ${servingMs} ms.`);
    io.out('');
    io.out(nodeTable(state, false));
    io.out('');
    io.out(`bootstrap: ${bootstrap}`);
  } catch (err) {
    io.err(`pnpm cluster: up failed: ${(err as Error).message}`);
    io.err('pnpm cluster: stopping the nodes it started (data and logs are kept)');
    await teardown();
    throw new LaunchError(`the cluster in ${cmd.dir} did not come up (see above; logs: ${cmd.dir}/node-<id>/stdout.log)`);
  } finally {
    process.removeListener('SIGINT', onSignal);
  }
}

async function down(cmd: Extract<Command, { kind: 'down' }>, io: Io): Promise<void> {
  const state = requireState(cmd.dir);
  await stopAll(state, cmd.stopTimeoutMs, io);
  if (!cmd.purge) {
    io.out(`Cluster ${state.clusterId} in ${cmd.dir} is down; data kept (pnpm cluster up --dir ${cmd.dir} with the same options starts it again, down --purge deletes it).`);
    return;
  }
  // Only what the launcher made: the node folders and the state file; the folder itself only if that empties it.
  for (const n of state.nodes) rmSync(n.dir, { recursive: true, force: true });
  rmSync(statePath(cmd.dir), { force: true });
  if (existsSync(cmd.dir) && readdirSync(cmd.dir).length === 0) rmdirSync(cmd.dir);
  io.out(`Cluster ${state.clusterId} in ${cmd.dir} is down and its data deleted.`);
}

async function status(cmd: Extract<Command, { kind: 'status' }>, io: Io): Promise<void> {
  const state = requireState(cmd.dir);
  const alive = state.nodes.filter((n) => n.clientPort !== null && processState(n) === 'running');
  let view: Awaited<ReturnType<typeof clusterView>> | { unavailable: string } = { unavailable: 'no broker is alive' };
  if (alive.length > 0) {
    try {
      view = await clusterView(alive.map((n) => address(state.host, n.clientPort)).join(','));
    } catch (err) {
      view = { unavailable: `no broker answered: ${(err as Error).message}` };
    }
  }
  if (cmd.json) {
    const nodes = state.nodes.map((n) => ({ id: n.id, roles: n.roles, pid: n.pid, state: aliveness(n), client: n.clientPort === null ? null : address(state.host, n.clientPort), controller: n.controllerPort === null ? null : address(state.host, n.controllerPort), rack: n.rack }));
    io.out(JSON.stringify({ dir: cmd.dir, clusterId: state.clusterId, bootstrap: bootstrapServers(state), nodes, cluster: view }));
    return;
  }
  io.out(`Cluster ${state.clusterId} in ${cmd.dir}`);
  io.out('');
  io.out(nodeTable(state, true));
  io.out('');
  if ('unavailable' in view) {
    io.out(`Brokers: unknown (${view.unavailable})`);
    return;
  }
  io.out(`Registered brokers (Metadata from ${view.answeredBy}): ${view.brokers.map((b) => b.nodeId).join(', ') || 'none'}`);
  if ('unavailable' in view.quorum) {
    // In a KRaft cluster Metadata's controller id names the broker that takes admin requests, not the quorum leader.
    io.out(`Active controller: unknown (${view.quorum.unavailable}); Metadata's controller id: ${view.controllerId < 0 ? 'none' : view.controllerId}`);
  } else {
    const q = view.quorum;
    io.out(`Active controller: ${q.leaderId < 0 ? 'none' : q.leaderId} (epoch ${q.leaderEpoch}, high watermark ${q.highWatermark}; voters ${q.voters.map((v) => v.replicaId).join(',')}; observers ${q.observers.map((v) => v.replicaId).join(',') || '-'})`);
  }
  const leaders = Object.entries(view.leaderCounts).sort(([a], [b]) => Number(a) - Number(b));
  io.out(`Partition leaders (${view.partitions} partition${view.partitions === 1 ? '' : 's'} in ${view.topics} topic${view.topics === 1 ? '' : 's'}): ${leaders.length === 0 ? '-' : leaders.map(([id, count]) => `${id === '-1' ? 'none' : `broker ${id}`}: ${count}`).join(', ')}`);
}

async function kill(cmd: Extract<Command, { kind: 'kill' }>, io: Io): Promise<void> {
  const state = requireState(cmd.dir);
  const node = nodeOrUsage(state, cmd.nodeId);
  const pid = node.pid;
  if (pid === null || !isNodeProcess(node)) throw new LaunchError(`node ${node.id} is not running (pnpm cluster restart ${node.id} starts it)`);
  signalNode(node, `SIG${cmd.signal}`);
  if (cmd.signal === 'STOP' || cmd.signal === 'CONT') {
    io.out(`node ${node.id} (pid ${pid}): sent SIG${cmd.signal}`);
    return;
  }
  // TERM on a stopped process waits until it runs again: let it run so it can act on the signal.
  if (cmd.signal === 'TERM') signalNode(node, 'SIGCONT');
  const waitMs = cmd.signal === 'KILL' ? 5000 : cmd.stopTimeoutMs;
  if (!(await waitExited(node, pid, Date.now() + waitMs))) {
    throw new LaunchError(`node ${node.id} (pid ${pid}) got SIG${cmd.signal} but still runs after ${waitMs} ms (pnpm cluster kill ${node.id} --signal KILL)`);
  }
  node.pid = null;
  writeState(state);
  io.out(`node ${node.id} (pid ${pid}): sent SIG${cmd.signal}; it exited`);
}

async function restart(cmd: Extract<Command, { kind: 'restart' }>, io: Io): Promise<void> {
  const state = requireState(cmd.dir);
  const node = nodeOrUsage(state, cmd.nodeId);
  const t0 = Date.now();
  const how = await stopNode(node, cmd.stopTimeoutMs);
  if (how !== 'not-running') io.out(`node ${node.id} (pid ${node.pid}) ${how === 'terminated' ? 'stopped' : 'killed'}`);
  node.pid = null;
  if (node.clientPort !== null && (await portInUse(state.host, node.clientPort))) throw new LaunchError(`port ${node.clientPort} of node ${node.id} is taken by another process`);
  if (node.controllerPort !== null && (await portInUse(state.host, node.controllerPort))) throw new LaunchError(`port ${node.controllerPort} of node ${node.id} is taken by another process`);
  const { pid, stdoutOffset } = startNode(node);
  node.pid = pid;
  node.startedAtMs = Date.now();
  writeState(state);
  try {
    await waitStarted(node, pid, stdoutOffset, t0 + cmd.startTimeoutMs);
    if (node.clientPort !== null) {
      const deadlineMs = t0 + cmd.startTimeoutMs;
      // Up for clients means its own Metadata lists it (and, in a cluster, the brokers that are alive).
      for (;;) {
        try {
          if ((await brokersSeenBy(address(state.host, node.clientPort))).includes(node.id)) break;
        } catch (err) {
          if (Date.now() > deadlineMs) throw err;
        }
        if (Date.now() > deadlineMs) throw new LaunchError(`node ${node.id} does not list itself in Metadata in time`);
        await sleep(POLL_MS * 2);
      }
    }
  } catch (err) {
    io.err(`pnpm cluster: node ${node.id} did not come back: ${(err as Error).message}`);
    await stopNode(node, 5000);
    node.pid = null;
    writeState(state);
    throw new LaunchError(`restart of node ${node.id} failed (logs: ${node.stdoutPath})`);
  }
  io.out(`node ${node.id} (pid ${pid}) is up again after ${Date.now() - t0} ms`);
}

function logs(cmd: Extract<Command, { kind: 'logs' }>, io: Io): void {
  const state = requireState(cmd.dir);
  const node = nodeOrUsage(state, cmd.nodeId);
  const text = lastLines(cmd.stderr ? node.stderrPath : node.stdoutPath, cmd.lines);
  if (text !== '') io.out(text);
}

/** Runs one command line; returns the exit code (never exits, so tests call it in-process). */
export async function main(argv: readonly string[], io: Io, cwd = process.cwd()): Promise<number> {
  try {
    const cmd = parseCommand(argv, cwd);
    switch (cmd.kind) {
      case 'help':
        io.out(USAGE.trimEnd());
        return 0;
      case 'up':
        await up(cmd, io);
        return 0;
      case 'down':
        await down(cmd, io);
        return 0;
      case 'status':
        await status(cmd, io);
        return 0;
      case 'kill':
        await kill(cmd, io);
        return 0;
      case 'restart':
        await restart(cmd, io);
        return 0;
      case 'logs':
        logs(cmd, io);
        return 0;
    }
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`pnpm cluster: ${err.message}\nRun 'pnpm cluster --help' for usage.`);
      return 2;
    }
    if (err instanceof StateError || err instanceof LaunchError) {
      io.err(`pnpm cluster: ${err.message}`);
      return 1;
    }
    io.err(`pnpm cluster: ${(err as Error).stack ?? String(err)}`);
    return 1;
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const io: Io = { out: (line) => process.stdout.write(`${line}\n`), err: (line) => process.stderr.write(`${line}\n`) };
  process.exitCode = await main(process.argv.slice(2), io);
}
