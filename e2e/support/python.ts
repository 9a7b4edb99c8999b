// Runs the e2e python clients with Debian's /usr/bin/python3 (the one with confluent_kafka and kafka).
import { join, resolve } from 'node:path';
import { runOk } from './kcat.ts';
import type { ReceivedRecord } from './records.ts';

export const python = process.env.TRIB_PYTHON ?? '/usr/bin/python3';
export const pythonDir = resolve(import.meta.dirname, '../python');

export async function runPython(script: string, args: readonly string[], timeoutMs = 180_000): Promise<{ lines: unknown[]; stderr: string }> {
  const result = await runOk(python, [join(pythonDir, script), ...args], { timeoutMs, env: { ...process.env, PYTHONUNBUFFERED: '1', PYTHONPATH: pythonDir } });
  const lines = result.stdout.toString('utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as unknown);
  return { lines, stderr: result.stderr };
}

export async function runPythonLast<T>(script: string, args: readonly string[], timeoutMs?: number): Promise<T> {
  const { lines, stderr } = await runPython(script, args, timeoutMs);
  const last = lines.at(-1);
  if (last === undefined) throw new Error(`${script} ${args.join(' ')} printed nothing\n${stderr.slice(-4000)}`);
  return last as T;
}

interface JsonRecord { o: number; k: string | null; v: string | null; h: Array<[string, string | null]> }

export function decodeJsonRecords(lines: readonly unknown[]): ReceivedRecord[] {
  const b = (s: string | null) => (s === null ? null : Buffer.from(s, 'base64'));
  return lines
    .filter((l): l is JsonRecord => typeof l === 'object' && l !== null && 'o' in l)
    .map((r) => ({ offset: r.o, key: b(r.k), value: b(r.v), headers: r.h.map(([k, v]) => [k, b(v)] as [string, Buffer | null]) }));
}
