/**
 * A hand-driven cluster for golden-trace tests: an explicit message queue (nothing moves until `deliver`),
 * partitions, crash/restart against a durable store that keeps only what advanced Readies persisted.
 * Every command returns the trace lines it produced.
 */
import { assert, seededRng } from '@tributary/common';
import {
  RaftNode,
  describeEntry,
  describeMessage,
  describeRole,
  type Entry,
  type Message,
  type QuorumStateData,
  type RaftNodeOptions,
  type Ready,
  type Snapshot,
} from '../src/index.ts';

export interface DurableStore {
  quorumState: QuorumStateData | null;
  snapshot: Snapshot | null;
  entries: Entry[];
}

export function applyReadyToStore(store: DurableStore, rd: Ready): void {
  if (rd.persistQuorumState) store.quorumState = rd.persistQuorumState;
  if (rd.installSnapshot) {
    store.snapshot = rd.installSnapshot;
    store.entries = [];
  }
  if (rd.persistSnapshot) {
    const end = rd.persistSnapshot.id.endOffset;
    store.snapshot = rd.persistSnapshot;
    store.entries = store.entries.filter((e) => e.offset >= end);
  }
  if (rd.truncateTo !== null) {
    const t = rd.truncateTo;
    store.entries = store.entries.filter((e) => e.offset < t);
  }
  for (const entry of rd.appendEntries) {
    const expected = store.entries.length > 0 ? store.entries[store.entries.length - 1]!.offset + 1 : (store.snapshot?.id.endOffset ?? 0);
    assert(entry.offset === expected, () => `durable append at ${entry.offset}, expected ${expected}`);
    store.entries.push(entry);
  }
}

interface TestNode {
  id: number;
  node: RaftNode | null;
  store: DurableStore;
  incarnation: number;
  /** Entries applied by the state machine (for `snapshot`). */
  appliedTo: number;
  applied: string[];
}

const text = new TextEncoder();

export class TestCluster {
  readonly nodes = new Map<number, TestNode>();
  voters: number[] = [];
  queue: Message[] = [];
  /** Node id -> partition group; nodes in different groups cannot talk. */
  #groups = new Map<number, number>();
  #options: Pick<RaftNodeOptions, 'electionTimeoutTicks' | 'fetchTimeoutTicks' | 'fetchIntervalTicks' | 'requestTimeoutTicks' | 'limits'> = {
    electionTimeoutTicks: 10,
    fetchTimeoutTicks: 8,
    fetchIntervalTicks: 2,
    requestTimeoutTicks: 6,
  };

  run(line: string): string[] {
    const out: string[] = [];
    const [cmd, ...args] = tokenize(line);
    const kv = new Map<string, string>();
    const pos: string[] = [];
    for (const a of args) {
      const i = a.indexOf('=');
      if (i > 0 && !a.startsWith('"')) kv.set(a.slice(0, i), a.slice(i + 1));
      else pos.push(a);
    }
    const ids = (s: string | undefined): number[] => (s ? s.split(',').filter(Boolean).map(Number) : []);
    const target = (): TestNode => {
      const n = this.nodes.get(Number(pos[0]));
      assert(n, `no node ${pos[0]}`);
      return n;
    };
    const live = (n: TestNode): RaftNode => {
      assert(n.node, `node ${n.id} is down`);
      return n.node;
    };
    switch (cmd) {
      case 'cluster': {
        this.voters = ids(kv.get('voters'));
        for (const [k, v] of kv) {
          if (k === 'election') this.#options.electionTimeoutTicks = Number(v);
          if (k === 'fetch-timeout') this.#options.fetchTimeoutTicks = Number(v);
          if (k === 'fetch-interval') this.#options.fetchIntervalTicks = Number(v);
          if (k === 'max-fetch-entries') this.#options.limits = { ...this.#options.limits, maxFetchEntries: Number(v) };
          if (k === 'snapshot-chunk') this.#options.limits = { ...this.#options.limits, maxSnapshotChunkBytes: Number(v) };
        }
        for (const id of [...this.voters, ...ids(kv.get('observers'))]) {
          const n: TestNode = { id, node: null, store: { quorumState: null, snapshot: null, entries: [] }, incarnation: 0, appliedTo: 0, applied: [] };
          this.nodes.set(id, n);
          this.#start(n);
        }
        break;
      }
      case 'campaign': {
        const n = target();
        if (!live(n).campaign()) out.push(`n${n.id}: cannot campaign`);
        this.#processReady(n, out);
        break;
      }
      case 'tick': {
        const times = Number(kv.get('x') ?? pos.find((p) => p.startsWith('x'))?.slice(1) ?? 1);
        const which = pos[0] === 'all' || pos[0] === undefined || pos[0].startsWith('x') ? [...this.nodes.values()] : [target()];
        for (let i = 0; i < times; i++) {
          for (const n of which) {
            if (!n.node) continue;
            n.node.tick();
            this.#processReady(n, out);
          }
        }
        break;
      }
      case 'deliver': {
        const to = kv.has('to') ? Number(kv.get('to')) : null;
        this.#deliverRound(out, (m) => to === null || m.to === to);
        break;
      }
      case 'drop': {
        const to = kv.has('to') ? Number(kv.get('to')) : null;
        const from = kv.has('from') ? Number(kv.get('from')) : null;
        const keep: Message[] = [];
        for (const m of this.queue) {
          if ((to === null || m.to === to) && (from === null || m.from === from)) out.push(`${describeMessage(m)} DROPPED`);
          else keep.push(m);
        }
        this.queue = keep;
        break;
      }
      case 'stabilize': {
        for (let round = 0; round < 200 && this.queue.length > 0; round++) this.#deliverRound(out, () => true);
        assert(this.queue.length === 0, 'stabilize did not converge');
        break;
      }
      case 'propose': {
        const n = target();
        const records = pos.slice(1).map((p) => text.encode(JSON.parse(p) as string));
        const r = live(n).propose(records);
        out.push(r.accepted ? `n${n.id}: proposed at ${r.offset}@${r.epoch}` : `n${n.id}: rejected ${r.reason} leader=${r.leaderId ?? '-'}`);
        this.#processReady(n, out);
        break;
      }
      case 'resign': {
        const n = target();
        if (!live(n).resign()) out.push(`n${n.id}: not leader`);
        this.#processReady(n, out);
        break;
      }
      case 'partition': {
        this.#groups.clear();
        line
          .slice('partition'.length)
          .split('|')
          .forEach((group, g) => {
            for (const id of ids(group.trim().split(/\s+/).join(','))) this.#groups.set(id, g);
          });
        break;
      }
      case 'heal':
        this.#groups.clear();
        break;
      case 'crash': {
        const n = target();
        n.node = null;
        this.queue = this.queue.filter((m) => m.to !== n.id && m.from !== n.id);
        out.push(`n${n.id}: crashed`);
        break;
      }
      case 'restart': {
        const n = target();
        assert(!n.node, 'restart a crashed node');
        this.#start(n);
        out.push(`n${n.id}: restarted as ${describeRole(n.node!.role)} log=[${n.node!.log.startOffset},${n.node!.log.endOffset}) hw=${n.node!.highWatermark}`);
        this.#processReady(n, out);
        break;
      }
      case 'snapshot': {
        const n = target();
        const id = live(n).createSnapshot(n.appliedTo, text.encode(JSON.stringify(n.applied)));
        out.push(id ? `n${n.id}: snapshot ${id.endOffset}@${id.epoch}` : `n${n.id}: nothing to snapshot`);
        this.#processReady(n, out);
        break;
      }
      case 'status':
        for (const n of this.nodes.values()) {
          if (!n.node) {
            out.push(`n${n.id}: down`);
            continue;
          }
          const node = n.node;
          out.push(`n${n.id}: ${describeRole(node.role)} log=[${node.log.startOffset},${node.log.endOffset}) lastEpoch=${node.log.lastEpoch()} hw=${node.highWatermark} applied=${n.appliedTo}`);
        }
        break;
      case 'log': {
        const node = live(target());
        const entries = node.log.endOffset > node.log.startOffset ? node.log.read(node.log.startOffset, 1000, 1 << 30) : [];
        const snap = node.log.snapshotId;
        out.push(`n${pos[0]}: ${snap ? `snapshot ${snap.endOffset}@${snap.epoch} ` : ''}[${entries.map(describeEntry).join(' ')}]`);
        break;
      }
      case 'describe': {
        const d = live(target()).describeQuorum();
        if (!d) {
          out.push(`n${pos[0]}: not leader`);
          break;
        }
        out.push(`leader=${d.leaderId} epoch=${d.epoch} hw=${d.highWatermark}`);
        for (const [kind, list] of [['voter', d.voters], ['observer', d.observers]] as const) {
          for (const r of list) out.push(`  ${kind} ${r.nodeId}: end=${r.logEndOffset ?? '-'} lastFetch=${r.lastFetchTick ?? '-'}`);
        }
        break;
      }
      default:
        throw new Error(`unknown command ${cmd}`);
    }
    return out;
  }

  #start(n: TestNode): void {
    n.incarnation++;
    const s = n.store;
    n.node = new RaftNode({
      nodeId: n.id,
      voters: this.voters,
      ...this.#options,
      rng: seededRng(n.id * 1000 + n.incarnation),
      restored: { quorumState: s.quorumState, snapshot: s.snapshot, entries: [...s.entries] },
    });
    n.appliedTo = s.snapshot?.id.endOffset ?? 0;
    n.applied = s.snapshot ? (JSON.parse(new TextDecoder().decode(s.snapshot.data)) as string[]) : [];
  }

  #canTalk(a: number, b: number): boolean {
    return (this.#groups.get(a) ?? -1) === (this.#groups.get(b) ?? -1);
  }

  #deliverRound(out: string[], which: (m: Message) => boolean): void {
    const batch = this.queue.filter(which);
    this.queue = this.queue.filter((m) => !which(m));
    for (const m of batch) {
      const dest = this.nodes.get(m.to);
      if (!dest?.node || !this.#canTalk(m.from, m.to)) {
        out.push(`${describeMessage(m)} DROPPED`);
        continue;
      }
      out.push(describeMessage(m));
      dest.node.step(m);
      this.#processReady(dest, out);
    }
  }

  #processReady(n: TestNode, out: string[]): void {
    const node = n.node;
    if (!node) return;
    while (node.hasReady()) {
      const rd = node.ready();
      const p = `n${n.id}:`;
      for (const c of rd.roleChanges) out.push(`${p} ${describeRole(c.from)} -> ${describeRole(c.to)} (${c.reason})`);
      if (rd.persistQuorumState) {
        const q = rd.persistQuorumState;
        out.push(`${p} persist epoch=${q.epoch} votedFor=${q.votedFor ?? '-'} leader=${q.leaderId ?? '-'}`);
      }
      if (rd.installSnapshot) out.push(`${p} install snapshot ${rd.installSnapshot.id.endOffset}@${rd.installSnapshot.id.epoch} (${rd.installSnapshot.data.byteLength}B)`);
      if (rd.persistSnapshot) out.push(`${p} persist snapshot ${rd.persistSnapshot.id.endOffset}@${rd.persistSnapshot.id.epoch}`);
      if (rd.truncateTo !== null) out.push(`${p} truncate to ${rd.truncateTo}`);
      if (rd.appendEntries.length > 0) out.push(`${p} append [${rd.appendEntries.map(describeEntry).join(' ')}]`);
      applyReadyToStore(n.store, rd);
      if (rd.installSnapshot) {
        n.applied = JSON.parse(new TextDecoder().decode(rd.installSnapshot.data)) as string[];
        n.appliedTo = rd.installSnapshot.id.endOffset;
      }
      if (rd.committed.length > 0) {
        out.push(`${p} commit [${rd.committed.map(describeEntry).join(' ')}] hw=${rd.highWatermark}`);
        for (const e of rd.committed) {
          assert(e.offset === n.appliedTo, `apply ${e.offset}, expected ${n.appliedTo}`);
          n.applied.push(describeEntry(e));
          n.appliedTo++;
        }
      }
      for (const m of rd.messages) this.queue.push(m);
      node.advance();
    }
  }
}

/** Split on spaces, keeping "quoted strings" whole. */
function tokenize(line: string): string[] {
  return line.match(/"(?:[^"\\]|\\.)*"|\S+/g) ?? [];
}
