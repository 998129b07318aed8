import type { SessionEndReason } from '@parley/protocol';
import type { Realtime } from '../../src/realtime/realtime.ts';

/** A Realtime port for domain tests without sockets: it records what it was asked to do. */
export class RecordingRealtime implements Realtime {
  readonly joins: Array<{ userId: string; rooms: string[] }> = [];
  readonly endedSessions: Array<{ sessionId: string; reason: SessionEndReason }> = [];

  addUserToRooms(userId: string, rooms: string[]): void {
    this.joins.push({ userId, rooms });
  }

  endSessions(sessionIds: string[], reason: SessionEndReason): void {
    for (const sessionId of sessionIds) this.endedSessions.push({ sessionId, reason });
  }
}
