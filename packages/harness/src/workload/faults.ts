/**
 * Faults as a command line gives them: `kill,pause,partition`, with optional targets after a colon:
 *   kill:b1        kill:majority     pause:c1+c2       stop:brokers
 *   partition:halves   partition:isolate   partition:client   partition:c1+b1/c2+c3+b2+b3  (explicit sides)
 * and netem parameters after `=` (before any targets):
 *   latency=200~50:b1      delay 200 ms, jitter +-50 ms (default latency=100~20)
 *   loss=10:brokers        10% of the packets dropped (default loss=10)
 *   reorder=25@50          25% of the packets go at once, the rest wait 50 ms (default reorder=25@50)
 *   disk-full:b2   disk-readonly:one   power-loss:b1
 * Names and values are checked later, with the cluster (validateNemesisConfig); this only parses. A number that
 * does not parse becomes NaN, which validation reports with the field's name and bounds.
 */
import { FAULT_KINDS, type FaultSpec, type TargetSpec } from '../nemesis/schedule.ts';

/** The faults a cluster of local processes can inject. */
export const PROCESS_FAULTS = ['kill', 'stop', 'pause', 'partition', 'latency', 'loss', 'reorder', 'disk-full', 'disk-readonly', 'power-loss'] as const;
export const NETEM_FAULTS = ['latency', 'loss', 'reorder'] as const;
export const DISK_FAULTS = ['disk-full', 'disk-readonly'] as const;

const SELECTORS = ['one', 'minority', 'majority', 'all', 'controllers', 'brokers'];
export const NETEM_DEFAULTS = { delayMs: 100, jitterMs: 20, lossPercent: 10, reorderPercent: 25, reorderDelayMs: 50 } as const;

function targets(text: string): TargetSpec {
  return SELECTORS.includes(text) ? (text as TargetSpec) : text.split('+').filter((n) => n !== '');
}

/** A number as typed: `''` is NaN (validation names the field), `1e3` and ` 5` are refused as well. */
function num(text: string): number {
  return /^\d+(\.\d+)?$/.test(text) ? Number(text) : Number.NaN;
}

function netemSpec(fault: string, params: string | null): FaultSpec | null {
  switch (fault) {
    case 'latency': {
      if (params === null) return { fault, delayMs: NETEM_DEFAULTS.delayMs, jitterMs: NETEM_DEFAULTS.jitterMs };
      const [delay = '', jitter] = params.split('~', 2);
      return { fault, delayMs: num(delay), jitterMs: jitter === undefined ? 0 : num(jitter) };
    }
    case 'loss':
      return { fault, percent: params === null ? NETEM_DEFAULTS.lossPercent : num(params) };
    case 'reorder': {
      if (params === null) return { fault, percent: NETEM_DEFAULTS.reorderPercent, delayMs: NETEM_DEFAULTS.reorderDelayMs };
      const [percent = '', delay] = params.split('@', 2);
      return { fault, percent: num(percent), delayMs: delay === undefined ? NETEM_DEFAULTS.reorderDelayMs : num(delay) };
    }
    default:
      return null;
  }
}

export function parseFaults(text: string): FaultSpec[] {
  const items = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (items.length > 64) throw new Error(`--faults lists ${items.length} faults; at most 64`);
  return items.map((item): FaultSpec => {
    const colon = item.indexOf(':');
    const head = colon < 0 ? item : item.slice(0, colon);
    const arg = colon < 0 ? '' : item.slice(colon + 1);
    const eq = head.indexOf('=');
    const fault = eq < 0 ? head : head.slice(0, eq);
    const params = eq < 0 ? null : head.slice(eq + 1);
    if (fault === 'partition') {
      if (arg === '') return { fault: 'partition' };
      if (arg.includes('/')) {
        const [a = '', b = ''] = arg.split('/', 2);
        return { fault: 'partition', mode: 'explicit', sides: [a.split('+').filter((n) => n !== ''), b.split('+').filter((n) => n !== '')] };
      }
      if (arg === 'halves' || arg === 'isolate' || arg === 'client') return { fault: 'partition', mode: arg };
      return { fault: 'partition', mode: 'isolate', targets: targets(arg) };
    }
    const netem = netemSpec(fault, params);
    if (netem !== null) return arg === '' ? netem : ({ ...netem, targets: targets(arg) } as FaultSpec);
    // Unknown names pass through so that validation reports them with a "did you mean".
    return (arg === '' ? { fault: head } : { fault: head, targets: targets(arg) }) as FaultSpec;
  });
}

/** Every fault a cluster of containers can inject (container-cluster.ts): the same set, since both have netem, disks and lazyFs. */
export const CONTAINER_FAULTS = PROCESS_FAULTS;

/** Problems with faults the chosen cluster kind cannot inject. */
export function unsupportedFaults(faults: readonly FaultSpec[], kind: 'processes' | 'containers' = 'processes'): string[] {
  const supported: readonly string[] = kind === 'containers' ? CONTAINER_FAULTS : PROCESS_FAULTS;
  const what = kind === 'containers' ? 'a cluster of containers' : 'a cluster of local processes';
  return faults.flatMap((f, i) => {
    const name = f.fault as string;
    // Unknown names are validateNemesisConfig's to report.
    if (!(FAULT_KINDS as readonly string[]).includes(name)) return [];
    if (!supported.includes(name)) return [`faults[${i}]: "${name}" is not supported on ${what} (supported: ${supported.join(', ')})`];
    return [];
  });
}

export const usesNetem = (faults: readonly FaultSpec[]): boolean => faults.some((f) => (NETEM_FAULTS as readonly string[]).includes(f.fault));
export const usesDisks = (faults: readonly FaultSpec[]): boolean => faults.some((f) => (DISK_FAULTS as readonly string[]).includes(f.fault));
