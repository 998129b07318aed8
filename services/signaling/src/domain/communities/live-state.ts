import type { PresenceStatus, VoiceChannelState } from '@parley/protocol';

/**
 * What the communities domain asks of presence and voice: the live state a
 * member's UI shows, and the voice seats that must go when membership,
 * mutes or channels change.
 */
export interface LiveState {
  /** Aggregated presence of these users. */
  statuses(userIds: readonly string[]): Promise<Map<string, PresenceStatus>>;
  /** Who sits in each of these voice channels (empty channels left out). */
  voiceChannels(channelIds: readonly string[]): Promise<VoiceChannelState[]>;
  /** The user left, was kicked or banned: their seat in the community's voice rooms goes. */
  memberRemoved(serverId: string, userId: string): Promise<void>;
  /**
   * Server mutes, roles, grants or channel overrides of a community changed
   * (for these users, or everyone): a seat whose holder may no longer connect
   * goes, and each seat's server mute follows `speak` and the member's mute.
   */
  accessChanged(serverId: string, userIds?: readonly string[]): Promise<void>;
  /** Channels were deleted (or their community): everyone seated in them leaves. */
  channelsClosed(channelIds: readonly string[]): Promise<void>;
}
