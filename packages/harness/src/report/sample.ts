/**
 * A synthetic run for demos and report tests: a producer and a consumer against a modelled three-node
 * cluster, under a seeded nemesis schedule. While a kill, stop, pause, partition or power-loss window is
 * open the leader is unreachable (sends time out or fail); latency windows slow acknowledgements. With
 * `plant`, a power-loss window loses one acknowledged write and a retry duplicates another, so the report
 * has something to show. Not a model of Tributary: a fixture for the checker and the report. Pure.
 */
import { seededRng } from '@tributary/common';
import type { HistoryOp } from '../checker/history.ts';
import { nemesisSchedule, scheduleToHistory, type NemesisConfig } from '../nemesis/schedule.ts';

export interface SampleRunOptions {
  readonly seed?: number;
  readonly durationMs?: number;
  /** Sends per second. */
  readonly rate?: number;
  readonly plant?: boolean;
}

export const SAMPLE_TOPIC = 'jepsen';
const PARTITIONS = 3;

export function sampleNemesisConfig(seed: number, durationMs: number): NemesisConfig {
  return {
    seed,
    cluster: { controllers: 3, brokers: 3, combined: true, replicationFactor: 3 },
    faults: [
      { fault: 'kill' }, { fault: 'latency', delayMs: 120, jitterMs: 30 }, { fault: 'partition', mode: 'isolate' },
      { fault: 'pause' }, { fault: 'power-loss', targets: 'all' },
    ],
    durationMs,
    faultMs: [6_000, 12_000],
    quietMs: [8_000, 14_000],
  };
}

export function sampleHistory(options: SampleRunOptions = {}): HistoryOp[] {
  const seed = options.seed ?? 1;
  const durationMs = options.durationMs ?? 120_000;
  const rate = options.rate ?? 40;
  const rng = seededRng(seed);
  const schedule = nemesisSchedule(sampleNemesisConfig(seed, durationMs));
  const t0 = 1_700_000_000_000;
  const windows = schedule.events.filter((e) => e.phase === 'start').map((start) => {
    const stop = schedule.events.find((e) => e.phase === 'stop' && e.window === start.window)!;
    return { fault: start.fault, startMs: start.atMs, stopMs: stop.atMs };
  });
  const faultAt = (t: number): string | null => windows.find((w) => t >= w.startMs && t < w.stopMs)?.fault ?? null;

  const sends: HistoryOp[] = [];
  const logs: string[][] = Array.from({ length: PARTITIONS }, () => []);
  const appendTimes: number[][] = Array.from({ length: PARTITIONS }, () => []);
  let planted = { lost: !options.plant, dup: !options.plant };
  const stepMs = Math.max(1, Math.round(1000 / rate));
  let n = 0;
  for (let t = 0; t < durationMs; t += stepMs) {
    const value = `v${n++}`;
    const partition = rng.int(PARTITIONS);
    const fault = faultAt(t);
    const down = fault !== null && fault !== 'latency';
    const baseLatencyMs = 2 + rng.int(6) + (rng.int(100) === 0 ? 40 : 0);
    const common = { type: 'send' as const, process: `p${rng.int(2)}`, topic: SAMPLE_TOPIC, partition, key: `k${rng.int(50)}`, value };
    if (down) {
      // The client times out (unknown outcome) or is told the leader is gone (fail); a few unknowns did land.
      const info = rng.int(3) !== 0;
      const latencyMs = info ? 5_000 : 30 + rng.int(200);
      if (info && rng.int(4) === 0) {
        appendTimes[partition]!.push(t);
        logs[partition]!.push(value);
      }
      sends.push({ ...common, outcome: info ? 'info' : 'fail', timeMs: t0 + t + latencyMs, latencyMs });
      continue;
    }
    const latencyMs = fault === 'latency' ? baseLatencyMs + 120 + rng.int(60) : baseLatencyMs;
    const offset = logs[partition]!.length;
    logs[partition]!.push(value);
    appendTimes[partition]!.push(t);
    sends.push({ ...common, offset, outcome: 'ok', timeMs: t0 + t + latencyMs, latencyMs });
    if (!planted.dup && t > durationMs / 3) {
      // An idempotence bug: the retry of an acknowledged batch is appended again.
      logs[partition]!.push(value);
      appendTimes[partition]!.push(t);
      planted = { ...planted, dup: true };
    }
  }
  if (!planted.lost) {
    // Power loss: the last acknowledged write before the first power-loss window was never fsynced.
    const w = windows.find((x) => x.fault === 'power-loss') ?? windows[0];
    if (w) {
      for (let p = 0; p < PARTITIONS && !planted.lost; p++) {
        const i = appendTimes[p]!.findLastIndex((at) => at < w.startMs);
        if (i > 0 && i < logs[p]!.length - 1) {
          logs[p]![i] = '\u0000lost';
          planted = { ...planted, lost: true };
        }
      }
    }
  }

  // One consumer follows each partition with ~200 ms lag; it reads nothing while its partition's leader is down.
  const polls: HistoryOp[] = [];
  for (let p = 0; p < PARTITIONS; p++) {
    polls.push({ type: 'assign', process: `c${p}`, partitions: [{ topic: SAMPLE_TOPIC, partition: p, offset: 0 }], timeMs: t0 });
    const log = logs[p]!;
    let lastAt = 0;
    for (let offset = 0; offset < log.length; offset++) {
      if (log[offset] === '\u0000lost') continue;
      let at = appendTimes[p]![offset]! + 200;
      const f = windows.find((w) => at >= w.startMs && at < w.stopMs && w.fault !== 'latency');
      if (f) at = f.stopMs + 500 + rng.int(500);
      at = Math.max(at, lastAt);
      lastAt = at;
      polls.push({ type: 'poll', process: `c${p}`, topic: SAMPLE_TOPIC, partition: p, offset, value: log[offset]!, timeMs: t0 + Math.min(at, durationMs + 2_000) });
    }
  }
  // The consumer's polls are in offset order per partition; merge everything by time, stably.
  const all: HistoryOp[] = [...scheduleToHistory(schedule, t0), ...sends, ...polls];
  return all
    .map((op, i) => [op, i] as const)
    .sort((a, b) => a[0].timeMs - b[0].timeMs || a[1] - b[1])
    .map(([op]) => op);
}
