// kcat (librdkafka) as a client: metadata, line-based produce, and a byte-exact consume parser.
import { spawn } from 'node:child_process';
import type { ReceivedRecord } from './records.ts';

export interface RunResult { code: number | null; stdout: Buffer; stderr: string }

export async function run(command: string, args: readonly string[], options: { input?: Buffer | string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  return await new Promise((resolveRun, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], env: options.env ?? process.env });
    const out: Buffer[] = [];
    let stderr = '';
    const timer = setTimeout(() => { stderr += `\n[killed after ${options.timeoutMs} ms]`; child.kill('SIGKILL'); }, options.timeoutMs ?? 120_000);
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => { if (stderr.length < 200_000) stderr += c.toString('utf8'); });
    child.on('error', (error) => { clearTimeout(timer); reject(error); });
    child.on('close', (code) => { clearTimeout(timer); resolveRun({ code, stdout: Buffer.concat(out), stderr }); });
    child.stdin.on('error', () => { /* child may exit early; reported through code/stderr */ });
    child.stdin.end(options.input ?? '');
  });
}

export async function runOk(command: string, args: readonly string[], options: Parameters<typeof run>[2] = {}): Promise<RunResult> {
  const result = await run(command, args, options);
  if (result.code !== 0) throw new Error(`${command} ${args.join(' ')} exited ${result.code}\n${result.stderr.slice(-4000)}`);
  return result;
}

/** `%o\t%K\t%S\t%h\t` then the raw key and value bytes and a newline: lengths make the parse exact. */
export const kcatConsumeFormat = '%o\\t%K\\t%S\\t%h\\t%k%s\\n';

export function parseKcatOutput(out: Buffer): ReceivedRecord[] {
  const records: ReceivedRecord[] = [];
  let pos = 0;
  while (pos < out.length) {
    const fields: string[] = [];
    for (let f = 0; f < 4; f++) {
      const tab = out.indexOf(0x09, pos);
      if (tab < 0) throw new Error(`kcat output: bad record header at byte ${pos}`);
      fields.push(out.subarray(pos, tab).toString('utf8'));
      pos = tab + 1;
    }
    const keyLength = Number(fields[1]);
    const valueLength = Number(fields[2]);
    const key = keyLength < 0 ? null : Buffer.from(out.subarray(pos, pos + keyLength));
    pos += Math.max(keyLength, 0);
    const value = valueLength < 0 ? null : Buffer.from(out.subarray(pos, pos + valueLength));
    pos += Math.max(valueLength, 0);
    if (out[pos] !== 0x0a) throw new Error(`kcat output: expected newline at byte ${pos}`);
    pos += 1;
    const headers: Array<[string, Buffer | null]> = fields[3] === '' ? [] : fields[3]!.split(',').map((kv) => {
      const eq = kv.indexOf('=');
      return [kv.slice(0, eq), Buffer.from(kv.slice(eq + 1))];
    });
    records.push({ offset: Number(fields[0]), key, value, headers });
  }
  return records;
}

/** Consumes a whole topic partition with kcat (no consumer group) and parses it exactly. */
/** `withHeaders: false` for binary header values (kcat prints headers unescaped, as CSV). */
export async function kcatConsume(bootstrap: string, topic: string, options: { partition?: number; withHeaders?: boolean; extra?: string[] } = {}): Promise<ReceivedRecord[]> {
  const format = options.withHeaders === false ? kcatConsumeFormat.replace('%h', '') : kcatConsumeFormat;
  const args = ['-C', '-b', bootstrap, '-t', topic, '-p', String(options.partition ?? 0), '-o', 'beginning', '-e', '-q', '-f', format, ...(options.extra ?? [])];
  const result = await runOk('kcat', args, { timeoutMs: 120_000 });
  return parseKcatOutput(result.stdout);
}
