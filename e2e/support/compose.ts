// A deploy/compose file brought up as it is, by a compose tool (the `docker compose` plugin, else Debian's
// docker-compose 1.29, which scripts/setup-docker.sh installs), under a project name of its own so that a run
// never touches another run's containers, networks or volumes.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { run, runOk } from './kcat.ts';
import { repoRoot } from './node.ts';

const probeTimeoutMs = 20_000;
const upTimeoutMs = 240_000;
const downTimeoutMs = 120_000;

/** The argv prefix of a compose tool that answers here, or null. */
export async function findComposeTool(): Promise<string[] | null> {
  for (const argv of [['docker', 'compose'], ['docker-compose']]) {
    try {
      const result = await run(argv[0]!, [...argv.slice(1), 'version'], { timeoutMs: probeTimeoutMs });
      if (result.code === 0) return argv;
    } catch {
      // not installed: try the next one
    }
  }
  return null;
}

export class ComposeProject {
  readonly project: string;
  readonly file: string;
  readonly #tool: readonly string[];
  readonly #env: NodeJS.ProcessEnv;

  /** `file` is relative to the repository root; `env` sets the file's `${VAR:-default}` variables. */
  constructor(tool: readonly string[], file: string, env: Readonly<Record<string, string>>) {
    this.#tool = tool;
    this.file = join(repoRoot, file);
    // Lowercase letters, digits and dashes: what every compose version accepts as a project name.
    this.project = `trib-e2e-${process.pid}-${randomBytes(3).toString('hex')}`;
    this.#env = { ...process.env, ...env };
  }

  #args(args: readonly string[]): string[] {
    return [...this.#tool.slice(1), '-p', this.project, '-f', this.file, ...args];
  }

  async up(): Promise<void> {
    await runOk(this.#tool[0]!, this.#args(['up', '-d']), { timeoutMs: upTimeoutMs, env: this.#env });
  }

  /** Stops and removes the project's containers, network and named volumes; never throws (teardown). */
  async down(): Promise<string | null> {
    const result = await run(this.#tool[0]!, this.#args(['down', '-v', '--timeout', '10']), { timeoutMs: downTimeoutMs, env: this.#env }).catch((error: unknown) => ({ code: -1, stderr: (error as Error).message }));
    return result.code === 0 ? null : `${this.#tool.join(' ')} down for project ${this.project} failed (${result.code}): ${result.stderr.slice(-2000)}`;
  }

  /** The ids of the project's containers (running or not). */
  async containerIds(): Promise<string[]> {
    const result = await runOk(this.#tool[0]!, this.#args(['ps', '-q']), { timeoutMs: probeTimeoutMs, env: this.#env });
    return result.stdout.toString('utf8').split('\n').map((l) => l.trim()).filter((l) => l !== '');
  }

  /** The last `tailLines` lines each service logged, for a failed test. */
  async logs(tailLines = 80): Promise<string> {
    const result = await run(this.#tool[0]!, this.#args(['logs', '--no-color', '--tail', String(tailLines)]), { timeoutMs: probeTimeoutMs, env: this.#env });
    return `${result.stdout.toString('utf8')}${result.stderr}`;
  }
}

/** Containers, networks and volumes still labelled with `project` (compose labels everything it creates). */
export async function composeLeftovers(project: string): Promise<string[]> {
  const label = `label=com.docker.compose.project=${project}`;
  const list = async (args: string[]): Promise<string[]> => (await runOk('docker', args, { timeoutMs: probeTimeoutMs })).stdout.toString('utf8').split('\n').map((l) => l.trim()).filter((l) => l !== '');
  return [
    ...(await list(['ps', '-a', '-q', '--filter', label])).map((id) => `container ${id}`),
    ...(await list(['network', 'ls', '-q', '--filter', label])).map((id) => `network ${id}`),
    ...(await list(['volume', 'ls', '-q', '--filter', label])).map((name) => `volume ${name}`),
  ];
}
