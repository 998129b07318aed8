import type { Permission, VoiceParticipant } from '@parley/protocol';
import type { VoiceSeat } from './voice.store.ts';

/** The Gryt seed's server-prefixed room id. */
export function roomIdOf(serverId: string, channelId: string): string {
  return `${serverId}:${channelId}`;
}

/** A seat as everyone sees it: where the connection lives stays private. */
export function toParticipant(seat: VoiceSeat): VoiceParticipant {
  return {
    userId: seat.userId,
    serverId: seat.serverId,
    channelId: seat.channelId,
    roomId: roomIdOf(seat.serverId, seat.channelId),
    streamId: seat.streamId,
    isMuted: seat.isMuted,
    isDeafened: seat.isDeafened,
    isAFK: seat.isAFK,
    serverMuted: seat.serverMuted,
    joinedAt: new Date(seat.joinedAt).toISOString(),
  };
}

/** What a join token lets the SFU allow: everyone seated may listen; only those not server-muted may speak. */
export function seatPermissions(seat: Pick<VoiceSeat, 'serverMuted'>): Permission[] {
  return seat.serverMuted ? ['connect_voice'] : ['connect_voice', 'speak'];
}
