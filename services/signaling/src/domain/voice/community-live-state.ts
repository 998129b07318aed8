import type { PresenceStatus, VoiceChannelState } from '@parley/protocol';
import type { Logger } from '../../logger.ts';
import type { LiveState } from '../communities/live-state.ts';
import type { PresenceService } from '../presence/presence.service.ts';
import type { VoiceService } from './voice.service.ts';

/**
 * The communities domain's view of presence and voice. Clean-ups after a
 * committed change (a kick, a deleted channel) never fail that change: a
 * seat that cannot be cleared while Redis is away is logged, and goes when
 * its connection closes.
 */
export class CommunityLiveState implements LiveState {
  readonly #presence: PresenceService;
  readonly #voice: VoiceService;
  readonly #log: Logger;

  constructor(deps: { presence: PresenceService; voice: VoiceService; logger: Logger }) {
    this.#presence = deps.presence;
    this.#voice = deps.voice;
    this.#log = deps.logger.child({ module: 'live-state' });
  }

  statuses(userIds: readonly string[]): Promise<Map<string, PresenceStatus>> {
    return this.#presence.statuses(userIds);
  }

  voiceChannels(channelIds: readonly string[]): Promise<VoiceChannelState[]> {
    return this.#voice.voiceChannels(channelIds);
  }

  memberRemoved(serverId: string, userId: string): Promise<void> {
    return this.#voice.memberRemoved(serverId, userId).catch((error: unknown) => {
      this.#log.warn({ err: error, serverId, userId }, 'voice seat of a removed member not cleared');
    });
  }

  accessChanged(serverId: string, userIds?: readonly string[]): Promise<void> {
    return this.#voice.accessChanged(serverId, userIds).catch((error: unknown) => {
      this.#log.warn({ err: error, serverId }, 'voice seats not checked against changed permissions');
    });
  }

  channelsClosed(channelIds: readonly string[]): Promise<void> {
    return this.#voice.channelsClosed(channelIds).catch((error: unknown) => {
      this.#log.warn({ err: error }, 'voice seats of deleted channels not cleared');
    });
  }
}
