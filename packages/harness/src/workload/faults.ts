/**
 * Faults as a command line gives them: `kill,pause,partition`, with optional targets after a colon:
 *   kill:b1        kill:majority     pause:c1+c2       stop:brokers
 *   partition:halves   partition:isolate   partition:client   partition:c1+b1/c2+c3+b2+b3  (explicit sides)
 * Names are checked later, with the cluster (validateNemesisConfig); this only parses.
 */
import { FAULT_KINDS, type FaultSpec, type TargetSpec } from '../nemesis/schedule.ts';

/** The faults a cluster of local processes can inject. */
export const PROCESS_FAULTS = ['kill', 'stop', 'pause', 'partition'] as const;

const SELECTORS = ['one', 'minority', 'majority', 'all', 'controllers', 'brokers'];

function targets(text: string): TargetSpec {
  return SELECTORS.includes(text) ? (text as TargetSpec) : text.split('+').filter((n) => n !== '');
}

export function parseFaults(text: string): FaultSpec[] {
  const items = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (items.length > 64) throw new Error(`--faults lists ${items.length} faults; at most 64`);
  return items.map((item): FaultSpec => {
    const colon = item.indexOf(':');
    const fault = colon < 0 ? item : item.slice(0, colon);
    const arg = colon < 0 ? '' : item.slice(colon + 1);
    if (fault === 'partition') {
      if (arg === '') return { fault: 'partition' };
      if (arg.includes('/')) {
        const [a = '', b = ''] = arg.split('/', 2);
        return { fault: 'partition', mode: 'explicit', sides: [a.split('+').filter((n) => n !== ''), b.split('+').filter((n) => n !== '')] };
      }
      if (arg === 'halves' || arg === 'isolate' || arg === 'client') return { fault: 'partition', mode: arg };
      return { fault: 'partition', mode: 'isolate', targets: targets(arg) };
    }
    // Unknown names pass through so that validation reports them with a "did you mean".
    return (arg === '' ? { fault } : { fault, targets: targets(arg) }) as FaultSpec;
  });
}

/** Problems with faults the process runner cannot inject (netem, disk faults, power loss). */
export function unsupportedFaults(faults: readonly FaultSpec[]): string[] {
  return faults.flatMap((f, i) =>
    // Unknown names are validateNemesisConfig's to report.
    (PROCESS_FAULTS as readonly string[]).includes(f.fault) || !(FAULT_KINDS as readonly string[]).includes(f.fault)
      ? []
      : [`faults[${i}]: "${f.fault}" is not supported on a cluster of local processes (supported: ${PROCESS_FAULTS.join(', ')})`],
  );
}
