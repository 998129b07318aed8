import { z } from 'zod';
import { id } from './ids.ts';
import { limits } from './limits.ts';
import { text } from './text.ts';

/** Zod schemas of presence, voice and WebRTC relay events (see schemas.ts for the conventions). */

export const presenceStatuses = ['online', 'idle', 'dnd', 'offline'] as const;
/** A user's presence, aggregated over all their connections. */
export type PresenceStatus = (typeof presenceStatuses)[number];
/** What one connection may declare; a user with no connection is `offline`. */
export const connectionStatuses = ['online', 'idle', 'dnd'] as const;
export type ConnectionStatus = (typeof connectionStatuses)[number];

/** `presence:update`: this connection's status. */
export const presenceUpdateRequest = z.object({ status: z.enum(connectionStatuses) });
export type PresenceUpdateRequest = z.infer<typeof presenceUpdateRequest>;

/**
 * A voice room as a client names it: the voice channel's id, or the
 * server-prefixed `room_id` of a grant (`<serverId>:<channelId>`).
 */
const roomRef = z.union([id, text().regex(/^[0-9a-f-]{36}:[0-9a-f-]{36}$/i, 'must be a channel id or a room_id')]);

/** `voice:room:request`: the seed sends the room id as a bare string; `{ roomId }` is accepted too. */
export const voiceRoomRequest = z
  .union([roomRef, z.object({ roomId: roomRef })])
  .transform((value) => (typeof value === 'string' ? value : value.roomId))
  .transform((ref) => ref.split(':').at(-1)!);
export type VoiceRoomRequest = z.input<typeof voiceRoomRequest>;

const streamId = text().max(limits.streamId.max);

/** `voice:stream:set`: the SFU stream id once media flows; an empty string leaves voice. Bare string or `{ streamID }`. */
export const voiceStreamSetRequest = z
  .union([streamId, z.object({ streamID: streamId })])
  .transform((value) => (typeof value === 'string' ? value : value.streamID));
export type VoiceStreamSetRequest = z.input<typeof voiceStreamSetRequest>;

/** `voice:state:update`: the seed sends all three flags. */
export const voiceStateUpdateRequest = z.object({
  isMuted: z.boolean(),
  isDeafened: z.boolean(),
  isAFK: z.boolean(),
});
export type VoiceStateUpdateRequest = z.infer<typeof voiceStateUpdateRequest>;

/** Events that take no arguments accept `undefined` or an empty object. */
export const emptyRequest = z.union([z.undefined(), z.object({})]).transform(() => ({}));
export type EmptyRequest = z.input<typeof emptyRequest>;

/**
 * Where a WebRTC signal belongs: a direct call between two users (always
 * relayed unless the target blocked the sender), or a community both are
 * members of.
 */
export const relayScope = z.discriminatedUnion('type', [
  z.object({ type: z.literal('direct') }),
  z.object({ type: z.literal('server'), serverId: id }),
]);
export type RelayScope = z.infer<typeof relayScope>;

const utf8 = new TextEncoder();
const sdp = text()
  .min(1)
  .refine((value) => value.length <= limits.sdp.maxBytes && utf8.encode(value).length <= limits.sdp.maxBytes, {
    message: `must be at most ${limits.sdp.maxBytes} bytes`,
  });

const relayTarget = {
  /** The user whose voice device receives the signal. */
  targetUserId: id,
  scope: relayScope,
  /** The caller's id for this peer connection, echoed to the target. */
  callId: text().min(1).max(limits.callId.max).optional(),
};

/** `offer`, `answer` and `renegotiate`: a session description for the target's voice device. */
export const sdpSignalRequest = z.object({ ...relayTarget, sdp });
export type SdpSignalRequest = z.infer<typeof sdpSignalRequest>;

/** `ice_candidate`: one trickled candidate (`candidate: ""` marks the end of candidates). */
export const iceCandidateRequest = z.object({
  ...relayTarget,
  candidate: z.object({
    candidate: text().max(limits.iceCandidate.max),
    sdpMid: text().max(limits.iceCandidate.sdpMid).nullable().optional(),
    sdpMLineIndex: z.number().int().min(0).max(1023).nullable().optional(),
    usernameFragment: text().max(limits.iceCandidate.usernameFragment).nullable().optional(),
  }),
});
export type IceCandidateRequest = z.infer<typeof iceCandidateRequest>;
