/**
 * The simulated disk of a Raft node, shared by the quorum simulation (../simulation.ts) and the cluster's
 * controller voters (cluster/controller-node.ts): what a Ready asks to make durable, as ordered writes, and how
 * each write changes the store. A crash keeps a prefix of a Ready's writes, so they are applied one at a time.
 */
import { assert } from '@tributary/common';
import type { Entry, QuorumStateData, Ready, Snapshot } from '@tributary/raft';

export interface DurableStore {
  quorumState: QuorumStateData | null;
  snapshot: Snapshot | null;
  entries: Entry[];
}

export type WriteOp =
  | { kind: 'quorum'; data: QuorumStateData }
  | { kind: 'install'; snapshot: Snapshot }
  | { kind: 'snapshot'; snapshot: Snapshot }
  | { kind: 'truncate'; offset: number }
  | { kind: 'append'; entry: Entry };

/** A Ready's writes in the order the driver must make them durable. */
export function writeOps(rd: Ready): WriteOp[] {
  const ops: WriteOp[] = [];
  if (rd.persistQuorumState) ops.push({ kind: 'quorum', data: rd.persistQuorumState });
  if (rd.installSnapshot) ops.push({ kind: 'install', snapshot: rd.installSnapshot });
  if (rd.persistSnapshot) ops.push({ kind: 'snapshot', snapshot: rd.persistSnapshot });
  if (rd.truncateTo !== null) ops.push({ kind: 'truncate', offset: rd.truncateTo });
  for (const entry of rd.appendEntries) ops.push({ kind: 'append', entry });
  return ops;
}

/**
 * Makes one write durable in `store`. `node` names the node in assertion messages; `onDurableEpoch` hears every
 * durable quorum-state epoch (the invariant checker's hook).
 */
export function applyWriteOp(store: DurableStore, op: WriteOp, node: string, onDurableEpoch: (epoch: number) => void): void {
  const s = store;
  switch (op.kind) {
    case 'quorum':
      s.quorumState = op.data;
      onDurableEpoch(op.data.epoch);
      break;
    case 'install':
      s.snapshot = op.snapshot;
      s.entries = [];
      break;
    case 'snapshot': {
      const end = op.snapshot.id.endOffset;
      s.snapshot = op.snapshot;
      s.entries = s.entries.filter((e) => e.offset >= end);
      break;
    }
    case 'truncate':
      s.entries = s.entries.filter((e) => e.offset < op.offset);
      break;
    case 'append': {
      const last = s.entries[s.entries.length - 1];
      const expected = last ? last.offset + 1 : (s.snapshot?.id.endOffset ?? 0);
      assert(op.entry.offset === expected, () => `${node}: durable append at ${op.entry.offset}, expected ${expected}`);
      s.entries.push(op.entry);
      break;
    }
  }
}
