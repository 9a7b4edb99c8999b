/**
 * A run's history from its parts, for runs that drive faults themselves (the container e2e suite) rather than
 * through runNemesis: the producers' sends, values they made but never reported on (unknown, `info`), the
 * read-back, and any extra ops (nemesis windows), in time order. A value read that no send names but that a
 * producer which did not finish cleanly may have made is an unknown send too, not an unexpected value.
 */
import type { HistoryOp } from '../checker/history.ts';
import type { ProducerProcess } from './producer.ts';
import type { ReadBack } from './readback.ts';

/** What collectHistory needs of a producer (a ProducerProcess, or a recording of one). */
export type ProducerRecord = Pick<ProducerProcess, 'name' | 'ops' | 'sent' | 'unreported'>;

export function collectHistory(o: { topic: string; producers: readonly ProducerRecord[]; read: Pick<ReadBack, 'ops'>; extra?: readonly HistoryOp[]; endMs?: number }): HistoryOp[] {
  const history: HistoryOp[] = [...(o.extra ?? [])];
  for (const p of o.producers) {
    for (const op of p.ops) history.push(op); // not push(...ops): a 30-minute run has more ops than the stack has room for arguments
    // Unreported values were last known of when the producers ended.
    const endMs = o.endMs ?? Date.now();
    for (const value of p.unreported()) history.push({ type: 'send', process: p.name, topic: o.topic, partition: 0, key: value, value, outcome: 'info', timeMs: endMs });
  }
  const sent = new Set(history.flatMap((op) => (op.type === 'send' ? [op.value] : [])));
  for (const op of o.read.ops) {
    if (op.type !== 'poll' || sent.has(op.value)) continue;
    const p = o.producers.find((x) => x.sent === null && op.value.startsWith(`${x.name}-`));
    if (p === undefined) continue;
    history.push({ type: 'send', process: p.name, topic: o.topic, partition: op.partition, key: op.value, value: op.value, outcome: 'info', timeMs: op.timeMs });
    sent.add(op.value);
  }
  for (const op of o.read.ops) history.push(op);
  // Stable: ops of one process keep their order.
  return history.sort((a, b) => a.timeMs - b.timeMs);
}
