import type { Redis } from 'ioredis';
import type { NodeIdentity } from '../../cluster/node-registry.ts';
import { RuntimeKeys } from './runtime-keys.ts';
import type { VoiceFlags, VoiceJoinResult, VoiceOwner, VoiceSeat, VoiceStore } from '../../domain/voice/voice.store.ts';
import {
  EVICT_LUA,
  JOIN_LUA,
  LEAVE_LUA,
  OWNER_LUA,
  REMOVE_NODE_LUA,
  SEATS_LUA,
  SET_SERVER_MUTED_LUA,
  TAKEOVER_LUA,
  UPDATE_LUA,
} from './voice-scripts.ts';

type Arg = string | number;
type JoinReply = ['joined', string, string | null, 0 | 1] | ['full'] | ['owned_elsewhere', string];

type ScriptedRedis = Redis & {
  parleyVoiceJoin(...args: Arg[]): Promise<JoinReply>;
  parleyVoiceUpdate(...args: Arg[]): Promise<string | null>;
  parleyVoiceLeave(...args: Arg[]): Promise<[0 | 1, string | null]>;
  parleyVoiceTakeover(...args: Arg[]): Promise<[string | null, string | null]>;
  parleyVoiceOwner(...args: Arg[]): Promise<string | null>;
  parleyVoiceSetServerMuted(...args: Arg[]): Promise<string | null>;
  parleyVoiceEvict(...args: Arg[]): Promise<string | null>;
  parleyVoiceSeats(...args: Arg[]): Promise<string[][]>;
  parleyVoiceRemoveNode(...args: Arg[]): Promise<[string[], string[], number]>;
};

/** Users removed per script: a script of a few ms, however large the node. */
const REMOVE_BATCH = 500;

// Written by our own scripts only, so parsing is all the checking they need.
/**
 * A seat as stored: `joinSeq` (from one counter in Redis) orders seats taken
 * in the same millisecond; seats stored before it existed have none and
 * fall back to `joinedAt`.
 */
type StoredSeat = VoiceSeat & { joinSeq?: number };
const storedSeatOf = (raw: string) => JSON.parse(raw) as StoredSeat;
const seatOf = (raw: string): VoiceSeat => {
  const { joinSeq: _joinSeq, ...seat } = storedSeatOf(raw);
  return seat;
};
const ownerOf = (raw: string) => JSON.parse(raw) as VoiceOwner;
const seatOrNull = (raw: string | null) => (raw === null ? null : seatOf(raw));
const inJoinOrder = (a: StoredSeat, b: StoredSeat) =>
  a.joinSeq !== undefined && b.joinSeq !== undefined
    ? a.joinSeq - b.joinSeq
    : a.joinedAt - b.joinedAt || (a.userId < b.userId ? -1 : 1);

export interface RedisVoiceStoreOptions {
  readonly redis: Redis;
  /** The cluster's key prefix. */
  readonly keyPrefix: string;
  readonly identity: NodeIdentity;
}

/**
 * Voice rooms and ownership in Redis (see RuntimeKeys for the keys): one
 * script per operation (see voice-scripts.ts), one per batch of users
 * for `removeNode`. Owners and seats of a node whose heartbeat key is gone
 * count as gone: invisible to `owner` and `seats`, not counted against
 * capacity, replaced by `join`. They stay stored until `removeNode`, so their
 * departure is reported once, by its caller.
 */
export class RedisVoiceStore implements VoiceStore {
  readonly #redis: ScriptedRedis;
  readonly #keys: RuntimeKeys;
  readonly #identity: NodeIdentity;

  constructor(options: RedisVoiceStoreOptions) {
    const { redis } = options;
    redis.defineCommand('parleyVoiceJoin', { numberOfKeys: 3, lua: JOIN_LUA });
    redis.defineCommand('parleyVoiceUpdate', { numberOfKeys: 1, lua: UPDATE_LUA });
    redis.defineCommand('parleyVoiceLeave', { numberOfKeys: 1, lua: LEAVE_LUA });
    redis.defineCommand('parleyVoiceTakeover', { numberOfKeys: 2, lua: TAKEOVER_LUA });
    redis.defineCommand('parleyVoiceOwner', { numberOfKeys: 1, lua: OWNER_LUA, readOnly: true });
    redis.defineCommand('parleyVoiceSetServerMuted', { numberOfKeys: 1, lua: SET_SERVER_MUTED_LUA });
    redis.defineCommand('parleyVoiceEvict', { numberOfKeys: 1, lua: EVICT_LUA });
    redis.defineCommand('parleyVoiceSeats', { lua: SEATS_LUA, readOnly: true });
    redis.defineCommand('parleyVoiceRemoveNode', { numberOfKeys: 1, lua: REMOVE_NODE_LUA });
    this.#redis = redis as ScriptedRedis;
    this.#keys = new RuntimeKeys(options.keyPrefix);
    this.#identity = options.identity;
  }

  async join(
    request: Pick<VoiceSeat, 'userId' | 'serverId' | 'channelId' | 'clientInstanceId' | 'connectionId' | 'serverMuted'>,
    capacity: number,
  ): Promise<VoiceJoinResult> {
    const keys = this.#keys;
    const incarnation = this.#identity.current;
    const reply = await this.#redis.parleyVoiceJoin(
      keys.voiceRoom(request.channelId),
      keys.voiceOwner(request.userId),
      keys.nodeVoice(incarnation),
      keys.base,
      incarnation,
      request.userId,
      request.serverId,
      request.channelId,
      request.clientInstanceId,
      request.connectionId,
      request.serverMuted ? '1' : '0',
      capacity,
    );
    switch (reply[0]) {
      case 'joined':
        return { status: 'joined', seat: seatOf(reply[1]), moved: seatOrNull(reply[2]), alreadySeated: reply[3] === 1 };
      case 'full':
        return { status: 'full' };
      case 'owned_elsewhere':
        return { status: 'owned_elsewhere', owner: ownerOf(reply[1]) };
    }
  }

  async update(userId: string, connectionId: string, flags: VoiceFlags): Promise<VoiceSeat | null> {
    // Only the flags a participant sets; JSON leaves out the ones not given.
    const { streamId, isMuted, isDeafened, isAFK } = flags;
    const json = JSON.stringify({ streamId, isMuted, isDeafened, isAFK });
    return seatOrNull(await this.#redis.parleyVoiceUpdate(this.#keys.voiceOwner(userId), this.#keys.base, userId, connectionId, json));
  }

  async leave(userId: string, connectionId: string): Promise<{ owned: boolean; seat: VoiceSeat | null }> {
    const [owned, seat] = await this.#redis.parleyVoiceLeave(this.#keys.voiceOwner(userId), this.#keys.base, userId, connectionId);
    return { owned: owned === 1, seat: seatOrNull(seat) };
  }

  async takeover(
    userId: string,
    connectionId: string,
    clientInstanceId: string,
  ): Promise<{ previous: VoiceOwner | null; seat: VoiceSeat | null }> {
    const keys = this.#keys;
    const incarnation = this.#identity.current;
    const [previous, seat] = await this.#redis.parleyVoiceTakeover(
      keys.voiceOwner(userId),
      keys.nodeVoice(incarnation),
      keys.base,
      incarnation,
      userId,
      connectionId,
      clientInstanceId,
    );
    return { previous: previous === null ? null : ownerOf(previous), seat: seatOrNull(seat) };
  }

  async owner(userId: string): Promise<VoiceOwner | null> {
    const owner = await this.#redis.parleyVoiceOwner(this.#keys.voiceOwner(userId), this.#keys.base, userId);
    return owner === null ? null : ownerOf(owner);
  }

  async setServerMuted(serverId: string, userId: string, serverMuted: boolean): Promise<VoiceSeat | null> {
    const keys = this.#keys;
    const muted = serverMuted ? '1' : '0';
    return seatOrNull(await this.#redis.parleyVoiceSetServerMuted(keys.voiceOwner(userId), keys.base, userId, serverId, muted));
  }

  async evict(serverId: string, userId: string): Promise<VoiceSeat | null> {
    return seatOrNull(await this.#redis.parleyVoiceEvict(this.#keys.voiceOwner(userId), this.#keys.base, userId, serverId));
  }

  async seats(channelIds: readonly string[]): Promise<Map<string, VoiceSeat[]>> {
    if (channelIds.length === 0) return new Map();
    const rooms = channelIds.map((channelId) => this.#keys.voiceRoom(channelId));
    const replies = await this.#redis.parleyVoiceSeats(rooms.length, ...rooms, this.#keys.base);
    return new Map(
      channelIds.map((channelId, i) => [channelId, (replies[i] ?? []).map(storedSeatOf).sort(inJoinOrder).map(({ joinSeq: _joinSeq, ...seat }) => seat)]),
    );
  }

  async removeNode(nodeId: string): Promise<{ seats: VoiceSeat[]; owners: VoiceOwner[] }> {
    const removed: { seats: VoiceSeat[]; owners: VoiceOwner[] } = { seats: [], owners: [] };
    const key = this.#keys.nodeVoice(nodeId);
    for (;;) {
      const [seats, owners, left] = await this.#redis.parleyVoiceRemoveNode(key, this.#keys.base, nodeId, REMOVE_BATCH);
      removed.seats.push(...seats.map(seatOf));
      removed.owners.push(...owners.map(ownerOf));
      if (left === 0) return removed;
    }
  }
}
