import type { ServerToClientEvents, SessionEndReason } from '@parley/protocol';
import type { Audience, Realtime } from '../../src/realtime/realtime.ts';

/** A Realtime port for domain tests without sockets: it records what it was asked to do. */
export class RecordingRealtime implements Realtime {
  readonly endedSessions: Array<{ sessionId: string; reason: SessionEndReason }> = [];
  readonly emitted: Array<{ audience: Audience; event: keyof ServerToClientEvents; payload: unknown }> = [];
  readonly roomChanges: Array<{ userId: string; change: 'join' | 'leave'; rooms: string[] }> = [];
  readonly connectionRoomChanges: Array<{ connectionId: string; change: 'join' | 'leave'; rooms: string[] }> = [];
  readonly refreshes: Array<{ serverId: string; userIds?: string[] }> = [];
  readonly accessChanges: string[] = [];

  addUserToRooms(userId: string, rooms: string[]): void {
    this.roomChanges.push({ userId, change: 'join', rooms });
  }

  removeUserFromRooms(userId: string, rooms: string[]): void {
    this.roomChanges.push({ userId, change: 'leave', rooms });
  }

  addConnectionToRooms(connectionId: string, rooms: string[]): void {
    this.connectionRoomChanges.push({ connectionId, change: 'join', rooms });
  }

  removeConnectionFromRooms(connectionId: string, rooms: string[]): void {
    this.connectionRoomChanges.push({ connectionId, change: 'leave', rooms });
  }

  emit<E extends keyof ServerToClientEvents>(audience: Audience, event: E, ...args: Parameters<ServerToClientEvents[E]>): void {
    this.emitted.push({ audience, event, payload: args[0] });
  }

  endSessions(sessionIds: string[], reason: SessionEndReason): void {
    for (const sessionId of sessionIds) this.endedSessions.push({ sessionId, reason });
  }

  refreshRooms(serverId: string, userIds?: string[]): void {
    this.refreshes.push(userIds ? { serverId, userIds } : { serverId });
  }

  accessChanged(serverId: string): void {
    this.accessChanges.push(serverId);
  }
}
