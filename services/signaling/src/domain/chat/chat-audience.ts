import type { Audience } from '../../realtime/realtime.ts';
import { rooms } from '../../realtime/rooms.ts';
import type { Actor } from '../accounts/actor.ts';

/**
 * A channel's readers on every pod, the actor's other devices included, but
 * not the connection the action came through: it has the acknowledgement.
 */
export function channelExceptOrigin(channelId: string, actor: Actor): Audience {
  return actor.connectionId ? { to: rooms.channel(channelId), except: rooms.connection(actor.connectionId) } : rooms.channel(channelId);
}
