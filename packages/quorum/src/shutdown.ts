import type { Logger } from '@tributary/common';

/**
 * The process entries' clean stop: the first SIGTERM or SIGINT stops the node and exits 0 (1 if the stop
 * fails); later signals are ignored while it stops.
 */
export function stopOnSignals(node: { stop(): Promise<void> }, logger: Logger): void {
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    node.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err: String(err) }, 'stop failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
