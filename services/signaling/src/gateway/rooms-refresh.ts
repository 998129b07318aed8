import type { ChannelAccess } from '../domain/communities/access/channel-access.ts';
import type { Logger } from '../logger.ts';
import type { RoomsRefresh } from '../realtime/realtime.ts';
import { rooms } from '../realtime/rooms.ts';
import type { ParleyServer } from './socket-server.ts';

/**
 * Recomputes which channel rooms this pod's sockets of a community's members
 * belong in, after its roles or channel overrides changed. Each pod does it
 * for its own sockets only (`io.local`), so no cross-pod socket fetch.
 */
export function roomsRefresher(io: ParleyServer, access: ChannelAccess, logger: Logger) {
  const log = logger.child({ module: 'gateway.rooms' });
  return async ({ serverId, userIds }: RoomsRefresh): Promise<void> => {
    try {
      const wanted = userIds ? new Set(userIds) : undefined;
      const sockets = (await io.local.in(rooms.server(serverId)).fetchSockets()).filter(
        (socket) => !wanted || wanted.has(socket.data.userId),
      );
      if (sockets.length === 0) return;
      const { all, byUser } = await access.visibleChannels(serverId, [...new Set(sockets.map((socket) => socket.data.userId))]);
      for (const socket of sockets) {
        const visible = new Set(byUser.get(socket.data.userId) ?? []);
        for (const channelId of all) {
          if (!visible.has(channelId)) socket.leave(rooms.channel(channelId));
        }
        socket.join([...visible].map(rooms.channel));
      }
    } catch (error) {
      log.warn({ err: error, serverId }, 'could not refresh channel rooms');
    }
  };
}
