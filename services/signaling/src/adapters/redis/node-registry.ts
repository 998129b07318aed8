import type { Redis } from 'ioredis';
import type { NodeIdentity, NodeRegistry } from '../../cluster/node-registry.ts';
import { RUNTIME_LUA, RuntimeKeys } from './runtime-keys.ts';

// KEYS: node key, nodes. ARGV: base, incarnation, ttlMs, '1' when this
// incarnation has beaten before. Returns 0, writing nothing, when it had and
// the set no longer holds it: re-adding it would hide from the pod that its
// entries were removed.
const HEARTBEAT_LUA = `${RUNTIME_LUA}
if ARGV[4] == '1' and not redis.call('ZSCORE', KEYS[2], ARGV[2]) then return 0 end
redis.call('SET', KEYS[1], '1', 'PX', ARGV[3])
redis.call('ZADD', KEYS[2], nowMs(), ARGV[2])
return 1
`;

// KEYS: nodes, claimed nodes. ARGV: base, ttlMs. Moves the incarnations whose
// last beat is older than the TTL from nodes to claimed nodes, and hands out
// again the claims older than the TTL (their claimant died before forgetting
// them); returns both. The script runs alone, so each goes to one caller.
const CLAIM_LAPSED_LUA = `${RUNTIME_LUA}
local now = nowMs()
local before = string.format('(%d', now - tonumber(ARGV[2]))
local stale = redis.call('ZRANGE', KEYS[2], '-inf', before, 'BYSCORE')
local lapsed = redis.call('ZRANGE', KEYS[1], '-inf', before, 'BYSCORE')
for _, inc in ipairs(lapsed) do
  redis.call('ZREM', KEYS[1], inc)
  redis.call('DEL', nodeKey(inc))
  table.insert(stale, inc)
end
for _, inc in ipairs(stale) do redis.call('ZADD', KEYS[2], now, inc) end
return stale
`;

type ScriptedRedis = Redis & {
  parleyNodeHeartbeat(nodeKey: string, nodesKey: string, base: string, incarnation: string, ttlMs: number, beaten: string): Promise<number>;
  parleyNodeClaimLapsed(nodesKey: string, claimedKey: string, base: string, ttlMs: number): Promise<string[]>;
};

export interface RedisNodeRegistryOptions {
  readonly redis: Redis;
  /** The cluster's key prefix. */
  readonly keyPrefix: string;
  readonly identity: NodeIdentity;
  /** How long a heartbeat keeps a node alive; pods beat several times within it. */
  readonly ttlMs: number;
}

/**
 * Heartbeats in Redis: a key `{rt}:node:<incarnation>` that expires after
 * `ttlMs` (what the stores call alive), a sorted set `{rt}:nodes` scored by
 * the last beat, in Redis time, from which lapsed nodes are claimed, and
 * `{rt}:claimed-nodes` holding the claims until they are forgotten.
 */
export class RedisNodeRegistry implements NodeRegistry {
  readonly #redis: ScriptedRedis;
  readonly #keys: RuntimeKeys;
  readonly #identity: NodeIdentity;
  readonly #ttlMs: number;
  /** The last incarnation that beat: if the set loses it, it was declared dead. */
  #beaten: string | undefined;

  constructor(options: RedisNodeRegistryOptions) {
    options.redis.defineCommand('parleyNodeHeartbeat', { numberOfKeys: 2, lua: HEARTBEAT_LUA });
    options.redis.defineCommand('parleyNodeClaimLapsed', { numberOfKeys: 2, lua: CLAIM_LAPSED_LUA });
    this.#redis = options.redis as ScriptedRedis;
    this.#keys = new RuntimeKeys(options.keyPrefix);
    this.#identity = options.identity;
    this.#ttlMs = options.ttlMs;
  }

  async heartbeat(): Promise<boolean> {
    const incarnation = this.#identity.current;
    const keys = this.#keys;
    const beaten = this.#beaten === incarnation ? '1' : '0';
    const known = await this.#redis.parleyNodeHeartbeat(keys.node(incarnation), keys.nodes, keys.base, incarnation, this.#ttlMs, beaten);
    if (known === 0) return false;
    this.#beaten = incarnation;
    return true;
  }

  claimLapsed(): Promise<string[]> {
    return this.#redis.parleyNodeClaimLapsed(this.#keys.nodes, this.#keys.claimedNodes, this.#keys.base, this.#ttlMs);
  }

  async forget(nodeId: string): Promise<void> {
    await this.#redis.zrem(this.#keys.claimedNodes, nodeId);
  }

  async leave(): Promise<void> {
    const incarnation = this.#identity.current;
    await this.#redis.multi().del(this.#keys.node(incarnation)).zrem(this.#keys.nodes, incarnation).exec();
    this.#beaten = undefined;
  }
}
