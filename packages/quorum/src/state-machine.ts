/**
 * The StateMachine port the driver applies committed entries to, and KvStateMachine, a replicated string map used
 * by the quorum process, its tests and benchmarks.
 *
 * Contract: `apply` receives every committed entry exactly once per incarnation, in offset order, after the entries
 * are durable (leader-change control entries included: a state machine skips what it does not understand).
 * `snapshot()` returns bytes for everything applied so far; `restore(s)` replaces the whole state with a snapshot
 * (null: the empty state). Both are deterministic: two replicas that applied the same prefix produce equal state.
 */
import type { Entry, RoleInfo, Snapshot } from '@tributary/raft';

export interface StateMachine {
  apply(entries: readonly Entry[]): void;
  snapshot(): Uint8Array;
  restore(snapshot: Snapshot | null): void;
  /**
   * Optional: the node's role moved (called once per Ready that reports role changes, with the role as of that
   * Ready, before its committed entries are applied). A state machine that serves writes only while leading (the
   * controller) drops its leader-only state here.
   */
  roleChanged?(role: RoleInfo): void;
}

export interface KvCommand {
  key: string;
  value: string;
}

export function encodeKvCommand(c: KvCommand): Uint8Array {
  return Buffer.from(JSON.stringify({ k: c.key, v: c.value }));
}

export function decodeKvCommand(data: Uint8Array): KvCommand | null {
  try {
    const parsed = JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8')) as { k?: unknown; v?: unknown };
    if (typeof parsed.k !== 'string' || typeof parsed.v !== 'string') return null;
    return { key: parsed.k, value: parsed.v };
  } catch {
    return null;
  }
}

/** A put-only map; the snapshot is its sorted JSON plus the end offset it covers. */
export class KvStateMachine implements StateMachine {
  readonly #map = new Map<string, string>();
  /** Exclusive end offset of what has been applied (or restored). */
  appliedOffset = 0;
  /** Entries whose data was not a command (skipped, counted). */
  skipped = 0;

  apply(entries: readonly Entry[]): void {
    for (const entry of entries) {
      if (entry.kind === 'data') {
        const command = decodeKvCommand(entry.data);
        if (command) this.#map.set(command.key, command.value);
        else this.skipped++;
      }
      this.appliedOffset = entry.offset + 1;
    }
  }

  snapshot(): Uint8Array {
    const entries = [...this.#map.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return Buffer.from(JSON.stringify({ appliedOffset: this.appliedOffset, entries }));
  }

  restore(snapshot: Snapshot | null): void {
    this.#map.clear();
    this.appliedOffset = 0;
    if (snapshot === null) return;
    const parsed = JSON.parse(Buffer.from(snapshot.data.buffer, snapshot.data.byteOffset, snapshot.data.byteLength).toString('utf8')) as { appliedOffset: number; entries: [string, string][] };
    for (const [k, v] of parsed.entries) this.#map.set(k, v);
    this.appliedOffset = snapshot.id.endOffset;
  }

  get(key: string): string | undefined {
    return this.#map.get(key);
  }

  get size(): number {
    return this.#map.size;
  }

  /** Sorted by key. */
  entries(): [string, string][] {
    return [...this.#map.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }
}
