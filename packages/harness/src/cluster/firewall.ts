/**
 * Network partitions between local processes, with iptables on loopback.
 *
 * Every node listens on 127.0.0.1, so addresses cannot tell nodes apart. Instead each node runs under its own
 * group id (still root, so file access is unchanged) and rules match the *sender's* group with `-m owner
 * --gid-owner`: "node x may not reach node y" drops x's packets to y's listening ports. Every connection
 * between nodes is opened by one side to the other's listening port (client, controller, replication), so
 * dropping each side's packets to the other's ports cuts new and already open connections alike. The
 * workload's clients run under the harness' own group: the `client` side of a partition is that group.
 *
 * All rules live in one chain of our own (`TRIBCHAOS-<pid>`) jumped to from OUTPUT; heal flushes it, dispose
 * removes the jump and the chain. A chain whose owning process is gone (a run killed with -9) is removed by
 * the next run (`removeStaleChains`), so no rule outlives its run for long.
 */
import { execFileSync } from 'node:child_process';

export const CHAIN_PREFIX = 'TRIBCHAOS-';
const iptablesTimeoutMs = 10_000;

/** What a rule needs to know of a node: its group and the ports it listens on. */
export interface FirewallNode {
  readonly name: string;
  readonly gid: number;
  /** Every port the node listens on (client, controller, replication). */
  readonly ports: readonly number[];
  /** The client (PLAINTEXT) port, if the node is a broker. */
  readonly clientPort: number | null;
}

/** The argv (after `iptables`) of each rule cutting `a` off from `b` (and `b` from `a` unless oneWay). */
export function partitionRules(
  chain: string,
  sides: readonly [readonly string[], readonly string[]],
  nodes: ReadonlyMap<string, FirewallNode>,
  clientGid: number,
  oneWay: boolean,
): string[][] {
  const rules: string[][] = [];
  const drop = (gid: number, portFlag: '--dport' | '--sport', ports: readonly number[]): void => {
    if (ports.length === 0) return;
    // multiport takes at most 15 ports per rule.
    for (let i = 0; i < ports.length; i += 15) {
      rules.push(['-A', chain, '-p', 'tcp', '-o', 'lo', '-m', 'owner', '--gid-owner', String(gid), '-m', 'multiport', portFlag, ports.slice(i, i + 15).join(','), '-j', 'DROP']);
    }
  };
  const node = (name: string): FirewallNode => {
    const n = nodes.get(name);
    if (n === undefined) throw new Error(`partition names node "${name}", which the cluster does not have (it has ${[...nodes.keys()].join(', ')})`);
    return n;
  };
  // x's packets towards y.
  const cut = (x: string, y: string): void => {
    if (x === 'client' && y === 'client') return;
    if (x === 'client') {
      const to = node(y);
      drop(clientGid, '--dport', to.clientPort === null ? [] : [to.clientPort]);
    } else if (y === 'client') {
      // Nodes never dial clients: drop the answers they send from their client port.
      const from = node(x);
      drop(from.gid, '--sport', from.clientPort === null ? [] : [from.clientPort]);
    } else {
      drop(node(x).gid, '--dport', node(y).ports);
    }
  };
  for (const a of sides[0]) {
    for (const b of sides[1]) {
      cut(a, b);
      if (!oneWay) cut(b, a);
    }
  }
  return rules;
}

function iptables(args: readonly string[]): string {
  return execFileSync('iptables', ['-w', '5', ...args], { encoding: 'utf8', timeout: iptablesTimeoutMs, stdio: ['ignore', 'pipe', 'pipe'] });
}

function tryIptables(args: readonly string[]): boolean {
  try {
    iptables(args);
    return true;
  } catch {
    return false;
  }
}

/** The process exists (EPERM: it does, under another user). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function removeChain(chain: string): void {
  // The jump may have been inserted more than once only by a bug; bounded anyway.
  for (let i = 0; i < 16 && tryIptables(['-D', 'OUTPUT', '-j', chain]); i++);
  tryIptables(['-F', chain]);
  tryIptables(['-X', chain]);
}

/** Our chains in the filter table (from `iptables -S`). */
export function harnessChains(): string[] {
  const out = iptables(['-S']);
  const chains = new Set<string>();
  for (const line of out.split('\n')) {
    const m = /^-N (TRIBCHAOS-\d+)$/.exec(line.trim());
    if (m) chains.add(m[1]!);
  }
  return [...chains];
}

/** Removes chains left by runs whose process is gone. Returns the chains removed. */
export function removeStaleChains(): string[] {
  const removed: string[] = [];
  for (const chain of harnessChains()) {
    const pid = Number(chain.slice(CHAIN_PREFIX.length));
    if (pid === process.pid || pidAlive(pid)) continue;
    removeChain(chain);
    removed.push(chain);
  }
  return removed;
}

/** Checks that iptables runs and may change rules here; a clear error otherwise. */
export function checkIptables(): void {
  try {
    iptables(['-S', 'OUTPUT']);
  } catch (err) {
    throw new Error(`partition faults need iptables (as root) and it failed: ${(err as Error).message.split('\n')[0]}; run as root with iptables installed, or leave "partition" out of --faults`, { cause: err });
  }
}

export class Firewall {
  readonly chain: string;
  #nodes: Map<string, FirewallNode>;
  #clientGid: number;
  #installed = false;

  constructor(nodes: readonly FirewallNode[], clientGid: number) {
    this.chain = `${CHAIN_PREFIX}${process.pid}`;
    this.#nodes = new Map(nodes.map((n) => [n.name, n]));
    this.#clientGid = clientGid;
  }

  /** Creates the (empty) chain and jumps to it from OUTPUT; removes chains of dead runs first. */
  install(): void {
    if (this.#installed) return;
    removeStaleChains();
    removeChain(this.chain);
    iptables(['-N', this.chain]);
    this.#installed = true;
    iptables(['-I', 'OUTPUT', '1', '-j', this.chain]);
  }

  /** Cuts side A off from side B (both ways unless oneWay). Adds to any partition already in place. */
  partition(sides: readonly [readonly string[], readonly string[]], oneWay = false): number {
    if (!this.#installed) this.install();
    const rules = partitionRules(this.chain, sides, this.#nodes, this.#clientGid, oneWay);
    for (const rule of rules) iptables(rule);
    return rules.length;
  }

  /** Removes every partition rule (the chain stays, empty). */
  heal(): void {
    if (this.#installed) iptables(['-F', this.chain]);
  }

  /** Synchronous, never throws: also called from exit and signal handlers. */
  dispose(): void {
    if (!this.#installed) return;
    removeChain(this.chain);
    this.#installed = false;
  }
}
