// A background child process whose output can be awaited line by line.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { basename, join } from 'node:path';

export class Background {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;

  constructor(command: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env) {
    this.child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout?.on('data', (c: Buffer) => { this.stdout += c.toString('utf8'); });
    // The last 100 kB: what led up to the end matters most.
    this.child.stderr?.on('data', (c: Buffer) => { this.stderr = (this.stderr + c.toString('utf8')).slice(-100_000); });
    // TRIB_E2E_CHILD_LOG_DIR keeps every child's whole stderr (e.g. a producer's debug=eos log) for a post-mortem.
    const logDir = process.env.TRIB_E2E_CHILD_LOG_DIR;
    if (logDir !== undefined && logDir !== '' && this.child.stderr !== null) {
      const name = `${basename(args.find((a) => !a.startsWith('-')) ?? command)}-${args.slice(1, 5).map((a) => basename(a)).join('-')}-${this.child.pid ?? 'x'}.stderr`;
      this.child.stderr.pipe(createWriteStream(join(logDir, name.replace(/[^\w.,-]+/g, '_'))));
    }
    this.exited = new Promise((resolveExit) => this.child.once('close', (code) => resolveExit(code)));
  }

  get running(): boolean { return this.child.exitCode === null && this.child.signalCode === null; }

  kill(): void { if (this.running) this.child.kill('SIGKILL'); }
}

export async function sleep(ms: number): Promise<void> {
  await new Promise((resolveSleep) => setTimeout(resolveSleep, ms));
}
