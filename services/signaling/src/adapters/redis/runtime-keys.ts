/**
 * Key names of the shared runtime state in Redis: node heartbeats, presence,
 * voice. Every key carries the `{rt}` hash tag, so all of them live in one
 * slot of a Redis Cluster and one Lua script may change any of them at once.
 * Scripts receive `base` as ARGV[1] and build the names they only learn while
 * running (the node of an owner, the room of a seat) with the same scheme.
 */
export class RuntimeKeys {
  /** `<keyPrefix>{rt}:`, the start of every key below. */
  readonly base: string;

  constructor(keyPrefix: string) {
    this.base = `${keyPrefix}{rt}:`;
  }

  /** Exists (with a PX of the heartbeat TTL) while the node incarnation is alive. */
  node(incarnation: string): string {
    return `${this.base}node:${incarnation}`;
  }

  /**
   * Sorted set of lapsed node incarnations being cleared, scored by when they
   * were claimed: a claim not finished (forgotten) within the TTL is handed out again.
   */
  get claimedNodes(): string {
    return `${this.base}claimed-nodes`;
  }

  /** Sorted set of node incarnations, scored by their last heartbeat (Redis time, ms). */
  get nodes(): string {
    return `${this.base}nodes`;
  }

  /** Hash of a user's connections: connectionId → `<incarnation>|<status>`. */
  presence(userId: string): string {
    return `${this.base}presence:${userId}`;
  }

  /** Hash of aggregated statuses: userId → status; a user who is absent is offline. */
  get presenceStatus(): string {
    return `${this.base}presence-status`;
  }

  /** Set of `<userId>|<connectionId>` a node incarnation recorded. */
  nodeConnections(incarnation: string): string {
    return `${this.base}node-conns:${incarnation}`;
  }

  /** Hash of a voice room's seats: userId → seat JSON. */
  voiceRoom(channelId: string): string {
    return `${this.base}voice-room:${channelId}`;
  }

  /** A user's voice owner as JSON. */
  voiceOwner(userId: string): string {
    return `${this.base}voice-owner:${userId}`;
  }

  /** Counter stamped on each new voice seat (`joinSeq`), so that seats taken in the same millisecond keep their join order. */
  get voiceJoinSeq(): string {
    return `${this.base}voice-join-seq`;
  }

  /** Set of the user ids whose voice owner lives on a node incarnation. */
  nodeVoice(incarnation: string): string {
    return `${this.base}node-voice:${incarnation}`;
  }
}

/**
 * Lua shared by the scripts: `base` (ARGV[1]), the key builders above, Redis
 * time in ms (pods' clocks may disagree, Redis's is the one clock they share),
 * and node liveness (its heartbeat key exists).
 */
export const RUNTIME_LUA = `
local base = ARGV[1]
local function nodeKey(inc) return base .. 'node:' .. inc end
local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function alive(inc) return redis.call('EXISTS', nodeKey(inc)) == 1 end
`;
