import type { Database } from '@parley/db';
import { Redis } from 'ioredis';
import { connectDatabase } from '../adapters/database.ts';
import { Argon2PasswordHasher } from '../adapters/argon2/password-hasher.ts';
import { systemClock } from '../clock.ts';
import type { Config } from '../config.ts';
import { AccountService } from '../domain/accounts/account.service.ts';
import { CommunityService } from '../domain/communities/community.service.ts';
import { DiscoveryService } from '../domain/discovery/discovery.service.ts';
import { Store } from '../domain/store.ts';
import { emitterRealtime } from '../adapters/socket-io/emitter-realtime.ts';
import type { Logger } from '../logger.ts';
import type { Realtime } from '../realtime/realtime.ts';

/** What an admin command works with: the same domain services as a pod, without a server. */
export interface AdminContext {
  readonly config: Config;
  readonly store: Store;
  readonly accounts: AccountService;
  readonly communities: CommunityService;
  readonly discovery: DiscoveryService;
  close(): Promise<void>;
}

/**
 * No node can be running on an embedded database while the CLI holds it (the
 * data directory is locked), so there are no connections to reach.
 */
const noConnections: Realtime = {
  addUserToRooms: () => {},
  removeUserFromRooms: () => {},
  addConnectionToRooms: () => {},
  removeConnectionFromRooms: () => {},
  emit: () => {},
  endSessions: () => {},
  refreshRooms: () => {},
  accessChanged: () => {},
};

/**
 * Opens the database and, in a cluster, a Redis emitter: room operations
 * (closing a revoked session's sockets) reach every pod through the
 * Socket.IO Redis adapter, exactly as a pod's own would.
 */
export async function openAdminContext(config: Config, logger: Logger): Promise<AdminContext> {
  const database: Database = await connectDatabase(config, logger);
  let redis: Redis | undefined;
  let realtime = noConnections;
  if (config.redis) {
    redis = new Redis(config.redis.url, { connectionName: 'parley:admin', maxRetriesPerRequest: 2 });
    realtime = emitterRealtime(redis, config.redis.keyPrefix);
  }
  const store = new Store(database.db);
  const accounts = new AccountService({
    store,
    hasher: new Argon2PasswordHasher(),
    clock: systemClock,
    realtime,
    sessionTtlMs: config.auth.sessionTokenTtlMs,
    mode: config.auth.mode,
  });
  const communities = new CommunityService({ store, realtime });
  if (config.communities.defaultServerName) await communities.ensureDefaultServer(config.communities.defaultServerName);
  return {
    config,
    store,
    accounts,
    communities,
    discovery: new DiscoveryService({ store, clock: systemClock }),
    close: async () => {
      // QUIT is answered only after the emitter's PUBLISHes, so nothing published is lost.
      await redis?.quit();
      await database.close();
    },
  };
}
