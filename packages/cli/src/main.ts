/** Entry point of the `trib` bin: runs the CLI on the process's argv and streams, then sets the exit code. */
import { run } from './cli.ts';

const controller = new AbortController();
// The first Ctrl-C asks long-running commands (consume) to stop cleanly; a second one kills the process.
process.once('SIGINT', () => {
  controller.abort();
  process.once('SIGINT', () => process.exit(130));
});
// `trib consume | head` closes our stdout early: stop quietly instead of crashing on EPIPE.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

const code = await run(process.argv.slice(2), { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env }, { signal: controller.signal });
process.exitCode = code;
// Nothing should be left running, but a half-open socket must not keep a finished command alive.
setTimeout(() => process.exit(code), 2000).unref();
