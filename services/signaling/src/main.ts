import { ConfigError, loadConfig, type Config } from './config.ts';
import { createLogger } from './logger.ts';
import { startNode } from './node.ts';

// The composition root of a signaling pod: config, logger, node, signals.

let config: Config;
try {
  config = loadConfig(process.env);
} catch (error) {
  process.stderr.write(`${error instanceof ConfigError ? error.message : String(error)}\n`);
  process.exit(1);
}

const logger = createLogger({ level: config.log.level, format: config.log.format, nodeId: config.nodeId });

process.on('unhandledRejection', (reason) => logger.error({ err: reason }, 'unhandled promise rejection'));
process.on('uncaughtException', (error) => {
  logger.fatal({ err: error }, 'uncaught exception');
  process.exit(1);
});

let node;
try {
  node = await startNode(config, logger);
} catch (error) {
  logger.fatal({ err: error }, 'failed to start');
  process.exit(1);
}

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    setTimeout(() => {
      logger.error({ graceMs: config.shutdownGraceMs }, 'shutdown exceeded the grace period; exiting');
      process.exit(1);
    }, config.shutdownGraceMs).unref();
    void node.shutdown(signal).then(() => process.exit(0));
  });
}
