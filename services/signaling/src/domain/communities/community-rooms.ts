import { limits, type RemovalReason } from '@parley/protocol';
import type { Realtime } from '../../realtime/realtime.ts';
import { rooms } from '../../realtime/rooms.ts';

/** The community's room and every one of its channels' rooms (text and voice). */
export function roomsOfCommunity(serverId: string, channelIds: readonly string[]): string[] {
  return [rooms.server(serverId), ...channelIds.map(rooms.channel), ...channelIds.map(rooms.voice)];
}

/**
 * Takes a user out of a community on every pod: no pod lets them act on
 * access it remembers from before, their connections leave its
 * rooms, then hear why; the remaining members hear that they left (in
 * communities of at most `limits.memberEvents.maxMembers`). Published in this
 * order on one connection, so by the time a device hears `server:removed` it
 * receives nothing more from the community.
 */
export function removeFromCommunity(
  realtime: Realtime,
  removal: { serverId: string; userId: string; channelIds: readonly string[]; reason: RemovalReason; memberCount: number },
): void {
  const { serverId, userId, reason } = removal;
  realtime.accessChanged(serverId);
  realtime.removeUserFromRooms(userId, roomsOfCommunity(serverId, removal.channelIds));
  realtime.emit(rooms.user(userId), 'server:removed', { serverId, reason });
  if (announcesMembers(removal.memberCount)) {
    realtime.emit(rooms.server(serverId), 'server:member_left', { serverId, userId, reason });
  }
}

/** Whether a community of this size tells its members of every join and leave. */
export function announcesMembers(memberCount: number): boolean {
  return memberCount <= limits.memberEvents.maxMembers;
}
