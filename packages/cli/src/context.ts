/** What every command handler gets: I/O streams, output mode, and a lazily connected client. */
import { KafkaClient, parseBootstrap, type ClientOptions } from '@tributary/client';

export interface CliIo {
  stdin: NodeJS.ReadableStream;
  stdout: { write(chunk: string): unknown };
  stderr: { write(chunk: string): unknown };
  env: Record<string, string | undefined>;
}

/** A bad command line: reported with usage hints and exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export class CommandContext {
  readonly io: CliIo;
  readonly json: boolean;
  readonly bootstrapServer: string;
  /** Aborted on SIGINT, so long-running commands (consume) stop cleanly. */
  readonly signal: AbortSignal;
  readonly requestTimeoutMs: number;
  #client: KafkaClient | null = null;

  constructor(io: CliIo, options: { json: boolean; bootstrapServer: string; signal: AbortSignal; requestTimeoutMs: number }) {
    this.io = io;
    this.json = options.json;
    this.bootstrapServer = options.bootstrapServer;
    this.signal = options.signal;
    this.requestTimeoutMs = options.requestTimeoutMs;
  }

  /** Options for a client of this command (the shared one, or one a group consumer owns). */
  clientOptions(): ClientOptions {
    try {
      parseBootstrap(this.bootstrapServer);
    } catch (err) {
      throw new UsageError(`--bootstrap-server: ${(err as Error).message}`);
    }
    return {
      bootstrapServers: this.bootstrapServer,
      clientId: 'trib',
      requestTimeoutMs: this.requestTimeoutMs,
      connectTimeoutMs: Math.min(this.requestTimeoutMs, 10_000),
    };
  }

  client(): KafkaClient {
    if (this.#client === null) this.#client = new KafkaClient(this.clientOptions());
    return this.#client;
  }

  out(line: string): void {
    this.io.stdout.write(line.endsWith('\n') ? line : `${line}\n`);
  }

  /** One JSON document on one line. */
  outJson(value: unknown): void {
    this.io.stdout.write(`${JSON.stringify(value)}\n`);
  }

  async close(): Promise<void> {
    if (this.#client !== null) await this.#client.close();
    this.#client = null;
  }
}
