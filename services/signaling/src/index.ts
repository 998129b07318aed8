/**
 * `@parley/signaling`: what tools outside the service (scripts, benchmarks)
 * may use. A pod itself starts from `main.ts`.
 */

// Running a node
export { ConfigError, loadConfig, type Config } from './config.ts';
export { createLogger, type Logger } from './logger.ts';
export { startNode, type RunningNode } from './node.ts';

// Operator commands (`npm run admin`)
export { parseAdminArgs, usage as adminUsage } from './admin/admin-cli.ts';
export { openAdminContext, type AdminContext } from './admin/admin-context.ts';

// Seeding a database through the real repositories (benchmarks)
export { hashSessionToken, newSessionToken } from './domain/accounts/session-token.ts';
export { DEFAULT_TEXT_CHANNEL } from './domain/communities/community.service.ts';
export { admitMember } from './domain/communities/membership/admission.ts';
export { Store } from './domain/store.ts';
