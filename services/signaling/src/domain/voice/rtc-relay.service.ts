import type { IceCandidateRequest, RelayScope, SdpSignalRequest } from '@parley/protocol';
import { AppError } from '../../errors.ts';
import type { Realtime } from '../../realtime/realtime.ts';
import { rooms } from '../../realtime/rooms.ts';
import type { BlockService } from '../accounts/block.service.ts';
import type { Store } from '../store.ts';
import type { VoiceConnection } from './voice.service.ts';
import type { VoiceStore } from './voice.store.ts';

export type SdpSignalEvent = 'offer' | 'answer' | 'renegotiate';

/**
 * Peer-to-peer WebRTC signaling (the MetoYou seed): offers, answers,
 * renegotiations and ICE candidates go from the sender's voice device to the
 * target's, on whichever pod holds it. At most once, like every peer system.
 *
 * Rules: the sender must own its voice (answers come back to that device);
 * a direct call relays between any two users; a community-scoped signal needs
 * both to be members (a banned user is not); nothing reaches a user who has
 * blocked the sender. A target that cannot be reached, and one that blocked
 * the sender, look the same: `peer_unavailable`.
 */
export class RtcRelay {
  readonly #store: Store;
  readonly #voice: VoiceStore;
  readonly #blocks: BlockService;
  readonly #realtime: Realtime;

  constructor(deps: { store: Store; voice: VoiceStore; blocks: BlockService; realtime: Realtime }) {
    this.#store = deps.store;
    this.#voice = deps.voice;
    this.#blocks = deps.blocks;
    this.#realtime = deps.realtime;
  }

  /** Throws `invalid_target`, `not_voice_owner`, `not_a_member`, `peer_unavailable`. */
  async relaySdp(sender: VoiceConnection, event: SdpSignalEvent, input: SdpSignalRequest): Promise<void> {
    const targetConnection = await this.#route(sender, input.targetUserId, input.scope);
    this.#realtime.emit(rooms.connection(targetConnection), event, { ...this.#envelope(sender, input), sdp: input.sdp });
  }

  /** Throws as `relaySdp`. */
  async relayIceCandidate(sender: VoiceConnection, input: IceCandidateRequest): Promise<void> {
    const targetConnection = await this.#route(sender, input.targetUserId, input.scope);
    this.#realtime.emit(rooms.connection(targetConnection), 'ice_candidate', {
      ...this.#envelope(sender, input),
      candidate: input.candidate,
    });
  }

  /** The socket id of the target's voice device, once every rule allows the signal. */
  async #route(sender: VoiceConnection, targetUserId: string, scope: RelayScope): Promise<string> {
    if (targetUserId === sender.userId) throw new AppError('invalid_target');
    const [senderOwner, targetOwner, blocked, members] = await Promise.all([
      this.#voice.owner(sender.userId),
      this.#voice.owner(targetUserId),
      this.#blocks.hasBlocked(targetUserId, sender.userId),
      scope.type === 'server' ? this.#store.repos.members.listUserIds(scope.serverId, [sender.userId, targetUserId]) : undefined,
    ]);
    if (senderOwner?.connectionId !== sender.connectionId) throw new AppError('not_voice_owner');
    if (members && !members.includes(sender.userId)) throw new AppError('not_a_member');
    if (blocked || !targetOwner || (members && !members.includes(targetUserId))) throw new AppError('peer_unavailable');
    return targetOwner.connectionId;
  }

  #envelope(sender: VoiceConnection, input: { scope: RelayScope; callId?: string | undefined }) {
    return {
      fromUserId: sender.userId,
      fromClientInstanceId: sender.clientInstanceId,
      scope: input.scope,
      ...(input.callId === undefined ? {} : { callId: input.callId }),
    };
  }
}
