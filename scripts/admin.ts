import { adminUsage, ConfigError, createLogger, loadConfig, openAdminContext, parseAdminArgs } from '@parley/signaling';

// npm run admin -- <command> [options]
// Operator actions against the same database (and, in a cluster, the same
// Redis) as the pods, configured by the same environment variables.

const print = (line: string) => process.stdout.write(`${line}\n`);

let parsed;
try {
  parsed = parseAdminArgs(process.argv.slice(2));
} catch (error) {
  print((error as Error).message);
}
if (!parsed) {
  print(adminUsage());
  process.exit(2);
}

let config;
try {
  config = loadConfig(process.env);
} catch (error) {
  process.stderr.write(`${error instanceof ConfigError ? error.message : String(error)}\n`);
  process.exit(1);
}

// Only warnings and worse: the command's own output is what the operator reads.
const logger = createLogger({ level: 'warn', format: config.log.format, nodeId: 'admin' });
try {
  const context = await openAdminContext(config, logger);
  try {
    process.exitCode = await parsed.command.run(context, parsed.values, print);
  } finally {
    await context.close();
  }
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exitCode = 1;
}
