import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { trib } from './helpers.ts';

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  return port;
}

function expectUsageError(result: { code: number; stdout: string; stderr: string }, message: RegExp): void {
  expect(result.code).toBe(2);
  expect(result.stdout).toBe('');
  const [first] = result.stderr.split('\n');
  expect(first).toMatch(/^trib: /);
  expect(first).toMatch(message);
}

describe('trib argument parsing', () => {
  it('prints help and exits 0', async () => {
    const r = await trib(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('trib <command>');
    expect(r.stdout).toContain('--bootstrap-server');
  });

  it('prints topic subcommand help', async () => {
    const r = await trib(['topic', '--help']);
    expect(r.code).toBe(0);
    for (const sub of ['create', 'list', 'describe', 'delete', 'alter-config']) expect(r.stdout).toContain(`trib topic ${sub}`);
  });

  it('rejects a missing command', async () => {
    expectUsageError(await trib([]), /give a command/);
  });

  it('rejects a missing topic subcommand', async () => {
    expectUsageError(await trib(['topic']), /topic needs a subcommand/);
  });

  it('rejects an unknown option', async () => {
    expectUsageError(await trib(['topic', 'list', '--bogus']), /Unknown argument: bogus/);
  });

  it('rejects a missing positional', async () => {
    expectUsageError(await trib(['topic', 'create']), /Not enough non-option arguments/);
  });

  it('rejects a non-numeric partition count', async () => {
    expectUsageError(await trib(['topic', 'create', 't', '--partitions', 'abc']), /--partitions must be an integer/);
  });

  it('rejects a zero partition count', async () => {
    expectUsageError(await trib(['topic', 'create', 't', '--partitions', '0']), /--partitions must be an integer in 1\.\./);
  });

  it('rejects a malformed --config', async () => {
    expectUsageError(await trib(['topic', 'create', 't', '--config', 'retention.ms']), /--config expects key=value, got "retention.ms"/);
  });

  it('rejects an invalid topic name', async () => {
    expectUsageError(await trib(['topic', 'create', 'bad/name']), /invalid topic name "bad\/name"/);
  });

  it('rejects alter-config with nothing to do', async () => {
    expectUsageError(await trib(['topic', 'alter-config', 't']), /at least one --set or --delete/);
  });

  it('rejects alter-config that sets and deletes one key', async () => {
    expectUsageError(await trib(['topic', 'alter-config', 't', '--set', 'a=1', '--delete', 'a']), /config a is both set and deleted/);
  });

  it('rejects an unknown compression codec', async () => {
    expectUsageError(await trib(['produce', 't', '--compression', 'brotli']), /--compression must be one of none, gzip, snappy, lz4, zstd/);
  });

  it('rejects bad acks', async () => {
    expectUsageError(await trib(['produce', 't', '--acks', '2']), /--acks must be an integer in -1\.\.1/);
  });

  it('rejects conflicting consume start positions', async () => {
    expectUsageError(await trib(['consume', 't', '--from-beginning', '--offset', '3']), /mutually exclusive/);
    expectUsageError(await trib(['consume', 't', '--latest', '--offset', '3']), /mutually exclusive/);
  });

  it('rejects a negative offset', async () => {
    expectUsageError(await trib(['consume', 't', '--offset', '-4']), /--offset must be an integer >= 0/);
  });

  it('prints group subcommand help', async () => {
    const r = await trib(['group', '--help']);
    expect(r.code).toBe(0);
    for (const sub of ['list', 'describe', 'delete', 'reset-offsets', 'delete-offsets']) expect(r.stdout).toContain(`trib group ${sub}`);
  });

  it('rejects a missing group subcommand', async () => {
    expectUsageError(await trib(['group']), /group needs a subcommand/);
  });

  it('rejects an unknown group state', async () => {
    expectUsageError(await trib(['group', 'list', '--state', 'Sleeping']), /--state must be one of .*Stable.*, got "Sleeping"/);
  });

  it('rejects an empty group id', async () => {
    expectUsageError(await trib(['group', 'describe', '']), /group id must not be empty/);
    expectUsageError(await trib(['consume', 't', '--group', '']), /group id must not be empty/);
  });

  it('rejects delete without a group', async () => {
    expectUsageError(await trib(['group', 'delete']), /Not enough non-option arguments/);
  });

  it('rejects reset-offsets without exactly one target', async () => {
    expectUsageError(await trib(['group', 'reset-offsets', 'g', '--topic', 't']), /needs exactly one of --to-earliest, --to-latest, --to-offset, --to-datetime, --shift-by; none was given/);
    expectUsageError(await trib(['group', 'reset-offsets', 'g', '--topic', 't', '--to-earliest', '--to-offset', '3']), /got --to-earliest and --to-offset/);
  });

  it('rejects reset-offsets without a topic, or with a malformed one', async () => {
    expectUsageError(await trib(['group', 'reset-offsets', 'g', '--to-latest']), /reset-offsets needs at least one --topic/);
    expectUsageError(await trib(['group', 'reset-offsets', 'g', '--topic', 't:1,x', '--to-latest']), /--topic t:1,x: partitions must be a comma-separated list of integers >= 0, got "x"/);
    expectUsageError(await trib(['group', 'reset-offsets', 'g', '--topic', 't:', '--to-latest']), /--topic t:: partitions must be/);
    expectUsageError(await trib(['group', 'reset-offsets', 'g', '--topic', 'bad/topic', '--to-latest']), /invalid topic name "bad\/topic"/);
  });

  it('rejects bad reset-offsets values', async () => {
    expectUsageError(await trib(['group', 'reset-offsets', 'g', '--topic', 't', '--to-offset', '-1']), /--to-offset must be an integer >= 0/);
    expectUsageError(await trib(['group', 'reset-offsets', 'g', '--topic', 't', '--shift-by', 'many']), /--shift-by must be an integer \(negative moves back\), got "NaN"/);
    expectUsageError(await trib(['group', 'reset-offsets', 'g', '--topic', 't', '--to-datetime', 'yesterday']), /--to-datetime expects an ISO 8601 date-time such as 2024-05-01T12:00:00Z, got "yesterday"/);
    expectUsageError(await trib(['group', 'reset-offsets', 'g', '--topic', 't', '--to-datetime', '2024-13-45T99:00:00Z']), /--to-datetime expects an ISO 8601 date-time/);
  });

  it('rejects reset-offsets with both --dry-run and --execute', async () => {
    expectUsageError(await trib(['group', 'reset-offsets', 'g', '--topic', 't', '--to-latest', '--dry-run', '--execute']), /mutually exclusive/);
  });

  it('rejects delete-offsets without a topic', async () => {
    expectUsageError(await trib(['group', 'delete-offsets', 'g']), /delete-offsets needs at least one --topic/);
  });

  it('rejects consume --group with a partition or an offset', async () => {
    expectUsageError(await trib(['consume', 't', '--group', 'g', '--partition', '1']), /mutually exclusive/);
    expectUsageError(await trib(['consume', 't', '--group', 'g', '--offset', '1']), /mutually exclusive/);
  });

  it('rejects a bad --throttle before reading the plan or sending anything', async () => {
    // The plan file does not exist and the broker is unreachable: the rate is checked first.
    const port = await closedPort();
    for (const bad of ['0', '-5', 'lots']) {
      expectUsageError(await trib(['partition', 'reassign', '--execute', '--plan', '/nonexistent/plan.json', `--throttle=${bad}`, '-b', `127.0.0.1:${port}`]), new RegExp(`--throttle must be a replication rate in bytes/s.*got "${bad}"`));
    }
    expectUsageError(await trib(['partition', 'reassign', '--verify', '--plan', '/nonexistent/plan.json', '--throttle', '1000', '-b', `127.0.0.1:${port}`]), /--throttle goes with --execute/);
  });

  it('rejects a malformed bootstrap server', async () => {
    expectUsageError(await trib(['topic', 'list', '-b', 'nohostport']), /invalid bootstrap server "nohostport"/);
  });

  it('reports an unreachable broker in one line with exit code 1', async () => {
    const port = await closedPort();
    const r = await trib(['topic', 'list', '--bootstrap-server', `127.0.0.1:${port}`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`trib: cannot connect to broker 127.0.0.1:${port}: ECONNREFUSED\n`);
  });

  it('takes the bootstrap server from TRIB_BOOTSTRAP_SERVER', async () => {
    const port = await closedPort();
    const r = await trib(['cluster', 'info'], { env: { TRIB_BOOTSTRAP_SERVER: `127.0.0.1:${port}` } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`127.0.0.1:${port}`);
  });

  it('lets --bootstrap-server win over the environment', async () => {
    const port = await closedPort();
    const r = await trib(['cluster', 'info', '-b', `127.0.0.1:${port}`], { env: { TRIB_BOOTSTRAP_SERVER: '127.0.0.1:1' } });
    expect(r.stderr).toContain(`127.0.0.1:${port}`);
  });

  it('the bin exits with the code run returns', async () => {
    const bin = fileURLToPath(new URL('../bin/trib.js', import.meta.url));
    const usage = spawnSync(process.execPath, [bin, 'topic', 'create'], { encoding: 'utf8', env: { ...process.env, TRIB_BOOTSTRAP_SERVER: '' } });
    expect(usage.status).toBe(2);
    expect(usage.stderr).toMatch(/^trib: /);
    const port = await closedPort();
    const unreachable = spawnSync(process.execPath, [bin, 'topic', 'list', '-b', `127.0.0.1:${port}`], { encoding: 'utf8' });
    expect(unreachable.status).toBe(1);
    expect(unreachable.stderr).toBe(`trib: cannot connect to broker 127.0.0.1:${port}: ECONNREFUSED\n`);
  });
});
