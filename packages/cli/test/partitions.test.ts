import { KafkaError, type ElectionResult } from '@tributary/client';
import { describe, expect, it } from 'vitest';
import { electionArgs, partitionFilter } from '../src/cli.ts';
import { UsageError } from '../src/context.ts';
import { classifyElection, electionReport, matchesFilter, minIsrOf } from '../src/partitions.ts';
import { trib } from './helpers.ts';

const live = new Set([1, 2, 3]);
const healthy = { leader: 1, replicas: [1, 2, 3], isr: [1, 2, 3] };
const shrunk = { leader: 1, replicas: [1, 2, 3], isr: [1, 2] };
const alone = { leader: 1, replicas: [1, 2, 3], isr: [1] };
const leaderless = { leader: -1, replicas: [1, 2, 3], isr: [] };
const leaderGone = { leader: 4, replicas: [4, 2, 3], isr: [4] };

describe('partition filters', () => {
  it('under-replicated: ISR smaller than the replicas', () => {
    expect([healthy, shrunk, alone, leaderless].map((p) => matchesFilter('under-replicated', p, 2, live))).toEqual([false, true, true, true]);
  });

  it("under-min-isr and at-min-isr compare the ISR with the topic's min.insync.replicas", () => {
    expect([healthy, shrunk, alone, leaderless].map((p) => matchesFilter('under-min-isr', p, 2, live))).toEqual([false, false, true, true]);
    expect([healthy, shrunk, alone, leaderless].map((p) => matchesFilter('at-min-isr', p, 2, live))).toEqual([false, true, false, false]);
    expect(matchesFilter('at-min-isr', healthy, 3, live)).toBe(true);
  });

  it('unavailable: no leader, or a leader that is not a live broker', () => {
    expect([healthy, leaderless, leaderGone].map((p) => matchesFilter('unavailable', p, 1, live))).toEqual([false, true, true]);
  });

  it("min.insync.replicas falls back to Kafka's default 1 when absent or unreadable", () => {
    expect([minIsrOf('2'), minIsrOf(undefined), minIsrOf(null), minIsrOf('x'), minIsrOf('0')]).toEqual([2, 1, 1, 1, 1]);
  });
});

const result = (topic: string, partition: number, code: number, message = ''): ElectionResult => ({
  topic,
  partition,
  error: code === 0 ? null : new KafkaError(code, code === 84 ? 'ELECTION_NOT_NEEDED' : 'PREFERRED_LEADER_NOT_AVAILABLE', message),
});

describe('election report', () => {
  it('groups elected and not-needed partitions, sorted, and lists each failure', () => {
    const lines = [result('b', 1, 0), result('a', 2, 0), result('a', 0, 84), result('b', 0, 80, 'PREFERRED_LEADER_NOT_AVAILABLE: replica 3 is not in the ISR')].map(classifyElection);
    expect(electionReport('preferred', lines)).toEqual([
      'Successfully completed leader election (PREFERRED) for partitions a-2, b-1',
      'Valid replica already elected for partitions a-0',
      'Error completing leader election (PREFERRED) for partition b-0: PREFERRED_LEADER_NOT_AVAILABLE: replica 3 is not in the ISR',
    ]);
  });

  it('says so when nothing needed an election (every partition asked for, all led by their preferred replica)', () => {
    expect(electionReport('unclean', [])).toEqual(['No partition needed a leader election (UNCLEAN).']);
  });
});

describe('elect-leaders and describe-filter arguments', () => {
  it('takes exactly one election type and a scope', () => {
    expect(electionArgs({ preferred: true, 'all-topic-partitions': true })).toEqual({ type: 'preferred', scope: { kind: 'all' } });
    expect(electionArgs({ unclean: true, topic: 't' })).toEqual({ type: 'unclean', scope: { kind: 'topic', topic: 't', partitions: null } });
    expect(electionArgs({ preferred: true, topic: 't', partition: [3, 1, 3] })).toEqual({ type: 'preferred', scope: { kind: 'topic', topic: 't', partitions: [1, 3] } });
    expect(() => electionArgs({ topic: 't' })).toThrow(new UsageError('elect-leaders needs --preferred or --unclean'));
    expect(() => electionArgs({ preferred: true })).toThrow(/needs --topic T or --all-topic-partitions/);
    expect(() => electionArgs({ preferred: true, partition: [0] })).toThrow(/--partition needs --topic/);
    expect(() => electionArgs({ preferred: true, topic: 't', partition: [-1] })).toThrow(/--partition must be an integer in 0\.\.2147483647/);
    expect(() => electionArgs({ preferred: true, topic: 'bad name' })).toThrow(/invalid topic name/);
  });

  it('takes at most one describe filter', () => {
    expect(partitionFilter({})).toEqual({});
    expect(partitionFilter({ 'under-min-isr': true })).toEqual({ filter: 'under-min-isr' });
    expect(() => partitionFilter({ 'under-replicated': true, unavailable: true })).toThrow(/one partition filter at a time; got --under-replicated and --unavailable/);
  });

  it('refuses bad command lines with exit code 2 before connecting', async () => {
    for (const [args, message] of [
      [['partition', 'elect-leaders', '--topic', 't'], /needs --preferred or --unclean/],
      [['partition', 'elect-leaders', '--preferred', '--unclean', '--topic', 't'], /mutually exclusive/],
      [['partition', 'elect-leaders', '--preferred', '--all-topic-partitions', '--topic', 't'], /mutually exclusive/],
      [['topic', 'describe', '--under-replicated', '--at-min-isr'], /one partition filter at a time/],
      [['partition'], /partition needs a subcommand/],
    ] as const) {
      const r = await trib(['-b', '127.0.0.1:1', ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(message);
    }
  });
});
