import {
  emptyRequest,
  iceCandidateRequest,
  sdpSignalRequest,
  voiceRoomRequest,
  voiceStateUpdateRequest,
  voiceStreamSetRequest,
} from '@parley/protocol';
import type { RtcRelay, SdpSignalEvent } from '../domain/voice/rtc-relay.service.ts';
import type { VoiceConnection, VoiceService } from '../domain/voice/voice.service.ts';
import type { RateLimiter } from '../rate-limit/rate-limiter.ts';
import type { EventHandler, EventHandlers } from './event-handler.ts';
import type { ParleySocket } from './socket-server.ts';

export interface VoiceLimiters {
  voiceRequest: RateLimiter;
  voiceState: RateLimiter;
  rtcSignal: RateLimiter;
}

export function voiceConnectionOf(socket: ParleySocket): VoiceConnection {
  const { userId, displayName, clientInstanceId } = socket.data;
  return { userId, displayName, clientInstanceId, connectionId: socket.id };
}

/**
 * Runs a connection's relayed signals one after another, so that they reach
 * the target in the order they were sent (an end-of-candidates marker must
 * not overtake the last candidate): each one awaits Redis and the database
 * before it is emitted, and would otherwise race the next.
 */
function inSendOrder() {
  const tails = new WeakMap<ParleySocket, Promise<unknown>>();
  return <T>(socket: ParleySocket, work: () => Promise<T>): Promise<T> => {
    const result = (tails.get(socket) ?? Promise.resolve()).then(work);
    tails.set(socket, result.catch(() => {}));
    return result;
  };
}

/** The Gryt seed's SFU voice events, the MetoYou seed's takeover, and the peer-to-peer relay. */
export function voiceHandlers(deps: { voice: VoiceService; relay: RtcRelay; limiters: VoiceLimiters }): EventHandlers {
  const { voice, relay, limiters } = deps;
  const queued = inSendOrder();

  /**
   * Runs an event that makes this connection the voice owner. If the
   * connection closed while it ran, its disconnect clean-up found nothing to
   * release, so the ownership just taken is released here: no ghost seat.
   */
  async function claimingVoice<T>(socket: ParleySocket, claim: (connection: VoiceConnection) => Promise<T>): Promise<T> {
    const connection = voiceConnectionOf(socket);
    try {
      return await claim(connection);
    } finally {
      if (socket.disconnected) await voice.disconnected(connection);
    }
  }

  const request: EventHandler<'voice:room:request', typeof voiceRoomRequest> = {
    schema: voiceRoomRequest,
    limiter: limiters.voiceRequest,
    async handle(socket, channelId) {
      const grant = await claimingVoice(socket, (connection) => voice.request(connection, channelId));
      socket.emit('voice:room:granted', grant);
      return grant;
    },
    onError(socket, error) {
      socket.emit('voice:room:error', {
        error: error.code,
        message: error.message,
        ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }),
      });
    },
  };

  const streamSet: EventHandler<'voice:stream:set', typeof voiceStreamSetRequest> = {
    schema: voiceStreamSetRequest,
    limiter: limiters.voiceState,
    async handle(socket, streamId) {
      return { participant: await voice.setStream(voiceConnectionOf(socket), streamId) };
    },
  };

  const stateUpdate: EventHandler<'voice:state:update', typeof voiceStateUpdateRequest> = {
    schema: voiceStateUpdateRequest,
    limiter: limiters.voiceState,
    async handle(socket, flags) {
      return { participant: await voice.updateState(voiceConnectionOf(socket), flags) };
    },
  };

  const leave: EventHandler<'voice:leave', typeof emptyRequest> = {
    schema: emptyRequest,
    limiter: limiters.voiceState,
    async handle(socket) {
      await voice.leave(voiceConnectionOf(socket));
      return {};
    },
  };

  const takeover: EventHandler<'voice_client_takeover', typeof emptyRequest> = {
    schema: emptyRequest,
    limiter: limiters.voiceState,
    handle: (socket) => claimingVoice(socket, (connection) => voice.takeover(connection)),
  };

  const sdpRelay = (event: SdpSignalEvent): EventHandler<SdpSignalEvent, typeof sdpSignalRequest> => ({
    schema: sdpSignalRequest,
    limiter: limiters.rtcSignal,
    async handle(socket, input) {
      await queued(socket, () => relay.relaySdp(voiceConnectionOf(socket), event, input));
      return {};
    },
  });

  const iceCandidate: EventHandler<'ice_candidate', typeof iceCandidateRequest> = {
    schema: iceCandidateRequest,
    limiter: limiters.rtcSignal,
    async handle(socket, input) {
      await queued(socket, () => relay.relayIceCandidate(voiceConnectionOf(socket), input));
      return {};
    },
  };

  return {
    'voice:room:request': request,
    'voice:stream:set': streamSet,
    'voice:state:update': stateUpdate,
    'voice:leave': leave,
    voice_client_takeover: takeover,
    offer: sdpRelay('offer'),
    answer: sdpRelay('answer'),
    renegotiate: sdpRelay('renegotiate'),
    ice_candidate: iceCandidate,
  };
}
