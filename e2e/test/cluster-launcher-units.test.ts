// The local cluster launcher (scripts/cluster) without starting nodes: argument parsing, the id/port
// layout and each node's argv, the state file round trip, and bad input refused with exit code 2 before
// anything starts.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseCommand, UsageError, type Command } from '../../scripts/cluster/args.ts';
import { bootstrapServers, formatClusterId, LayoutError, planCluster, type LayoutOptions } from '../../scripts/cluster/layout.ts';
import { main, SERVER_ENTRY } from '../../scripts/cluster/main.ts';
import { findNode, parseState, readState, serializeState, stateFromPlan, StateError, statePath, writeState } from '../../scripts/cluster/state.ts';

const temps: string[] = [];
afterAll(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'trib-cluster-unit-'));
  temps.push(d);
  return d;
}

const CLUSTER_ID = 'MkU3OEVBNTcwNTJENDM2Qg';

function up(argv: string[]): Extract<Command, { kind: 'up' }> {
  const c = parseCommand(['up', ...argv], '/work');
  if (c.kind !== 'up') throw new Error(`expected up, got ${c.kind}`);
  return c;
}

function usage(argv: string[]): string {
  try {
    parseCommand(argv, '/work');
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as Error).message;
  }
  throw new Error(`no usage error for ${argv.join(' ')}`);
}

const layout = (o: Partial<LayoutOptions>): LayoutOptions => ({
  nodes: null,
  controllers: null,
  brokers: null,
  dir: '/c',
  basePort: 9092,
  controllerBasePort: 19093,
  rackCount: 0,
  overrides: [],
  host: '127.0.0.1',
  ...o,
});

/** The argv's `--override k=v` pairs as a map (each key must appear once). */
function keys(args: string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (let i = 0; i < args.length; i += 2) {
    expect(args[i]).toBe('--override');
    const kv = args[i + 1]!;
    const k = kv.slice(0, kv.indexOf('='));
    expect(m.has(k)).toBe(false);
    m.set(k, kv.slice(kv.indexOf('=') + 1));
  }
  return m;
}

describe('launcher arguments', () => {
  it('up defaults to three combined nodes in ./.cluster on the default ports', () => {
    const c = up([]);
    expect(c.layout).toMatchObject({ nodes: 3, controllers: null, brokers: null, dir: '/work/.cluster', basePort: 9092, controllerBasePort: 19093, rackCount: 0, overrides: [] });
    expect(c.startTimeoutMs).toBe(60_000);
  });

  it('reads every up option; --dir resolves against the working directory', () => {
    const c = up(['--controllers', '3', '--brokers', '2', '--dir', 'x/y', '--base-port', '30000', '--controller-base-port', '31000', '--rack-count', '2', '--override', 'num.partitions=3', '--override', 'log.segment.bytes=1048576', '--json']);
    expect(c.layout).toMatchObject({ nodes: null, controllers: 3, brokers: 2, dir: '/work/x/y', basePort: 30000, controllerBasePort: 31000, rackCount: 2 });
    expect(c.layout.overrides).toEqual([
      ['num.partitions', '3'],
      ['log.segment.bytes', '1048576'],
    ]);
    expect(c.json).toBe(true);
  });

  it('reads down, status, kill, restart and logs', () => {
    expect(parseCommand(['down', '--purge', '--stop-timeout-ms', '2000'], '/w')).toMatchObject({ kind: 'down', purge: true, stopTimeoutMs: 2000, dir: '/w/.cluster' });
    expect(parseCommand(['status', '--dir', '/abs'], '/w')).toMatchObject({ kind: 'status', dir: '/abs' });
    expect(parseCommand(['kill', '2'], '/w')).toMatchObject({ kind: 'kill', nodeId: 2, signal: 'KILL' });
    expect(parseCommand(['kill', '3', '--signal', 'sigstop'], '/w')).toMatchObject({ kind: 'kill', nodeId: 3, signal: 'STOP' });
    expect(parseCommand(['restart', '1'], '/w')).toMatchObject({ kind: 'restart', nodeId: 1 });
    expect(parseCommand(['logs', '4', '--lines', '20', '--stderr'], '/w')).toMatchObject({ kind: 'logs', nodeId: 4, lines: 20, stderr: true });
    expect(parseCommand([], '/w')).toEqual({ kind: 'help' });
    expect(parseCommand(['up', '--help'], '/w')).toEqual({ kind: 'help' });
  });

  it('refuses bad input with a message naming the option', () => {
    expect(usage(['start'])).toMatch(/^unknown command "start": use one of up, down, status, kill, restart, logs$/);
    expect(usage(['up', '--nodes', '0'])).toMatch(/--nodes must be an integer in 1\.\.64, got "0"/);
    expect(usage(['up', '--nodes', 'three'])).toMatch(/--nodes must be an integer/);
    expect(usage(['up', '--controllers', '3'])).toMatch(/--controllers needs --brokers/);
    expect(usage(['up', '--brokers', '3'])).toMatch(/--brokers needs --controllers/);
    expect(usage(['up', '--nodes', '3', '--brokers', '2'])).toMatch(/either --nodes N .* not both/);
    expect(usage(['up', '--nodez', '3'])).toMatch(/^up: Unknown option '--nodez'/);
    expect(usage(['up', '--purge'])).toMatch(/^up does not take --purge/);
    expect(usage(['up', '--override', 'num.partitions'])).toMatch(/--override expects key=value, got "num.partitions"/);
    expect(usage(['up', '--override', 'a.b=1', '--override', 'a.b=2'])).toMatch(/--override a\.b given twice/);
    expect(usage(['up', '--override', 'log.dirs=/elsewhere'])).toMatch(/--override log\.dirs: the launcher sets/);
    expect(usage(['up', '--base-port', '70000'])).toMatch(/--base-port must be an integer in 1\.\.65535/);
    expect(usage(['kill'])).toMatch(/kill needs exactly one node id/);
    expect(usage(['kill', 'two'])).toMatch(/kill <id> must be an integer/);
    expect(usage(['kill', '1', '2'])).toMatch(/kill needs exactly one node id .* got 1 2/);
    expect(usage(['kill', '1', '--signal', 'HUP'])).toMatch(/--signal must be one of KILL, TERM, STOP, CONT, got "HUP"/);
    expect(usage(['status', 'extra'])).toMatch(/status takes no positional arguments/);
    expect(usage(['logs', '1', '--lines', '0'])).toMatch(/--lines must be an integer in 1\.\./);
    expect(usage(['down', '--dir', ''])).toMatch(/--dir must not be empty/);
  });
});

describe('launcher layout', () => {
  it('--nodes 3: ids 1..3, each combined, client ports 9092.., controller ports 19093..', () => {
    const plan = planCluster(layout({ nodes: 3 }), CLUSTER_ID);
    expect(plan.nodes.map((n) => [n.id, n.roles.join(','), n.clientPort, n.controllerPort])).toEqual([
      [1, 'broker,controller', 9092, 19093],
      [2, 'broker,controller', 9093, 19094],
      [3, 'broker,controller', 9094, 19095],
    ]);
    expect(bootstrapServers(plan)).toBe('127.0.0.1:9092,127.0.0.1:9093,127.0.0.1:9094');
    const k = keys(plan.nodes[1]!.args);
    expect(Object.fromEntries(k)).toEqual({
      'node.id': '2',
      'process.roles': 'broker,controller',
      listeners: 'PLAINTEXT://127.0.0.1:9093,CONTROLLER://127.0.0.1:19094',
      'advertised.listeners': 'PLAINTEXT://127.0.0.1:9093',
      'controller.listener.names': 'CONTROLLER',
      'controller.quorum.voters': '1@127.0.0.1:19093,2@127.0.0.1:19094,3@127.0.0.1:19095',
      'log.dirs': '/c/node-2/data',
      'cluster.id': CLUSTER_ID,
    });
    expect(plan.nodes[1]).toMatchObject({ dir: '/c/node-2', dataDir: '/c/node-2/data', stdoutPath: '/c/node-2/stdout.log', stderrPath: '/c/node-2/stderr.log' });
  });

  it('--controllers 3 --brokers 3: controllers 1..3 with only a CONTROLLER listener, brokers 4..6 with only PLAINTEXT', () => {
    const plan = planCluster(layout({ controllers: 3, brokers: 3, basePort: 30000, controllerBasePort: 31000, rackCount: 2 }), CLUSTER_ID);
    expect(plan.nodes.map((n) => [n.id, n.roles.join(','), n.clientPort, n.controllerPort, n.rack])).toEqual([
      [1, 'controller', null, 31000, null],
      [2, 'controller', null, 31001, null],
      [3, 'controller', null, 31002, null],
      [4, 'broker', 30000, null, 'rack-0'],
      [5, 'broker', 30001, null, 'rack-1'],
      [6, 'broker', 30002, null, 'rack-0'],
    ]);
    const controller = keys(plan.nodes[0]!.args);
    expect(controller.get('listeners')).toBe('CONTROLLER://127.0.0.1:31000');
    expect(controller.has('advertised.listeners')).toBe(false);
    expect(controller.has('broker.rack')).toBe(false);
    const broker = keys(plan.nodes[4]!.args);
    expect(broker.get('listeners')).toBe('PLAINTEXT://127.0.0.1:30001');
    expect(broker.get('controller.quorum.voters')).toBe('1@127.0.0.1:31000,2@127.0.0.1:31001,3@127.0.0.1:31002');
    expect(broker.get('broker.rack')).toBe('rack-1');
  });

  it('--override reaches every node once, after the launcher keys', () => {
    const plan = planCluster(layout({ nodes: 2, overrides: [['num.partitions', '6'], ['broker.session.timeout.ms', '3000']] }), CLUSTER_ID);
    for (const n of plan.nodes) {
      const k = keys(n.args);
      expect(k.get('num.partitions')).toBe('6');
      expect([...k.keys()].slice(-2)).toEqual(['num.partitions', 'broker.session.timeout.ms']);
    }
  });

  it('refuses overlapping or overflowing port ranges and a relative folder', () => {
    expect(() => planCluster(layout({ nodes: 3, basePort: 19094 }), CLUSTER_ID)).toThrow(/overlap at 19094/);
    expect(() => planCluster(layout({ nodes: 3, basePort: 65534 }), CLUSTER_ID)).toThrow(/--base-port 65534 leaves no room for 3 ports/);
    expect(() => planCluster(layout({ nodes: 3, dir: 'rel' }), CLUSTER_ID)).toThrow(LayoutError);
  });

  it('cluster ids are 22 URL-safe base64 characters of 16 bytes', () => {
    expect(formatClusterId(new Uint8Array(16).fill(255))).toBe('_____________________w');
    expect(formatClusterId(new Uint8Array(16))).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(() => formatClusterId(new Uint8Array(15))).toThrow(/16 bytes/);
  });
});

describe('launcher state file', () => {
  const plan = planCluster(layout({ controllers: 1, brokers: 2, dir: '/c' }), CLUSTER_ID);

  it('round-trips through its text and through the folder', () => {
    const state = stateFromPlan(plan, '/c', '/usr/bin/node', SERVER_ENTRY, 1_700_000_000_000);
    state.nodes[1]!.pid = 4242;
    state.nodes[1]!.startedAtMs = 1_700_000_000_500;
    expect(state.nodes[1]!.argv.slice(0, 2)).toEqual(['/usr/bin/node', SERVER_ENTRY]);
    expect(parseState(serializeState(state))).toEqual(state);
    const dir = tempDir();
    const here = { ...state, dir };
    writeState(here);
    expect(readState(dir)).toEqual(here);
    expect(existsSync(`${statePath(dir)}.${process.pid}.tmp`)).toBe(false);
    expect(findNode(here, 3).clientPort).toBe(9093);
    expect(() => findNode(here, 9)).toThrow(/no node 9 .* its nodes are 1, 2, 3/);
    expect(readState(tempDir())).toBeNull();
  });

  it('refuses a damaged or foreign file, naming the field', () => {
    const good = JSON.parse(serializeState(stateFromPlan(plan, '/c', '/usr/bin/node', SERVER_ENTRY, 1))) as Record<string, any>;
    const bad = (edit: (s: Record<string, any>) => void): string => {
      const s = structuredClone(good);
      edit(s);
      try {
        parseState(JSON.stringify(s));
      } catch (err) {
        expect(err).toBeInstanceOf(StateError);
        return (err as Error).message;
      }
      throw new Error('accepted a bad state');
    };
    expect(() => parseState('{')).toThrow(/cluster\.json: not JSON/);
    expect(bad((s) => (s.version = 2))).toMatch(/version 2 is not 1/);
    expect(bad((s) => (s.nodes[1].id = 1))).toMatch(/node id 1 appears twice/);
    expect(bad((s) => (s.nodes[1].clientPort = null))).toMatch(/nodes\[1\]: a broker has a client port/);
    expect(bad((s) => (s.nodes[0].pid = -5))).toMatch(/nodes\[0\]\.pid must be a process id or null/);
    expect(bad((s) => (s.nodes[2].argv = []))).toMatch(/nodes\[2\]\.argv/);
    expect(bad((s) => (s.nodes = []))).toMatch(/nodes must be a list/);
  });
});

describe('launcher bad input (exit code 2, nothing started)', () => {
  async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
    let out = '';
    let err = '';
    const code = await main(argv, { out: (l) => (out += `${l}\n`), err: (l) => (err += `${l}\n`) }, '/tmp');
    return { code, out, err };
  }

  it('a busy port', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const dir = tempDir();
      const r = await run(['up', '--nodes', '1', '--dir', dir, '--base-port', String(port), '--controller-base-port', String(port === 65535 ? port - 1 : port + 1)]);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(new RegExp(`^pnpm cluster: port ${port} on 127\\.0\\.0\\.1 is already in use`));
      expect(existsSync(statePath(dir))).toBe(false);
    } finally {
      await new Promise<void>((r) => blocker.close(() => r()));
    }
  });

  it('an unknown command, --nodes 0, --controllers without --brokers', async () => {
    for (const [argv, message] of [
      [['frobnicate'], /unknown command "frobnicate"/],
      [['up', '--nodes', '0'], /--nodes must be an integer in 1\.\.64/],
      [['up', '--controllers', '3'], /--controllers needs --brokers/],
    ] as const) {
      const r = await run([...argv]);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(message);
      expect(r.err).toMatch(/Run 'pnpm cluster --help' for usage\./);
    }
  });

  it('an unknown node id, and a folder without a cluster', async () => {
    const dir = tempDir();
    writeState({ ...stateFromPlan(planCluster(layout({ nodes: 2, dir }), CLUSTER_ID), dir, process.execPath, SERVER_ENTRY, 1), dir });
    for (const command of ['kill', 'restart', 'logs']) {
      const r = await run([command, '7', '--dir', dir]);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/no node 7 in the cluster .* its nodes are 1, 2/);
    }
    const notRunning = await run(['kill', '1', '--dir', dir]);
    expect(notRunning.code).toBe(1);
    expect(notRunning.err).toMatch(/node 1 is not running/);
    const empty = await run(['status', '--dir', tempDir()]);
    expect(empty.code).toBe(1);
    expect(empty.err).toMatch(/no cluster in .* start one with pnpm cluster up/);
  });

  it('a stopped cluster of another shape in the folder', async () => {
    const dir = tempDir();
    writeState({ ...stateFromPlan(planCluster(layout({ nodes: 2, dir, basePort: 39000, controllerBasePort: 39100 }), CLUSTER_ID), dir, process.execPath, SERVER_ENTRY, 1), dir });
    const before = readFileSync(statePath(dir), 'utf8');
    const r = await run(['up', '--nodes', '3', '--dir', dir, '--base-port', '39000', '--controller-base-port', '39100']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/holds a stopped cluster of another shape/);
    expect(readFileSync(statePath(dir), 'utf8')).toBe(before);
  });

  it('help prints the usage and exits 0', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^usage: pnpm cluster <command>/);
  });
});

describe('launcher failure', () => {
  it('a node that cannot start fails up with its error, and up stops the nodes it started', async () => {
    const dir = tempDir();
    // Any config error stops a node at once, whatever multi-node support the daemon has.
    let out = '';
    let err = '';
    const base = 40_000 + Math.floor(Math.random() * 10_000);
    const code = await main(['up', '--nodes', '2', '--dir', dir, '--base-port', String(base), '--controller-base-port', String(base + 100), '--override', 'num.partitions=0'], { out: (l) => (out += `${l}\n`), err: (l) => (err += `${l}\n`) }, '/tmp');
    expect(code).toBe(1);
    expect(err).toMatch(/up failed: node [12] exited before it logged "node started"/);
    expect(err).toMatch(/config error: invalid value "0" for config num\.partitions/);
    expect(err).toMatch(/did not come up/);
    const state = readState(dir)!;
    expect(state.nodes.map((n) => n.pid)).toEqual([null, null]);
    expect(state.nodes.every((n) => n.startedAtMs !== null)).toBe(true);
    expect(out).not.toMatch(/bootstrap/);
  });
});
