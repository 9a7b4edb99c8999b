export { run, ExitCode, DEFAULT_BOOTSTRAP_SERVER } from './cli.ts';
export { UsageError, type CliIo } from './context.ts';
