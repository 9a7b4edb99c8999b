import { describe, expect, it } from 'vitest';
import {
  FAULT_KINDS, NemesisConfigError, nemesisSchedule, scheduleToHistory, validateNemesisConfig,
  type FaultSpec, type NemesisConfig,
} from '../src/index.ts';

const base: NemesisConfig = {
  seed: 42,
  cluster: { controllers: 3, brokers: 3, combined: true, replicationFactor: 3 },
  faults: [
    { fault: 'kill' }, { fault: 'stop', targets: 'minority' }, { fault: 'pause' },
    { fault: 'partition', mode: 'halves' }, { fault: 'partition', mode: 'client', oneWay: true },
    { fault: 'latency', delayMs: 100, jitterMs: 20 }, { fault: 'loss', percent: 10 }, { fault: 'reorder', percent: 25, delayMs: 10 },
    { fault: 'disk-full' }, { fault: 'disk-readonly' }, { fault: 'power-loss', targets: 'all' },
  ],
  durationMs: 600_000,
  faultMs: [5_000, 20_000],
  quietMs: [5_000, 10_000],
};

function problems(patch: Partial<NemesisConfig>): string[] {
  return validateNemesisConfig({ ...base, ...patch });
}

describe('nemesis schedule', () => {
  it('is reproducible: the same seed gives the same schedule, another seed a different one', () => {
    const a = nemesisSchedule(base);
    expect(nemesisSchedule(base)).toEqual(a);
    expect(nemesisSchedule({ ...base, seed: 43 }).events).not.toEqual(a.events);
  });

  it('rotates every fault, with quiet periods, healing each window before the next and before the end', () => {
    const s = nemesisSchedule(base);
    expect(s.nodes).toEqual(['n1', 'n2', 'n3']);
    const starts = s.events.filter((e) => e.phase === 'start');
    expect(starts.length).toBeGreaterThanOrEqual(FAULT_KINDS.length);
    expect(new Set(starts.map((e) => e.fault))).toEqual(new Set(FAULT_KINDS));
    expect(starts.slice(0, base.faults.length).map((e) => e.fault)).toEqual(base.faults.map((f) => f.fault));
    let prevStop = 0;
    for (let i = 0; i < s.events.length; i += 2) {
      const [start, stop] = [s.events[i]!, s.events[i + 1]!];
      expect(start.phase).toBe('start');
      expect(stop).toMatchObject({ phase: 'stop', fault: start.fault, window: start.window, targets: start.targets });
      expect(start.atMs - prevStop).toBeGreaterThanOrEqual(base.quietMs[0]);
      expect(stop.atMs - start.atMs).toBeGreaterThanOrEqual(base.faultMs[0]);
      expect(stop.atMs - start.atMs).toBeLessThanOrEqual(base.faultMs[1]);
      prevStop = stop.atMs;
    }
    expect(prevStop).toBeLessThanOrEqual(base.durationMs);
    const pause = s.events.find((e) => e.fault === 'pause' && e.phase === 'stop')!;
    expect(pause.action).toBe('resume');
    const halves = starts.find((e) => e.fault === 'partition' && e.oneWay === false)!;
    expect([...halves.sides![0], ...halves.sides![1]].sort()).toEqual(['n1', 'n2', 'n3']);
    const client = starts.find((e) => e.fault === 'partition' && e.oneWay === true)!;
    expect(client.sides![0]).toEqual(['client']);
    expect(starts.find((e) => e.fault === 'reorder')!.params).toEqual({ percent: 25, delayMs: 10 });
    expect(starts.find((e) => e.fault === 'power-loss')!.targets).toEqual(['n1', 'n2', 'n3']);
    expect(starts.find((e) => e.fault === 'stop')!.targets.length).toBe(1);
    expect(scheduleToHistory(s, 1000)[0]).toMatchObject({ type: 'nemesis', fault: 'kill', phase: 'start', timeMs: 1000 + s.events[0]!.atMs });
  });

  it('names separate controllers and brokers, and partitions between named sets', () => {
    const s = nemesisSchedule({
      ...base,
      cluster: { controllers: 3, brokers: 3, combined: false, replicationFactor: 3 },
      faults: [{ fault: 'partition', mode: 'explicit', sides: [['c1', 'b1'], ['c2', 'c3', 'b2', 'b3']], oneWay: true }, { fault: 'kill', targets: 'controllers' }],
    });
    expect(s.nodes).toEqual(['c1', 'c2', 'c3', 'b1', 'b2', 'b3']);
    expect(s.events[0]).toMatchObject({ sides: [['c1', 'b1'], ['c2', 'c3', 'b2', 'b3']], oneWay: true });
    expect(s.events[2]!.targets).toEqual(['c1', 'c2', 'c3']);
  });

  it('rejects an unknown fault name, with a suggestion', () => {
    const p = problems({ faults: [{ fault: 'kil' } as unknown as FaultSpec, { fault: 'meteor' } as unknown as FaultSpec] });
    expect(p).toEqual([
      `faults[0]: unknown fault "kil" (did you mean "kill"?); known faults: ${FAULT_KINDS.join(', ')}`,
      `faults[1]: unknown fault "meteor"; known faults: ${FAULT_KINDS.join(', ')}`,
    ]);
    expect(() => nemesisSchedule({ ...base, faults: [{ fault: 'kil' } as unknown as FaultSpec] })).toThrow(NemesisConfigError);
    expect(problems({ faults: [] })).toEqual(['faults must list at least one fault']);
  });

  it('rejects a partition or a target naming a node that does not exist', () => {
    expect(problems({ faults: [{ fault: 'partition', mode: 'explicit', sides: [['n1'], ['n2', 'n7']] }] })).toEqual([
      'faults[0].sides[1]: node "n7" does not exist; the cluster has n1, n2, n3 (and "client")',
    ]);
    expect(problems({ faults: [{ fault: 'kill', targets: ['b1'] }] })).toEqual(['faults[0].targets: node "b1" does not exist; the cluster has n1, n2, n3']);
    expect(problems({ faults: [{ fault: 'partition', mode: 'explicit', sides: [['n1', 'n2'], ['n2']] }] })).toEqual(['faults[0]: node(s) n2 on both sides of the partition']);
    expect(problems({ faults: [{ fault: 'partition', mode: 'explicit' }] })[0]).toMatch(/needs sides/);
    expect(problems({ faults: [{ fault: 'kill', targets: 'some' as unknown as 'one' }] })[0]).toMatch(/unknown selector "some"/);
  });

  it('rejects impossible cluster sizes', () => {
    const c = (cluster: Partial<NemesisConfig['cluster']>): string[] => problems({ cluster: { ...base.cluster, ...cluster } });
    expect(c({ controllers: 0, brokers: 0 })).toEqual([
      'cluster.controllers must be an integer >= 1 (a cluster needs a controller quorum), got 0',
      'cluster.brokers must be an integer >= 1, got 0',
    ]);
    expect(c({ controllers: 11, brokers: 11 })).toEqual(['cluster.controllers is 11: at most 9 controllers (a larger quorum only slows commits)']);
    expect(c({ combined: false, brokers: 2 })).toEqual(['cluster.replicationFactor 3 needs at least 3 brokers, the cluster has 2']);
    expect(c({ combined: true, brokers: 5 })).toEqual(['cluster.combined: every node is both controller and broker, so controllers (3) must equal brokers (5)']);
    expect(c({ replicationFactor: 0 })).toEqual(['cluster.replicationFactor must be an integer >= 1, got 0']);
    expect(c({ controllers: 1.5 })[0]).toMatch(/controllers must be an integer/);
  });

  it('rejects bad netem parameters and timings', () => {
    expect(problems({ faults: [{ fault: 'loss', percent: 150 }] })).toEqual(['faults[0]: percent must be in (0, 100], got 150']);
    expect(problems({ faults: [{ fault: 'reorder', percent: 10, delayMs: 0 }] })).toEqual(['faults[0]: delayMs (reorder needs a delay) must be an integer number of milliseconds in 1..10000, got 0']);
    expect(problems({ faults: [{ fault: 'latency', delayMs: -5 }] })).toEqual(['faults[0]: delayMs must be an integer number of milliseconds in 1..10000, got -5']);
    // Past 10 s it is a partition, which has its own fault.
    expect(problems({ faults: [{ fault: 'latency', delayMs: 10_001, jitterMs: 20_000 }] })).toEqual([
      'faults[0]: delayMs must be an integer number of milliseconds in 1..10000, got 10001',
      'faults[0]: jitterMs must be an integer number of milliseconds in 0..10000, got 20000',
    ]);
    expect(problems({ faults: [{ fault: 'loss', percent: 0 }, { fault: 'reorder', percent: Number.NaN, delayMs: 10 }] })).toEqual([
      'faults[0]: percent must be in (0, 100], got 0',
      'faults[1]: percent must be in (0, 100], got NaN',
    ]);
    expect(problems({ quietMs: [10, 5] })[0]).toMatch(/^quietMs must be \[min, max\]/);
    expect(problems({ durationMs: 1000 })).toEqual(['durationMs 1000 is too short for one fault window (quiet 5000 + fault 5000 + quiet 5000)']);
  });

  it('reports every problem at once in the thrown error', () => {
    try {
      nemesisSchedule({ ...base, cluster: { ...base.cluster, controllers: 0 }, faults: [{ fault: 'nope' } as unknown as FaultSpec] });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(NemesisConfigError);
      expect((err as NemesisConfigError).problems.length).toBe(3);
      expect((err as Error).message).toMatch(/^invalid nemesis configuration:\n {2}- cluster.controllers/);
    }
  });
});
