import pino from 'pino';
import type { Logger } from '@tributary/common';

/** pino to stdout as JSON lines; `level` from TRIB_LOG_LEVEL (default info). */
export function createLogger(bindings: Record<string, unknown>, level = process.env.TRIB_LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, base: bindings, timestamp: pino.stdTimeFunctions.isoTime }) as unknown as Logger;
}
