import { RUNTIME_LUA } from './runtime-keys.ts';

/*
 * The Lua scripts of RedisVoiceStore; each runs alone, so every change is
 * atomic across pods. Seats and owners are JSON (cjson); scripts return them
 * as encoded, false (a nil reply) for none. A room's hash disappears with its
 * last seat: Redis deletes empty hashes by itself.
 *
 * Invariant kept by every script: a seat exists ⇒ the user's owner exists,
 * names the seat's channel and is the seat's connection (and node).
 */
const VOICE_LUA = `${RUNTIME_LUA}
local function present(value) return value ~= nil and value ~= false and value ~= cjson.null end
local function ownerKey(userId) return base .. 'voice-owner:' .. userId end
local function roomKey(channelId) return base .. 'voice-room:' .. channelId end
local function nodeVoiceKey(inc) return base .. 'node-voice:' .. inc end

local function getOwner(userId)
  local raw = redis.call('GET', ownerKey(userId))
  if raw then return cjson.decode(raw), raw end
  return nil, false
end

local function putOwner(owner, previousNode)
  redis.call('SET', ownerKey(owner.userId), cjson.encode(owner))
  redis.call('SADD', nodeVoiceKey(owner.nodeId), owner.userId)
  if previousNode and previousNode ~= owner.nodeId then
    redis.call('SREM', nodeVoiceKey(previousNode), owner.userId)
  end
end

local function dropOwner(owner)
  redis.call('DEL', ownerKey(owner.userId))
  redis.call('SREM', nodeVoiceKey(owner.nodeId), owner.userId)
end

-- The seat of the owner's room, if it has one.
local function seatOf(owner)
  if not owner or not present(owner.channelId) then return nil, false end
  local raw = redis.call('HGET', roomKey(owner.channelId), owner.userId)
  if raw then return cjson.decode(raw), raw end
  return nil, false
end

local function putSeat(seat)
  local raw = cjson.encode(seat)
  redis.call('HSET', roomKey(seat.channelId), seat.userId, raw)
  return raw
end

local function dropSeat(seat) redis.call('HDEL', roomKey(seat.channelId), seat.userId) end

-- Node liveness, asked once per node per script.
local liveness = {}
local function nodeAlive(inc)
  if liveness[inc] == nil then liveness[inc] = alive(inc) end
  return liveness[inc]
end
`;

// KEYS: the room, the owner, this node's voice set. ARGV: base, incarnation,
// userId, serverId, channelId, clientInstanceId, connectionId, serverMuted
// ('1' or '0'), capacity. Returns { 'joined', seat, moved, alreadySeated },
// { 'full' } or { 'owned_elsewhere', owner }. An owner on a dead node counts
// as none: its seat is replaced (returned as moved when in another room).
export const JOIN_LUA = `${VOICE_LUA}
local inc, userId, serverId, channelId = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local clientInstanceId, connectionId = ARGV[6], ARGV[7]
local serverMuted, capacity = ARGV[8] == '1', tonumber(ARGV[9])

local owner, ownerRaw = getOwner(userId)
if owner and owner.connectionId ~= connectionId and nodeAlive(owner.nodeId) then
  return { 'owned_elsewhere', ownerRaw }
end
local current, currentRaw = seatOf(owner)
if current and owner.connectionId == connectionId and owner.channelId == channelId then
  current.serverMuted = serverMuted
  if serverMuted then current.isMuted = true end
  current.nodeId = inc
  local previousNode = owner.nodeId
  owner.nodeId = inc
  putOwner(owner, previousNode)
  return { 'joined', putSeat(current), false, 1 }
end

local taken = 0
local seats = redis.call('HGETALL', KEYS[1])
for i = 1, #seats, 2 do
  if seats[i] ~= userId and nodeAlive(cjson.decode(seats[i + 1]).nodeId) then taken = taken + 1 end
end
if taken >= capacity then return { 'full' } end

local moved = false
if current and owner.channelId ~= channelId then
  dropSeat(current)
  moved = currentRaw
end
local seat = putSeat({
  userId = userId, serverId = serverId, channelId = channelId, clientInstanceId = clientInstanceId,
  connectionId = connectionId, nodeId = inc, streamId = cjson.null, isMuted = serverMuted,
  isDeafened = false, isAFK = false, serverMuted = serverMuted, joinedAt = nowMs(),
  joinSeq = redis.call('INCR', base .. 'voice-join-seq'), -- RuntimeKeys.voiceJoinSeq
})
putOwner({ userId = userId, clientInstanceId = clientInstanceId, connectionId = connectionId, nodeId = inc,
  channelId = channelId }, owner and owner.nodeId)
return { 'joined', seat, moved, 0 }
`;

// KEYS: the owner. ARGV: base, userId, connectionId, flags (JSON; absent keys stay).
export const UPDATE_LUA = `${VOICE_LUA}
local owner = getOwner(ARGV[2])
if not owner or owner.connectionId ~= ARGV[3] then return false end
local seat = seatOf(owner)
if not seat then return false end
local flags = cjson.decode(ARGV[4])
for _, flag in ipairs({ 'streamId', 'isMuted', 'isDeafened', 'isAFK' }) do
  if flags[flag] ~= nil then seat[flag] = flags[flag] end
end
if seat.serverMuted then seat.isMuted = true end
return putSeat(seat)
`;

// KEYS: the owner. ARGV: base, userId, connectionId. Returns { owned (1/0), seat }.
export const LEAVE_LUA = `${VOICE_LUA}
local owner = getOwner(ARGV[2])
if not owner or owner.connectionId ~= ARGV[3] then return { 0, false } end
local seat, seatRaw = seatOf(owner)
if seat then dropSeat(seat) end
dropOwner(owner)
return { 1, seatRaw }
`;

// KEYS: the owner, this node's voice set. ARGV: base, incarnation, userId,
// connectionId, clientInstanceId. Returns { previous owner, seat }.
export const TAKEOVER_LUA = `${VOICE_LUA}
local inc, userId, connectionId, clientInstanceId = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local owner, ownerRaw = getOwner(userId)
local previous = false
if owner and owner.connectionId ~= connectionId then previous = ownerRaw end
local seat = seatOf(owner)
local seatRaw = false
if seat then
  seat.connectionId, seat.clientInstanceId, seat.nodeId = connectionId, clientInstanceId, inc
  seatRaw = putSeat(seat)
end
putOwner({ userId = userId, clientInstanceId = clientInstanceId, connectionId = connectionId, nodeId = inc,
  channelId = seat and seat.channelId or cjson.null }, owner and owner.nodeId)
return { previous, seatRaw }
`;

// KEYS: the owner. ARGV: base, userId. The owner, when its node is alive.
export const OWNER_LUA = `${VOICE_LUA}
local owner, raw = getOwner(ARGV[2])
if owner and nodeAlive(owner.nodeId) then return raw end
return false
`;

// KEYS: the owner. ARGV: base, userId, serverId, '1' to mute or '0'.
export const SET_SERVER_MUTED_LUA = `${VOICE_LUA}
local seat = seatOf(getOwner(ARGV[2]))
if not seat or seat.serverId ~= ARGV[3] then return false end
seat.serverMuted = ARGV[4] == '1'
if seat.serverMuted then seat.isMuted = true end
return putSeat(seat)
`;

// KEYS: the owner. ARGV: base, userId, serverId. The seat removed, with its owner.
export const EVICT_LUA = `${VOICE_LUA}
local owner = getOwner(ARGV[2])
local seat, seatRaw = seatOf(owner)
if not seat or seat.serverId ~= ARGV[3] then return false end
dropSeat(seat)
dropOwner(owner)
return seatRaw
`;

// KEYS: the rooms. ARGV: base. Per room, the seats of live nodes.
export const SEATS_LUA = `${VOICE_LUA}
local rooms = {}
for i, key in ipairs(KEYS) do
  local live = {}
  for _, raw in ipairs(redis.call('HVALS', key)) do
    if nodeAlive(cjson.decode(raw).nodeId) then live[#live + 1] = raw end
  end
  rooms[i] = live
end
return rooms
`;

// KEYS: the node's voice set. ARGV: base, incarnation, batch size. Removes
// the owners of up to a batch of the node's users, with their seats, so a
// large node does not hold Redis for long; an owner since taken over by
// another node stays. Returns { seats, owners, users left }.
export const REMOVE_NODE_LUA = `${VOICE_LUA}
local seats, owners = {}, {}
for _, userId in ipairs(redis.call('SPOP', KEYS[1], ARGV[3])) do
  local owner, ownerRaw = getOwner(userId)
  if owner and owner.nodeId == ARGV[2] then
    local seat, seatRaw = seatOf(owner)
    if seat then
      dropSeat(seat)
      seats[#seats + 1] = seatRaw
    end
    redis.call('DEL', ownerKey(userId))
    owners[#owners + 1] = ownerRaw
  end
end
return { seats, owners, redis.call('SCARD', KEYS[1]) }
`;
