import { randomUUID } from 'node:crypto';
import {
  accountSyncRequest,
  chatDeleteRequest,
  chatEditRequest,
  chatFetchRequest,
  chatReactRequest,
  chatResumeRequest,
  chatSendRequest,
  chatTypingRequest,
  emptyRequest,
  iceCandidateRequest,
  presenceUpdateRequest,
  sdpSignalRequest,
  serverJoinRequest,
  serverRefRequest,
  voiceRoomRequest,
  voiceStateUpdateRequest,
  voiceStreamSetRequest,
  type ClientEventName,
  type EventPayload,
} from '@parley/protocol';
import type { z } from 'zod';

/** What a case may use: the fuzzing user's community, and actions from the device that sends the case. */
export interface EventContext {
  serverId: string;
  textChannelId: string;
  voiceChannelId: string;
  /** A message of the fuzzing user's in the text channel. */
  messageId: string;
  /** Another member of the community, with a voice device: the target of WebRTC signals. */
  peerUserId: string;
  /** Sends a new message from the sending device and returns its id. */
  freshMessage(): Promise<string>;
  /** Makes the sending device the fuzzing user's voice device (a signal's sender must be). */
  takeVoice(): Promise<void>;
  /** Makes it the voice device and seats it in the voice channel. */
  takeSeat(): Promise<void>;
}

export interface EventCase<E extends ClientEventName> {
  /** The protocol schema the server parses the payload with: a payload it refuses must be refused. */
  schema: z.ZodType;
  /** A valid payload, the starting point of every mutation. */
  sample(context: EventContext): EventPayload<E> | Promise<EventPayload<E>>;
  /** State the valid sample needs, set up from the sending device before each case. */
  prepare?(context: EventContext): Promise<void>;
}

const SDP = 'v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n';

const sdpCase = (): EventCase<'offer'> => ({
  schema: sdpSignalRequest,
  prepare: (context) => context.takeVoice(),
  sample: (context) => ({ targetUserId: context.peerUserId, scope: { type: 'server', serverId: context.serverId }, sdp: SDP, callId: 'call-1' }),
});

/**
 * One fuzz case per client→server event, keyed by the protocol's event map:
 * an event added to `ClientToServerEvents` without a case here fails the type
 * check, and one the gateway binds without a case fails at run time.
 */
export const eventCases: { [E in ClientEventName]: EventCase<E> } = {
  account_sync: {
    schema: accountSyncRequest,
    sample: (context) => ({
      clientInstanceId: 'fuzz-device',
      payload: { type: 'saved-room-sync', room: { id: context.serverId, name: 'Saved room', tags: ['a', 'b'] } },
    }),
  },
  'chat:send': {
    schema: chatSendRequest,
    sample: (context) => ({
      conversationId: context.textChannelId,
      text: 'hello from the fuzzer',
      attachments: [],
      replyToMessageId: context.messageId,
      nonce: `nonce-${randomUUID()}`,
    }),
  },
  'chat:fetch': {
    schema: chatFetchRequest,
    sample: (context) => ({ conversationId: context.textChannelId, limit: 20, before: 1000 }),
  },
  'chat:edit': {
    schema: chatEditRequest,
    sample: (context) => ({ conversationId: context.textChannelId, messageId: context.messageId, text: 'edited by the fuzzer' }),
  },
  'chat:delete': {
    schema: chatDeleteRequest,
    sample: async (context) => ({ conversationId: context.textChannelId, messageId: await context.freshMessage() }),
  },
  'chat:react': {
    schema: chatReactRequest,
    sample: (context) => ({ conversationId: context.textChannelId, messageId: context.messageId, emoji: '👍' }),
  },
  'chat:typing': {
    schema: chatTypingRequest,
    sample: (context) => ({ conversationId: context.textChannelId }),
  },
  'chat:resume': {
    schema: chatResumeRequest,
    sample: (context) => ({ channels: { [context.textChannelId]: 1 } }),
  },
  'server:join': {
    schema: serverJoinRequest,
    sample: (context) => ({ serverId: context.serverId, nickname: 'Fuzzer', message: 'let me in' }),
  },
  'server:leave': { schema: serverRefRequest, sample: (context) => ({ serverId: context.serverId }) },
  'server:details': { schema: serverRefRequest, sample: (context) => ({ serverId: context.serverId }) },
  'server:info': { schema: serverRefRequest, sample: (context) => ({ serverId: context.serverId }) },
  'presence:update': { schema: presenceUpdateRequest, sample: () => ({ status: 'idle' }) },
  'voice:room:request': {
    schema: voiceRoomRequest,
    prepare: (context) => context.takeVoice(),
    sample: (context) => context.voiceChannelId,
  },
  'voice:stream:set': {
    schema: voiceStreamSetRequest,
    prepare: (context) => context.takeSeat(),
    sample: () => ({ streamID: 'stream-fuzz-1' }),
  },
  'voice:state:update': {
    schema: voiceStateUpdateRequest,
    prepare: (context) => context.takeSeat(),
    sample: () => ({ isMuted: true, isDeafened: false, isAFK: false }),
  },
  'voice:leave': { schema: emptyRequest, prepare: (context) => context.takeSeat(), sample: () => ({}) },
  voice_client_takeover: { schema: emptyRequest, sample: () => ({}) },
  offer: sdpCase(),
  answer: sdpCase(),
  renegotiate: sdpCase(),
  ice_candidate: {
    schema: iceCandidateRequest,
    prepare: (context) => context.takeVoice(),
    sample: (context) => ({
      targetUserId: context.peerUserId,
      scope: { type: 'direct' },
      candidate: {
        candidate: 'candidate:842163049 1 udp 1677729535 127.0.0.1 46154 typ srflx raddr 0.0.0.0 rport 0',
        sdpMid: '0',
        sdpMLineIndex: 0,
        usernameFragment: 'EsQt',
      },
      callId: 'call-1',
    }),
  },
};

export const eventNames = Object.keys(eventCases) as ClientEventName[];

/** Whether the protocol schema accepts `payload` ('unknown' when it cannot tell, e.g. its own stack overflowed). */
export function schemaVerdict(schema: z.ZodType, payload: unknown): 'valid' | 'invalid' | 'unknown' {
  try {
    return schema.safeParse(payload).success ? 'valid' : 'invalid';
  } catch {
    return 'unknown';
  }
}
