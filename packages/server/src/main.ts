/**
 * The `tributary` daemon: `tributary [--config FILE] [--override key=value]...`.
 * With neither, config comes from KAFKA_* variables and defaults: a single combined node
 * on 127.0.0.1:9092 with data under ./data.
 */
import { ConfigError } from '@tributary/broker';
import { parseOverride } from './config-sources.ts';
import { createLogger } from './logger.ts';
import { startNode, type StartNodeOptions } from './node.ts';

const USAGE = 'usage: tributary [--config FILE] [--override key=value]...';

function parseArgs(argv: string[]): StartNodeOptions {
  const opts: StartNodeOptions = { overrides: {}, env: process.env };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = (): string => {
      const eq = arg.indexOf('=');
      if (arg.startsWith('--') && eq > 0) return arg.slice(eq + 1);
      const next = argv[++i];
      if (next === undefined) throw new ConfigError(arg, `${arg} needs a value\n${USAGE}`);
      return next;
    };
    if (arg === '--help' || arg === '-h') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    } else if (arg === '--config' || arg.startsWith('--config=') || arg === '-c') {
      opts.configFile = value();
    } else if (arg === '--override' || arg.startsWith('--override=')) {
      const [k, v] = parseOverride(value());
      opts.overrides![k] = v;
    } else if (!arg.startsWith('-') && opts.configFile === undefined) {
      // Kafka's own scripts take the properties file as a positional argument.
      opts.configFile = arg;
    } else {
      throw new ConfigError(arg, `unknown argument ${arg}\n${USAGE}`);
    }
  }
  return opts;
}

async function main(): Promise<void> {
  const logger = createLogger({ process: 'tributary' });
  let node;
  try {
    node = await startNode({ ...parseArgs(process.argv.slice(2)) });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`tributary: config error: ${err.message}\n`);
      process.exit(2);
    }
    logger.error({ err }, 'node failed to start');
    process.stderr.write(`tributary: failed to start: ${(err as Error).message}\n`);
    process.exit(1);
  }
  const shutdown = (signal: string): void => {
    logger.info({ signal }, 'shutdown requested');
    node
      .stop()
      .then(() => process.exit(0))
      .catch((err) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

await main();
