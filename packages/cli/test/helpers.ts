/** Runs `trib` in-process with captured output and a given stdin. */
import { Readable } from 'node:stream';
import { run } from '../src/cli.ts';
import type { CliIo } from '../src/context.ts';

export interface TribResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function trib(args: string[], options: { stdin?: string; env?: Record<string, string>; signal?: AbortSignal } = {}): Promise<TribResult> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdin: Readable.from(options.stdin === undefined ? [] : [options.stdin]),
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    env: options.env ?? {},
  };
  const code = await run(args, io, options.signal ? { signal: options.signal } : {});
  return { code, stdout, stderr };
}
