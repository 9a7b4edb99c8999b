/**
 * Latency, jitter, loss and reordering of chosen nodes' packets on loopback, leaving every other process alone.
 *
 * Which packets: each node runs under its own group id (process-cluster.ts), so rules in the mangle table's OUTPUT
 * match a node's outgoing packets with `-m owner --gid-owner` (what it sends to peers and its answers to
 * clients: like netem on a container's interface, egress only). Nothing else on `lo` is matched.
 *
 * How: `tc netem` needs sch_netem, which some kernels (this project's CI VMs) do not have, and a root qdisc on `lo`
 * would queue every process' loopback traffic. So:
 *  - loss: `-m statistic --mode random --probability p -j DROP`, in the kernel, per packet (netem's loss model);
 *  - delay with jitter, and reordering: `-j NFQUEUE --queue-bypass` to `python/nfq_delay.py`, which holds each
 *    packet's verdict for the delay (uniform jitter like netem's default; reorder: p% go at once, the rest wait,
 *    like `netem delay D reorder p%`). `--queue-bypass` lets packets through unheld if the delayer is gone, so a
 *    crashed delayer cannot turn latency into a partition.
 *
 * All rules live in one chain, `TRIBNETEM-<pid>` in the mangle table, jumped to from OUTPUT; heal flushes it and
 * releases held packets, dispose removes the chain and ends the delayer. Chains of dead runs are removed at install
 * (`removeStaleNetemChains`); a dead run's delayer sees its stdin close, releases everything and exits.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { NETEM_DELAY_MS_MAX } from '../nemesis/schedule.ts';
import { pidAlive } from './firewall.ts';

export const NETEM_CHAIN_PREFIX = 'TRIBNETEM-';
export const delayerScript = resolve(import.meta.dirname, '../../python/nfq_delay.py');
const iptablesTimeoutMs = 10_000;
const delayerReadyMs = 10_000;
const queueAttemptsMax = 8;

export type NetemParams =
  | { readonly kind: 'latency'; readonly delayMs: number; readonly jitterMs: number }
  | { readonly kind: 'loss'; readonly percent: number }
  | { readonly kind: 'reorder'; readonly percent: number; readonly delayMs: number };

/** Every problem with the parameters, each naming the field, the value and the bound. */
export function netemProblems(p: NetemParams, where = 'netem'): string[] {
  const problems: string[] = [];
  const ms = (name: string, v: number, min: number): void => {
    if (!Number.isSafeInteger(v) || v < min || v > NETEM_DELAY_MS_MAX) problems.push(`${where}: ${name} must be an integer number of milliseconds in ${min}..${NETEM_DELAY_MS_MAX}, got ${String(v)}`);
  };
  const percent = (v: number): void => {
    if (typeof v !== 'number' || !(v > 0 && v <= 100)) problems.push(`${where}: percent must be in (0, 100] (0 would inject nothing), got ${String(v)}`);
  };
  switch (p.kind) {
    case 'latency':
      ms('delayMs', p.delayMs, 1);
      ms('jitterMs', p.jitterMs, 0);
      break;
    case 'loss':
      percent(p.percent);
      break;
    case 'reorder':
      percent(p.percent);
      // Reordering is some packets overtaking delayed ones: without a delay there is nothing to overtake.
      ms('delayMs (reorder needs a delay)', p.delayMs, 1);
      break;
    default:
      problems.push(`${where}: unknown netem kind ${JSON.stringify((p as { kind: unknown }).kind)}: expected latency, loss or reorder`);
  }
  return problems;
}

/**
 * The argv (after `iptables -t mangle`) of one rule applying `p` to the packets `match` selects: the rule shape
 * both cluster kinds share (processes match their group on `lo`, containers their own `eth0`).
 */
export function netemRule(chain: string, match: readonly string[], p: NetemParams, queue: number): string[] {
  const problems = netemProblems(p);
  if (problems.length > 0) throw new Error(problems.join('; '));
  if (!Number.isSafeInteger(queue) || queue < 0 || queue > 65_535) throw new Error(`NFQUEUE number must be in 0..65535, got ${queue}`);
  const head = ['-A', chain, ...match];
  if (p.kind === 'loss') return [...head, '-m', 'statistic', '--mode', 'random', '--probability', (p.percent / 100).toFixed(6), '-j', 'DROP'];
  return [...head, '-j', 'NFQUEUE', '--queue-num', String(queue), '--queue-bypass'];
}

/** The argv (after `iptables -t mangle`) of each rule applying `p` to the packets of the given groups on loopback. */
export function netemRules(chain: string, gids: readonly number[], p: NetemParams, queue: number): string[][] {
  return gids.map((gid) => netemRule(chain, ['-o', 'lo', '-m', 'owner', '--gid-owner', String(gid)], p, queue));
}

/** The interface a container sends on: its one network's veth end. */
export const CONTAINER_EGRESS_INTERFACE = 'eth0';

/** The argv (after `iptables -t mangle`) of the rule applying `p` to everything a container sends on its eth0. */
export function containerNetemRule(chain: string, p: NetemParams, queue: number): string[] {
  return netemRule(chain, ['-o', CONTAINER_EGRESS_INTERFACE], p, queue);
}

/** The delayer's command for `p` (loss needs none: the kernel drops). */
export function delayerCommand(p: NetemParams): Record<string, number> | null {
  if (p.kind === 'latency') return { delayMs: p.delayMs, jitterMs: p.jitterMs };
  if (p.kind === 'reorder') return { delayMs: p.delayMs, reorderPercent: p.percent };
  return null;
}

function mangle(args: readonly string[]): string {
  return execFileSync('iptables', mangleArgv(args), { encoding: 'utf8', timeout: iptablesTimeoutMs, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** `iptables` argv for the mangle table (the lock wait included): callers may run it in another namespace. */
export function mangleArgv(args: readonly string[]): string[] {
  return ['-w', '5', '-t', 'mangle', ...args];
}

function tryMangle(args: readonly string[]): boolean {
  try {
    mangle(args);
    return true;
  } catch {
    return false;
  }
}

function removeNetemChain(chain: string): void {
  // Bounded: the jump is inserted once; more would be a bug.
  for (let i = 0; i < 16 && tryMangle(['-D', 'OUTPUT', '-j', chain]); i++);
  tryMangle(['-F', chain]);
  tryMangle(['-X', chain]);
}

/** Our chains in the mangle table. */
export function netemChains(): string[] {
  const chains = new Set<string>();
  for (const line of mangle(['-S']).split('\n')) {
    const m = /^-N (TRIBNETEM-\d+)$/.exec(line.trim());
    if (m) chains.add(m[1]!);
  }
  return [...chains];
}

/** Removes netem chains of runs whose process is gone. Returns the chains removed. */
export function removeStaleNetemChains(): string[] {
  const removed: string[] = [];
  for (const chain of netemChains()) {
    const pid = Number(chain.slice(NETEM_CHAIN_PREFIX.length));
    if (pid === process.pid || pidAlive(pid)) continue;
    removeNetemChain(chain);
    removed.push(chain);
  }
  return removed;
}

/** Checks the tools before anything starts: iptables' mangle table and the python the delayer runs on. */
export function checkNetemTools(python: string): string[] {
  const problems: string[] = [];
  try {
    mangle(['-S', 'OUTPUT']);
  } catch (err) {
    problems.push(`latency, loss and reorder faults need iptables' mangle table (as root), and it failed: ${(err as Error).message.split('\n')[0]}; run as root, or leave them out of --faults`);
  }
  try {
    execFileSync(python, ['-c', 'import socket; socket.AF_NETLINK'], { stdio: 'ignore', timeout: 10_000 });
  } catch {
    problems.push(`latency and reorder faults run ${delayerScript} on ${python}, which cannot start or has no AF_NETLINK; set TRIB_PYTHON to a Linux python3`);
  }
  return problems;
}

/**
 * One `nfq_delay.py` bound to one NFQUEUE number. `prefix` runs it through another command first: a container's
 * delayer is `nsenter -t <pid> -n python3 ...`, since an NFQUEUE belongs to one network namespace.
 */
export class Delayer {
  readonly queue: number;
  readonly child: ChildProcess;
  #lines: string[] = [];
  #waiters: (() => void)[] = [];
  stderr = '';
  exited = false;

  constructor(python: string, queue: number, seed: number, prefix: readonly string[] = []) {
    this.queue = queue;
    const argv = delayerArgv(python, queue, seed, prefix);
    this.child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    let pending = '';
    this.child.stdout!.on('data', (c: Buffer) => {
      pending += c.toString('utf8');
      const parts = pending.split('\n');
      pending = parts.pop() ?? '';
      // Bounded: the delayer prints one line per command we send; older unread lines are of no use.
      this.#lines.push(...parts.slice(-64));
      if (this.#lines.length > 256) this.#lines.splice(0, this.#lines.length - 256);
      this.#wake();
    });
    this.child.stderr!.on('data', (c: Buffer) => {
      this.stderr = (this.stderr + c.toString('utf8')).slice(-8192);
    });
    this.child.once('exit', () => {
      this.exited = true;
      this.#wake();
    });
    this.child.stdin!.on('error', () => undefined);
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }

  /** Waits for the next line `want`; fails if the delayer exits or is silent for too long. */
  async expect(want: string, what: string): Promise<void> {
    const deadline = Date.now() + delayerReadyMs;
    for (;;) {
      const i = this.#lines.indexOf(want);
      if (i >= 0) {
        this.#lines.splice(0, i + 1);
        return;
      }
      if (this.exited) throw new Error(`the packet delayer (NFQUEUE ${this.queue}) exited before ${what}: ${this.stderr.trim().split('\n').slice(-3).join(' | ') || 'no message'}`);
      if (Date.now() >= deadline) throw new Error(`the packet delayer (NFQUEUE ${this.queue}) did not answer within ${delayerReadyMs} ms (${what})`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, 100);
        this.#waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  async send(command: Record<string, unknown>): Promise<void> {
    this.child.stdin!.write(`${JSON.stringify(command)}\n`);
    await this.expect('ok', `acknowledging ${JSON.stringify(command)}`);
  }

  kill(): void {
    if (!this.exited) this.child.kill('SIGKILL');
  }
}

/** The delayer's argv: `prefix`, then python, the script, the queue number and the seed. Pure, for tests. */
export function delayerArgv(python: string, queue: number, seed: number, prefix: readonly string[] = []): string[] {
  return [...prefix, python, delayerScript, String(queue), String(seed)];
}

/**
 * Starts a delayer and waits until it bound its queue. A queue number another live delayer (in the same namespace)
 * holds refuses the bind, so the next few numbers derived from `salt` are tried.
 */
export async function startDelayer(python: string, seed: number, salt: number, prefix: readonly string[] = []): Promise<Delayer> {
  const errors: string[] = [];
  for (let attempt = 0; attempt < queueAttemptsMax; attempt++) {
    const queue = 10_000 + ((salt + attempt * 7919) % 50_000);
    const delayer = new Delayer(python, queue, seed, prefix);
    try {
      await delayer.expect('ready', 'binding its queue');
      return delayer;
    } catch (err) {
      delayer.kill();
      errors.push((err as Error).message);
    }
  }
  throw new Error(`could not start the packet delayer${prefix.length > 0 ? ` (${prefix.join(' ')})` : ''}: ${errors.join('; ')}`);
}

export class Netem {
  readonly chain: string;
  readonly #python: string;
  readonly #seed: number;
  #installed = false;
  #delayer: Delayer | null = null;
  #active: NetemParams | null = null;

  constructor(o: { python: string; seed?: number }) {
    this.chain = `${NETEM_CHAIN_PREFIX}${process.pid}`;
    this.#python = o.python;
    this.#seed = o.seed ?? 1;
  }

  /** The fault in place, if any. */
  get active(): NetemParams | null {
    return this.#active;
  }

  /** Creates the (empty) chain and the jump from OUTPUT; removes chains of dead runs first. */
  install(): void {
    if (this.#installed) return;
    removeStaleNetemChains();
    removeNetemChain(this.chain);
    mangle(['-N', this.chain]);
    this.#installed = true;
    mangle(['-I', 'OUTPUT', '1', '-j', this.chain]);
  }

  async #startDelayer(): Promise<Delayer> {
    if (this.#delayer !== null && !this.#delayer.exited) return this.#delayer;
    this.#delayer = await startDelayer(this.#python, this.#seed, process.pid);
    return this.#delayer;
  }

  /** Applies `p` to the outgoing packets of the given node groups, replacing any fault in place. */
  async apply(gids: readonly number[], p: NetemParams): Promise<void> {
    const problems = netemProblems(p);
    if (problems.length > 0) throw new Error(problems.join('; '));
    if (gids.length === 0) throw new Error('netem needs at least one node to act on');
    await this.heal();
    this.install();
    const command = delayerCommand(p);
    let queue = 0;
    if (command !== null) {
      const delayer = await this.#startDelayer();
      await delayer.send(command);
      queue = delayer.queue;
    }
    for (const rule of netemRules(this.chain, gids, p, queue)) mangle(rule);
    this.#active = p;
  }

  /** Removes every rule (the chain stays, empty) and lets held packets go. */
  async heal(): Promise<void> {
    if (this.#installed) mangle(['-F', this.chain]);
    this.#active = null;
    const delayer = this.#delayer;
    if (delayer !== null && !delayer.exited) await delayer.send({ release: true });
  }

  /** The rules in place, as `iptables -S` prints them. */
  rules(): string[] {
    if (!this.#installed) return [];
    return mangle(['-S', this.chain]).split('\n').filter((l) => l.startsWith('-A'));
  }

  /** Synchronous, never throws: also called from exit and signal handlers. */
  dispose(): void {
    if (this.#installed) removeNetemChain(this.chain);
    this.#installed = false;
    this.#active = null;
    this.#delayer?.kill();
    this.#delayer = null;
  }
}
