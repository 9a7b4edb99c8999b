/**
 * A small disk of its own per node, so the nemesis can fill it or make it read-only without touching the machine's.
 *
 * Each node's `disk/` folder is a tmpfs mount (`size=` bounded, 256 MiB by default) named `tribchaos-<pid>`; the
 * node's log.dirs is `disk/data`, so the filler file (`disk/filler`) sits outside the log folder.
 *  - full: the filler grows (1 MiB writes, then 4 KiB) until ENOSPC; heal deletes it.
 *  - read-only: a read-only bind mount of `disk/` stacked on itself. The kernel refuses to make a mount read-only
 *    while files on it are open for writing (EBUSY), and a broker always has its active segments open; the stacked
 *    mount is the closest honest thing: every new open for writing, create, rename, unlink and mkdir fails with
 *    EROFS, but writes through descriptors opened before the fault still land. Heal unmounts the top mount.
 *    The read-only mount is made in a staging folder inside the disk (`disk/.ro-stage`, which nobody opens files
 *    under), then moved onto `disk/`: bound straight onto `disk/` it would be writable for a moment, the node would
 *    open files through it, and the remount to read-only would fail with EBUSY. The disk itself is made private so
 *    that the move is allowed under a shared parent (systemd hosts).
 *
 * Teardown unmounts everything, always (`disposeSync`, lazily if a file is still open); mounts of runs whose process
 * is gone are removed at the next mount (`removeStaleDisks`), found by their source name in /proc/self/mounts.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, cpSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { pidAlive } from './firewall.ts';

export const DISK_SOURCE_PREFIX = 'tribchaos-';
export const DISK_BYTES_DEFAULT = 256 * 1024 * 1024;
/** Every node gets one, in RAM: bounded so a 9 + 64 node cluster cannot take the machine's memory. */
export const DISK_BYTES_MAX = 4 * 1024 * 1024 * 1024;
export const DISK_BYTES_MIN = 16 * 1024 * 1024;
const mountTimeoutMs = 10_000;
const fillerName = 'filler';
const stageName = '.ro-stage';

export interface DiskNode {
  readonly name: string;
  /** The mount point: holds the node's data folder and the filler. */
  readonly diskDir: string;
}

export type DiskState = 'ok' | 'full' | 'readonly';

export function diskSizeProblems(bytes: number): string[] {
  if (!Number.isSafeInteger(bytes) || bytes < DISK_BYTES_MIN || bytes > DISK_BYTES_MAX) {
    return [`diskBytes must be an integer in ${DISK_BYTES_MIN}..${DISK_BYTES_MAX} (16 MiB..4 GiB, held in RAM per node), got ${String(bytes)}`];
  }
  return [];
}

/** The mount commands (argv after `mount`) for one node's disk, in order. Pure, for tests. */
export function diskMountArgs(node: DiskNode, sizeBytes: number, source: string): { mount: string[][]; stage: string; readonly: string[][] } {
  const stage = join(node.diskDir, stageName);
  return {
    mount: [['-t', 'tmpfs', '-o', `size=${sizeBytes},mode=0755`, source, node.diskDir], ['--make-private', node.diskDir]],
    stage,
    readonly: [['--bind', node.diskDir, stage], ['-o', 'remount,bind,ro', stage], ['--move', stage, node.diskDir]],
  };
}

interface MountEntry {
  readonly source: string;
  readonly target: string;
}

/** /proc/self/mounts, with the octal escapes of paths (`\040` for a space) decoded. */
export function parseMounts(text: string): MountEntry[] {
  const unescape = (s: string): string => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  return text.split('\n').flatMap((line) => {
    const [source, target] = line.split(' ');
    return source !== undefined && target !== undefined && source !== '' ? [{ source: unescape(source), target: unescape(target) }] : [];
  });
}

function mounts(): MountEntry[] {
  return parseMounts(readFileSync('/proc/self/mounts', 'utf8'));
}

/** Every mount a harness run made (`tribchaos-<pid>`), innermost (latest) last. */
export function harnessMounts(): MountEntry[] {
  return mounts().filter((m) => /^tribchaos-\d+$/.test(m.source));
}

function run(cmd: string, args: readonly string[]): void {
  execFileSync(cmd, args, { timeout: mountTimeoutMs, stdio: ['ignore', 'pipe', 'pipe'] });
}

function unmountAll(target: string): void {
  // Bounded: the disk plus one stacked read-only mount, and a margin for a stack left by a bug.
  for (let i = 0; i < 8 && mounts().some((m) => m.target === target); i++) {
    try {
      run('umount', [target]);
    } catch {
      // A file still open on it (a node that has not exited yet): detach now, freed when it closes.
      try {
        run('umount', ['-l', target]);
      } catch {
        return;
      }
    }
  }
}

/** Unmounts disks of runs whose process is gone. Returns their mount points. */
export function removeStaleDisks(): string[] {
  const stale = harnessMounts().filter((m) => {
    const pid = Number(m.source.slice(DISK_SOURCE_PREFIX.length));
    return pid !== process.pid && !pidAlive(pid);
  });
  const targets = [...new Set(stale.map((m) => m.target))];
  for (const t of targets) unmountAll(t);
  return targets;
}

/** Mount (and umount) must work here: root, and a kernel that lets this process mount tmpfs. */
export function checkMount(): string[] {
  if (process.getuid?.() !== 0) return ['disk-full and disk-readonly faults mount a small tmpfs per node and need root; run as root or leave them out of --faults'];
  try {
    run('mount', ['--version']);
    run('umount', ['--version']);
    return [];
  } catch (err) {
    return [`disk-full and disk-readonly faults need mount and umount, and they failed: ${(err as Error).message.split('\n')[0]}`];
  }
}

export class NodeDisks {
  readonly source: string;
  readonly sizeBytes: number;
  readonly #nodes: Map<string, DiskNode>;
  readonly #state = new Map<string, DiskState>();
  readonly #mounted = new Set<string>();

  constructor(nodes: readonly DiskNode[], sizeBytes = DISK_BYTES_DEFAULT) {
    const problems = diskSizeProblems(sizeBytes);
    if (problems.length > 0) throw new Error(problems.join('; '));
    this.source = `${DISK_SOURCE_PREFIX}${process.pid}`;
    this.sizeBytes = sizeBytes;
    this.#nodes = new Map(nodes.map((n) => [n.name, n]));
  }

  #node(name: string): DiskNode {
    const n = this.#nodes.get(name);
    if (n === undefined) throw new Error(`no disk for node "${name}"; the cluster's disks are ${[...this.#nodes.keys()].join(', ')}`);
    return n;
  }

  state(name: string): DiskState {
    this.#node(name);
    return this.#state.get(name) ?? 'ok';
  }

  /** Mounts every node's disk (removing mounts of dead runs first). A folder already mounted on is refused. */
  mountAll(): void {
    removeStaleDisks();
    const taken = new Set(mounts().map((m) => m.target));
    for (const node of this.#nodes.values()) {
      if (this.#mounted.has(node.name)) continue;
      if (taken.has(node.diskDir)) throw new Error(`${node.diskDir} is already a mount point; the harness mounts its own disk there: unmount it or use another cluster folder`);
      mkdirSync(node.diskDir, { recursive: true });
      const [mount, makePrivate] = diskMountArgs(node, this.sizeBytes, this.source).mount;
      run('mount', mount!);
      this.#mounted.add(node.name);
      run('mount', makePrivate!);
      this.#state.set(node.name, 'ok');
    }
  }

  /** Writes the filler until the disk is full; returns the bytes it took. */
  fill(name: string): number {
    const node = this.#node(name);
    if (this.state(name) === 'readonly') throw new Error(`disk of ${name} is read-only; heal it before filling it`);
    const fd = openSync(join(node.diskDir, fillerName), 'a');
    let written = 0;
    try {
      for (const chunkBytes of [1024 * 1024, 4096, 512]) {
        const chunk = Buffer.alloc(chunkBytes, 0x5a);
        // Bounded by the disk size: every round writes at least one byte or stops.
        for (let i = 0; i <= Math.ceil(this.sizeBytes / chunkBytes); i++) {
          let n: number;
          try {
            n = writeSync(fd, chunk);
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
            throw err;
          }
          if (n <= 0) break;
          written += n;
        }
      }
    } finally {
      closeSync(fd);
    }
    this.#state.set(name, 'full');
    return written;
  }

  /** Stacks a read-only bind mount on the disk (see the header for what that stops and what it cannot). */
  makeReadonly(name: string): void {
    const node = this.#node(name);
    if (this.state(name) === 'readonly') return;
    const { stage, readonly } = diskMountArgs(node, this.sizeBytes, this.source);
    mkdirSync(stage, { recursive: true });
    run('mount', readonly[0]!);
    try {
      run('mount', readonly[1]!);
      run('mount', readonly[2]!);
    } catch (err) {
      // Nobody opens files under the stage: it unmounts.
      if (mounts().some((m) => m.target === stage)) run('umount', [stage]);
      throw err;
    }
    this.#state.set(name, 'readonly');
  }

  /** Frees the disk and makes it writable again. */
  heal(name: string): void {
    const node = this.#node(name);
    const state = this.state(name);
    if (state === 'readonly') {
      run('umount', [node.diskDir]);
      // The stacked mount is gone only if the disk itself is still there below it.
      if (!mounts().some((m) => m.target === node.diskDir)) throw new Error(`healing ${name}'s read-only disk unmounted the disk itself (${node.diskDir})`);
    }
    rmSync(join(node.diskDir, fillerName), { force: true });
    this.#state.set(name, 'ok');
  }

  healAll(): void {
    for (const name of this.#nodes.keys()) if (this.#mounted.has(name) && this.state(name) !== 'ok') this.heal(name);
  }

  /** Bytes in use on the node's disk (df). */
  usedBytes(name: string): number {
    const out = execFileSync('df', ['-B1', '--output=used', this.#node(name).diskDir], { encoding: 'utf8', timeout: mountTimeoutMs });
    return Number(out.trim().split('\n').pop());
  }

  /** Copies the node's data off its disk (into `to`) before teardown throws it away. */
  save(name: string, to: string): void {
    const node = this.#node(name);
    if (!this.#mounted.has(name)) return;
    cpSync(join(node.diskDir, 'data'), to, { recursive: true, force: true });
  }

  /** The mount points still mounted (for tests and teardown checks). */
  mountedTargets(): string[] {
    const ours = new Set([...this.#nodes.values()].map((n) => n.diskDir));
    return mounts().filter((m) => m.source === this.source && ours.has(m.target)).map((m) => m.target);
  }

  /** Synchronous, never throws: also called from exit and signal handlers (after the nodes got -9). */
  disposeSync(): void {
    for (const name of this.#mounted) {
      try {
        unmountAll(this.#node(name).diskDir);
      } catch {
        // keep going: the other disks must go too
      }
    }
    this.#mounted.clear();
    this.#state.clear();
  }
}
