import type { SessionEndReason } from '@parley/protocol';
import type { Realtime } from '../../src/realtime/realtime.ts';

/** A Realtime port for domain tests without sockets: it records the sessions it was asked to end. */
export class RecordingRealtime implements Realtime {
  readonly endedSessions: Array<{ sessionId: string; reason: SessionEndReason }> = [];

  addUserToRooms(): void {}

  endSessions(sessionIds: string[], reason: SessionEndReason): void {
    for (const sessionId of sessionIds) this.endedSessions.push({ sessionId, reason });
  }
}
