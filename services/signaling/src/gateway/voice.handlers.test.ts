import type { VoiceGrant, VoiceTakeoverResult } from '@parley/protocol';
import { describe, expect, it } from 'vitest';
import type { RtcRelay } from '../domain/voice/rtc-relay.service.ts';
import type { VoiceService } from '../domain/voice/voice.service.ts';
import type { ParleySocket } from './socket-server.ts';
import { voiceHandlers, type VoiceLimiters } from './voice.handlers.ts';

/** A voice service that records what the handlers ask of it. */
function recordingVoice() {
  const calls: string[] = [];
  const voice = {
    request: async () => (calls.push('request'), { room_id: 'r' } as VoiceGrant),
    takeover: async () => (calls.push('takeover'), { previousClientInstanceId: null } as VoiceTakeoverResult),
    disconnected: async () => void calls.push('disconnected'),
  };
  return { calls, voice: voice as unknown as VoiceService };
}

function socket(disconnected: boolean): ParleySocket {
  const data = { userId: 'u', displayName: 'U', clientInstanceId: 'desk' };
  return { id: 'socket-1', data, disconnected, emit: () => true } as unknown as ParleySocket;
}

describe('voice handlers', () => {
  it('release the voice just claimed when the connection closed while the claim ran (its disconnect found none)', async () => {
    for (const event of ['voice:room:request', 'voice_client_takeover'] as const) {
      const { calls, voice } = recordingVoice();
      const handlers = voiceHandlers({ voice, relay: {} as RtcRelay, limiters: {} as VoiceLimiters });
      await handlers[event]!.handle(socket(true), 'channel-1' as never);
      expect(calls).toEqual([event === 'voice:room:request' ? 'request' : 'takeover', 'disconnected']);

      const live = recordingVoice();
      await voiceHandlers({ voice: live.voice, relay: {} as RtcRelay, limiters: {} as VoiceLimiters })[event]!.handle(socket(false), 'channel-1' as never);
      expect(live.calls).toHaveLength(1);
    }
  });
});
