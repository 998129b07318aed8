import type { ConnectionStatus, PresenceStatus } from '@parley/protocol';
import type { Redis } from 'ioredis';
import type { NodeIdentity } from '../../cluster/node-registry.ts';
import { RUNTIME_LUA, RuntimeKeys } from './runtime-keys.ts';
import type { PresenceChange, PresenceStore } from '../../domain/presence/presence.store.ts';

// Connections are stored as `<incarnation>|<status>`; `aggregate` recomputes
// a user's status from them and records it in the aggregate hash, returning
// { userId, previous, status } when it changed.
const PRESENCE_LUA = `${RUNTIME_LUA}
local rank = { offline = 0, idle = 1, online = 2, dnd = 3 }
local statusKey = base .. 'presence-status'
local function incarnationOf(value) return string.match(value, '^(.*)|') end
local function aggregate(userId)
  local status = 'offline'
  for _, value in ipairs(redis.call('HVALS', base .. 'presence:' .. userId)) do
    local s = string.match(value, '|(%a+)$')
    if rank[s] > rank[status] then status = s end
  end
  local previous = redis.call('HGET', statusKey, userId) or 'offline'
  if status == previous then return nil end
  if status == 'offline' then
    redis.call('HDEL', statusKey, userId)
  else
    redis.call('HSET', statusKey, userId, status)
  end
  return { userId, previous, status }
end
`;

// KEYS: the user's presence, the node's connections, the aggregate.
// ARGV: base, incarnation, userId, connectionId, status.
const SET_LUA = `${PRESENCE_LUA}
local inc, userId, connectionId = ARGV[2], ARGV[3], ARGV[4]
local member = userId .. '|' .. connectionId
local old = redis.call('HGET', KEYS[1], connectionId)
if old and incarnationOf(old) ~= inc then
  redis.call('SREM', base .. 'node-conns:' .. incarnationOf(old), member)
end
redis.call('HSET', KEYS[1], connectionId, inc .. '|' .. ARGV[5])
redis.call('SADD', KEYS[2], member)
return aggregate(userId)
`;

// KEYS: the user's presence, the aggregate. ARGV: base, userId, connectionId.
const REMOVE_LUA = `${PRESENCE_LUA}
local userId, connectionId = ARGV[2], ARGV[3]
local old = redis.call('HGET', KEYS[1], connectionId)
if not old then return nil end
redis.call('HDEL', KEYS[1], connectionId)
redis.call('SREM', base .. 'node-conns:' .. incarnationOf(old), userId .. '|' .. connectionId)
return aggregate(userId)
`;

// KEYS: the node's connections, the aggregate. ARGV: base, incarnation, batch
// size. Removes up to a batch of the node's connections, so a large node does
// not hold Redis for long; returns { changes, connections left }. A connection
// since recorded by another incarnation stays. A user is aggregated once, in
// the batch that removes the last of their connections on that node.
const REMOVE_NODE_LUA = `${PRESENCE_LUA}
local inc = ARGV[2]
local affected, users, changes = {}, {}, {}
for _, member in ipairs(redis.call('SPOP', KEYS[1], ARGV[3])) do
  local userId, connectionId = string.match(member, '^([^|]*)|(.*)$')
  local key = base .. 'presence:' .. userId
  local value = redis.call('HGET', key, connectionId)
  if value and incarnationOf(value) == inc then
    redis.call('HDEL', key, connectionId)
    if not affected[userId] then
      affected[userId] = true
      users[#users + 1] = userId
    end
  end
end
local function holdsMore(userId)
  for _, value in ipairs(redis.call('HVALS', base .. 'presence:' .. userId)) do
    if incarnationOf(value) == inc then return true end
  end
  return false
end
for _, userId in ipairs(users) do
  if not holdsMore(userId) then
    local change = aggregate(userId)
    if change then changes[#changes + 1] = change end
  end
end
return { changes, redis.call('SCARD', KEYS[1]) }
`;

/** Connections removed per script: a script of a few ms, however large the node. */
const REMOVE_BATCH = 500;

type Arg = string | number;
type ChangeReply = [userId: string, previous: PresenceStatus, status: PresenceStatus];

type ScriptedRedis = Redis & {
  parleyPresenceSet(presenceKey: string, nodeKey: string, statusKey: string, ...args: Arg[]): Promise<ChangeReply | null>;
  parleyPresenceRemove(presenceKey: string, statusKey: string, ...args: Arg[]): Promise<ChangeReply | null>;
  parleyPresenceRemoveNode(nodeKey: string, statusKey: string, ...args: Arg[]): Promise<[ChangeReply[], number]>;
};

const toChange = ([userId, previous, status]: ChangeReply): PresenceChange => ({ userId, previous, status });

export interface RedisPresenceStoreOptions {
  readonly redis: Redis;
  /** The cluster's key prefix. */
  readonly keyPrefix: string;
  readonly identity: NodeIdentity;
}

/**
 * Presence in Redis (see RuntimeKeys for the keys): each change is one script
 * (`removeNode`, one per batch of connections), so the pods agree on every
 * aggregate transition and exactly one of them reports it. `statuses` reads
 * the aggregate hash only: one HMGET however many users. Connections of a
 * dead node count until its reaper calls `removeNode`, which is what
 * announces them going.
 */
export class RedisPresenceStore implements PresenceStore {
  readonly #redis: ScriptedRedis;
  readonly #keys: RuntimeKeys;
  readonly #identity: NodeIdentity;

  constructor(options: RedisPresenceStoreOptions) {
    options.redis.defineCommand('parleyPresenceSet', { numberOfKeys: 3, lua: SET_LUA });
    options.redis.defineCommand('parleyPresenceRemove', { numberOfKeys: 2, lua: REMOVE_LUA });
    options.redis.defineCommand('parleyPresenceRemoveNode', { numberOfKeys: 2, lua: REMOVE_NODE_LUA });
    this.#redis = options.redis as ScriptedRedis;
    this.#keys = new RuntimeKeys(options.keyPrefix);
    this.#identity = options.identity;
  }

  async set(userId: string, connectionId: string, status: ConnectionStatus): Promise<PresenceChange | null> {
    const keys = this.#keys;
    const incarnation = this.#identity.current;
    const reply = await this.#redis.parleyPresenceSet(
      keys.presence(userId),
      keys.nodeConnections(incarnation),
      keys.presenceStatus,
      keys.base,
      incarnation,
      userId,
      connectionId,
      status,
    );
    return reply && toChange(reply);
  }

  async remove(userId: string, connectionId: string): Promise<PresenceChange | null> {
    const keys = this.#keys;
    const reply = await this.#redis.parleyPresenceRemove(keys.presence(userId), keys.presenceStatus, keys.base, userId, connectionId);
    return reply && toChange(reply);
  }

  async statuses(userIds: readonly string[]): Promise<Map<string, PresenceStatus>> {
    if (userIds.length === 0) return new Map();
    const statuses = await this.#redis.hmget(this.#keys.presenceStatus, ...userIds);
    return new Map(userIds.map((userId, i) => [userId, (statuses[i] as PresenceStatus | null) ?? 'offline']));
  }

  async removeNode(nodeId: string): Promise<PresenceChange[]> {
    const keys = this.#keys;
    const changes: PresenceChange[] = [];
    for (;;) {
      const [batch, left] = await this.#redis.parleyPresenceRemoveNode(
        keys.nodeConnections(nodeId),
        keys.presenceStatus,
        keys.base,
        nodeId,
        REMOVE_BATCH,
      );
      changes.push(...batch.map(toChange));
      if (left === 0) return changes;
    }
  }
}
