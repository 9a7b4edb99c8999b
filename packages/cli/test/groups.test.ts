/**
 * End to end: `trib group ...` and `trib consume --group` against a real node in this process, with
 * `group.initial.rebalance.delay.ms=0` so the first rebalance of a group completes at once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@tributary/common';
import { GroupConsumer, KafkaClient } from '@tributary/client';
import { startNode, type RunningNode } from '@tributary/server';
import { trib as tribWith } from './helpers.ts';

let node: RunningNode;
let dir: string;
let bootstrap: string;
let admin: KafkaClient;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'trib-cli-groups-'));
  node = await startNode({
    overrides: { listeners: 'PLAINTEXT://127.0.0.1:0', 'log.dirs': dir, 'group.initial.rebalance.delay.ms': '0' },
    logger: silentLogger,
  });
  bootstrap = `${node.host}:${node.port}`;
  admin = new KafkaClient({ bootstrapServers: bootstrap });
}, 60_000);

afterAll(async () => {
  await admin?.close();
  await node?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function trib(args: string[], stdin?: string): ReturnType<typeof tribWith> {
  return tribWith(['-b', bootstrap, ...args], stdin === undefined ? {} : { stdin });
}

async function ok(args: string[], stdin?: string): Promise<string> {
  const r = await trib(args, stdin);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return r.stdout;
}

async function fails(args: string[], code: number, stderr: RegExp): Promise<void> {
  const r = await trib(args);
  expect(r.stderr).toMatch(stderr);
  expect(r.stderr.trimEnd().split('\n')).toHaveLength(code === 2 ? 2 : 1); // one line (plus the usage hint for exit 2)
  expect(r.code).toBe(code);
}

interface DescribedPartition {
  topic: string;
  partition: number;
  currentOffset: number | null;
  logEndOffset: number | null;
  lag: number | null;
  memberId: string | null;
  clientId: string | null;
  host: string | null;
}
interface Described {
  groupId: string;
  state: string;
  protocolType: string;
  protocol: string;
  members: { memberId: string; clientId: string; host: string; assignment: { topic: string; partitions: number[] }[] | null }[];
  partitions: DescribedPartition[];
}

async function describeJson(group: string): Promise<Described> {
  return JSON.parse(await ok(['group', 'describe', group, '--json'])) as Described;
}

/** A member of `group` that stays in it (heartbeating) until closed. */
async function activeMember(group: string, topic: string): Promise<GroupConsumer> {
  const member = new GroupConsumer({ bootstrapServers: bootstrap, clientId: 'test-member' }, { groupId: group, topics: [topic], sessionTimeoutMs: 10_000 });
  await member.poll({ maxWaitMs: 0 });
  expect(member.assignment().length).toBeGreaterThan(0);
  return member;
}

describe('trib consume --group', () => {
  it('commits what it printed, and the next run resumes right after it', async () => {
    await ok(['topic', 'create', 'resume', '--partitions', '2']);
    await ok(['produce', 'resume', '--partition', '0'], 'a\nb\nc\nd\ne\n');
    await ok(['produce', 'resume', '--partition', '1'], 'x\ny\n');

    const lines = (out: string): string[] => out.split('\n').filter(Boolean);
    const first = lines(await ok(['consume', 'resume', '--group', 'resumers', '--from-beginning', '--max-messages', '3']));
    expect(first).toHaveLength(3);
    // Exactly the printed records are committed: three in all.
    const afterFirst = await describeJson('resumers');
    expect(afterFirst.state).toBe('Empty');
    expect(afterFirst.partitions.reduce((sum, p) => sum + (p.currentOffset ?? 0), 0)).toBe(3);

    // A second run (no --from-beginning: it only matters without a committed offset) prints the rest,
    // none of them again.
    const second = lines(await ok(['consume', 'resume', '--group', 'resumers', '--timeout-ms', '1000']));
    expect([...first, ...second].sort()).toEqual(['a', 'b', 'c', 'd', 'e', 'x', 'y']);
    expect((await describeJson('resumers')).partitions.map((p) => [p.partition, p.currentOffset, p.lag])).toEqual([
      [0, 5, 0],
      [1, 2, 0],
    ]);

    // New records only, as JSON.
    await ok(['produce', 'resume', '--partition', '1'], 'z\n');
    const json = lines(await ok(['consume', 'resume', '--group', 'resumers', '--timeout-ms', '1000', '--json']));
    expect(json.map((l) => JSON.parse(l) as unknown)).toEqual([expect.objectContaining({ partition: 1, offset: 2, value: 'z' })]);
  }, 60_000);

  it('starts a new group at the end without --from-beginning, and commits that start', async () => {
    await ok(['topic', 'create', 'fresh']);
    await ok(['produce', 'fresh'], 'old\n');
    expect(await ok(['consume', 'fresh', '--group', 'fresh-g', '--timeout-ms', '300'])).toBe('');
    // The start was committed, so what arrives before the next run is not skipped.
    await ok(['produce', 'fresh'], 'new\n');
    expect(await ok(['consume', 'fresh', '--group', 'fresh-g', '--timeout-ms', '1000'])).toBe('new\n');
  }, 30_000);

  it('fails for a topic that does not exist', async () => {
    await fails(['consume', 'no-such-topic', '--group', 'g', '--timeout-ms', '100'], 1, /^trib: UNKNOWN_TOPIC_OR_PARTITION\b/);
  });

  it('the bin leaves the group and has committed its records when stopped with Ctrl-C', async () => {
    await ok(['topic', 'create', 'sigint']);
    await ok(['produce', 'sigint'], 'one\ntwo\n');
    const bin = fileURLToPath(new URL('../bin/trib.js', import.meta.url));
    const child = spawn(process.execPath, [bin, 'consume', 'sigint', '--group', 'sigint-g', '--from-beginning'], { env: { ...process.env, TRIB_BOOTSTRAP_SERVER: bootstrap } });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    await new Promise<void>((resolve) =>
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
        if (stdout === 'one\ntwo\n') resolve();
      }),
    );
    // It is a member until stopped.
    expect((await describeJson('sigint-g')).state).toBe('Stable');
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(stderr).toBe('');
    const after = await describeJson('sigint-g');
    expect(after.state).toBe('Empty');
    expect(after.partitions.map((p) => p.currentOffset)).toEqual([2]);
  }, 30_000);
});

describe('trib group', () => {
  it('lists groups, filtered by state, as a table and as JSON', async () => {
    await ok(['topic', 'create', 'listed']);
    await admin.offsetCommit('listed-empty', [{ topic: 'listed', partition: 0, offset: 0 }]);
    const member = await activeMember('listed-stable', 'listed');
    try {
      const all = JSON.parse(await ok(['group', 'list', '--json'])) as { groupId: string; state: string; protocolType: string }[];
      expect(all).toContainEqual({ groupId: 'listed-empty', state: 'Empty', protocolType: '' });
      expect(all).toContainEqual({ groupId: 'listed-stable', state: 'Stable', protocolType: 'consumer' });
      const stable = await ok(['group', 'list', '--state', 'stable']);
      expect(stable).toMatch(/^GROUP\s+STATE\s+PROTOCOL-TYPE\n/);
      expect(stable).toMatch(/^listed-stable\s+Stable\s+consumer$/m);
      expect(stable).not.toContain('listed-empty');
      expect(await ok(['group', 'list', '--state', 'CompletingRebalance'])).toBe('No groups in state CompletingRebalance.\n');
    } finally {
      await member.close();
    }
  });

  it('describes lag per partition, with the owning member, and the lag drops to 0 after consuming', async () => {
    await ok(['topic', 'create', 'lagged', '--partitions', '2']);
    await ok(['produce', 'lagged', '--partition', '0'], 'a\nb\nc\n');
    await ok(['produce', 'lagged', '--partition', '1'], 'd\n');
    await admin.offsetCommit('laggers', [
      { topic: 'lagged', partition: 0, offset: 1 },
      { topic: 'lagged', partition: 1, offset: 0 },
    ]);
    const before = await describeJson('laggers');
    expect(before).toMatchObject({ groupId: 'laggers', state: 'Empty', members: [] });
    expect(before.partitions).toEqual([
      { topic: 'lagged', partition: 0, currentOffset: 1, logEndOffset: 3, lag: 2, memberId: null, clientId: null, host: null },
      { topic: 'lagged', partition: 1, currentOffset: 0, logEndOffset: 1, lag: 1, memberId: null, clientId: null, host: null },
    ]);
    const human = await ok(['group', 'describe', 'laggers']);
    expect(human).toMatch(/^Group: laggers {2}State: Empty {2}Protocol: - {2}Members: 0 {2}Coordinator: \d+ /);
    expect(human).toMatch(/TOPIC\s+PARTITION\s+CURRENT-OFFSET\s+LOG-END-OFFSET\s+LAG\s+CONSUMER-ID\s+HOST\s+CLIENT-ID/);
    expect(human).toMatch(/^lagged\s+0\s+1\s+3\s+2\s+-\s+-\s+-$/m);

    // While a member owns the partitions, each row names it.
    const member = await activeMember('laggers', 'lagged');
    try {
      const active = await describeJson('laggers');
      expect(active).toMatchObject({ state: 'Stable', protocolType: 'consumer', protocol: 'range' });
      expect(active.members).toEqual([expect.objectContaining({ memberId: member.memberId, clientId: 'test-member', assignment: [{ topic: 'lagged', partitions: [0, 1] }] })]);
      for (const p of active.partitions) expect(p).toMatchObject({ memberId: member.memberId, clientId: 'test-member', host: expect.stringMatching(/127\.0\.0\.1/) });
      const activeHuman = await ok(['group', 'describe', 'laggers']);
      expect(activeHuman).toContain('State: Stable  Protocol: consumer/range  Members: 1');
      expect(activeHuman).toContain(member.memberId);
    } finally {
      await member.close();
    }

    expect((await ok(['consume', 'lagged', '--group', 'laggers', '--timeout-ms', '1000'])).split('\n').filter(Boolean).sort()).toEqual(['b', 'c', 'd']);
    const after = await describeJson('laggers');
    expect(after.partitions.map((p) => [p.currentOffset, p.logEndOffset, p.lag])).toEqual([
      [3, 3, 0],
      [1, 1, 0],
    ]);
  }, 30_000);

  it('says a group that does not exist does not exist', async () => {
    await fails(['group', 'describe', 'never-existed'], 1, /^trib: GROUP_ID_NOT_FOUND: group never-existed does not exist/);
  });

  it('reset-offsets: dry run changes nothing, --execute commits, refused while a member is active', async () => {
    await ok(['topic', 'create', 'resettable', '--partitions', '2']);
    await ok(['produce', 'resettable', '--partition', '0'], '0\n1\n2\n3\n4\n5\n');
    await ok(['produce', 'resettable', '--partition', '1'], '0\n1\n');
    await admin.offsetCommit('resetters', [{ topic: 'resettable', partition: 0, offset: 4 }]);
    const committed = async (): Promise<(number | null)[]> => (await describeJson('resetters')).partitions.map((p) => p.currentOffset);
    expect(await committed()).toEqual([4]);

    const plan = await ok(['group', 'reset-offsets', 'resetters', '--topic', 'resettable', '--to-earliest']);
    expect(plan).toMatch(/^Dry run: offsets of group resetters would be reset as follows \(nothing changed; add --execute to apply\):\n/);
    expect(plan).toMatch(/TOPIC\s+PARTITION\s+CURRENT-OFFSET\s+NEW-OFFSET/);
    expect(plan).toMatch(/^resettable\s+0\s+4\s+0$/m);
    expect(plan).toMatch(/^resettable\s+1\s+-\s+0$/m);
    expect(await committed()).toEqual([4]);
    // --dry-run said explicitly is the same.
    await ok(['group', 'reset-offsets', 'resetters', '--topic', 'resettable', '--to-latest', '--dry-run']);
    expect(await committed()).toEqual([4]);

    const executed = JSON.parse(await ok(['group', 'reset-offsets', 'resetters', '--topic', 'resettable:0', '--shift-by', '-3', '--execute', '--json'])) as unknown;
    expect(executed).toEqual({ groupId: 'resetters', executed: true, partitions: [{ topic: 'resettable', partition: 0, currentOffset: 4, newOffset: 1 }] });
    expect(await committed()).toEqual([1]);

    // Targets outside the log land on its nearest end.
    await ok(['group', 'reset-offsets', 'resetters', '--topic', 'resettable', '--to-offset', '5', '--execute']);
    expect(await committed()).toEqual([5, 2]);
    await ok(['group', 'reset-offsets', 'resetters', '--topic', 'resettable:1', '--shift-by', '-10', '--execute']);
    expect(await committed()).toEqual([5, 0]);
    // Every record is newer than 2020, so that time maps to the start; a future time to the end.
    await ok(['group', 'reset-offsets', 'resetters', '--topic', 'resettable:0', '--to-datetime', '2020-01-01T00:00:00Z', '--execute']);
    await ok(['group', 'reset-offsets', 'resetters', '--topic', 'resettable:1', '--to-datetime', '2999-01-01T00:00:00Z', '--execute']);
    expect(await committed()).toEqual([0, 2]);

    const member = await activeMember('resetters', 'resettable');
    try {
      await fails(
        ['group', 'reset-offsets', 'resetters', '--topic', 'resettable', '--to-latest', '--execute'],
        1,
        /^trib: cannot reset offsets: group resetters has 1 active member \(state Stable\); offsets can be reset only while a group is inactive, so stop its consumers first\n$/,
      );
      // The plan can still be looked at, with a note.
      expect(await ok(['group', 'reset-offsets', 'resetters', '--topic', 'resettable', '--to-latest'])).toContain(
        'Note: group resetters has 1 active member (state Stable); --execute would be refused.',
      );
    } finally {
      await member.close();
    }
    expect(await committed()).toEqual([0, 2]);
    await ok(['group', 'reset-offsets', 'resetters', '--topic', 'resettable', '--to-latest', '--execute']);
    expect(await committed()).toEqual([6, 2]);
  }, 30_000);

  it('reset-offsets reports a topic or partition that does not exist', async () => {
    await fails(['group', 'reset-offsets', 'resetters', '--topic', 'no-such-topic', '--to-latest'], 1, /^trib: UNKNOWN_TOPIC_OR_PARTITION: topic no-such-topic does not exist/);
    await ok(['topic', 'create', 'small']);
    await fails(['group', 'reset-offsets', 'resetters', '--topic', 'small:3', '--to-latest'], 1, /^trib: UNKNOWN_TOPIC_OR_PARTITION: partition 3 of topic small does not exist/);
  });

  it('delete: refuses a group with members by NON_EMPTY_GROUP, deletes it once empty', async () => {
    await ok(['topic', 'create', 'doomed']);
    await admin.offsetCommit('doomed-empty', [{ topic: 'doomed', partition: 0, offset: 0 }]);
    const member = await activeMember('doomed-g', 'doomed');
    try {
      const r = await trib(['group', 'delete', 'doomed-g']);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^trib: NON_EMPTY_GROUP: group doomed-g has active members \(DeleteGroups doomed-g\)\n$/);
      // Several groups: those that can go, go; the failure is still reported.
      const both = await trib(['group', 'delete', 'doomed-empty', 'doomed-g']);
      expect(both.code).toBe(1);
      expect(both.stdout).toBe('Deleted group doomed-empty.\n');
      expect(both.stderr).toMatch(/^trib: NON_EMPTY_GROUP\b/);
    } finally {
      await member.close();
    }
    expect(JSON.parse(await ok(['group', 'delete', 'doomed-g', '--json']))).toEqual([{ groupId: 'doomed-g', deleted: true, error: null }]);
    const listed = JSON.parse(await ok(['group', 'list', '--json'])) as { groupId: string }[];
    expect(listed.map((g) => g.groupId)).not.toContain('doomed-g');
    await fails(['group', 'delete', 'doomed-g'], 1, /^trib: GROUP_ID_NOT_FOUND: group doomed-g does not exist/);
  });

  it('delete-offsets: deletes an inactive group\'s offsets; refused for a topic its members read', async () => {
    await ok(['topic', 'create', 'offsets-t', '--partitions', '3']);
    await admin.offsetCommit('offsets-g', [0, 1, 2].map((partition) => ({ topic: 'offsets-t', partition, offset: 0 })));
    expect(await ok(['group', 'delete-offsets', 'offsets-g', '--topic', 'offsets-t:1'])).toMatch(/^TOPIC\s+PARTITION\s+STATUS\noffsets-t\s+1\s+deleted\n$/);
    expect((await describeJson('offsets-g')).partitions.map((p) => p.partition)).toEqual([0, 2]);
    expect(JSON.parse(await ok(['group', 'delete-offsets', 'offsets-g', '--topic', 'offsets-t', '--json']))).toEqual({
      groupId: 'offsets-g',
      partitions: [
        { topic: 'offsets-t', partition: 0, deleted: true, error: null },
        { topic: 'offsets-t', partition: 2, deleted: true, error: null },
      ],
    });
    expect(await ok(['group', 'delete-offsets', 'offsets-g', '--topic', 'offsets-t'])).toBe('Group offsets-g has no committed offsets for offsets-t.\n');

    const member = await activeMember('offsets-active', 'offsets-t');
    try {
      await member.commit();
      const r = await trib(['group', 'delete-offsets', 'offsets-active', '--topic', 'offsets-t:0']);
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/^offsets-t\s+0\s+GROUP_SUBSCRIBED_TO_TOPIC$/m);
      expect(r.stderr).toMatch(/^trib: GROUP_SUBSCRIBED_TO_TOPIC: group offsets-active has active members subscribed to the topic/);
    } finally {
      await member.close();
    }
    await fails(['group', 'delete-offsets', 'never-existed', '--topic', 'offsets-t'], 1, /^trib: GROUP_ID_NOT_FOUND\b/);
  });
});
