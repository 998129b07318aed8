import type { ConnectionStatus, PresenceStatus } from '@parley/protocol';

/** A user's aggregated status changed. */
export interface PresenceChange {
  userId: string;
  previous: PresenceStatus;
  status: PresenceStatus;
}

/**
 * Who is connected, shared by every pod: each open connection with its
 * declared status, recorded under the node (pod incarnation) that holds it.
 * A user's status aggregates their connections: `dnd` if any connection is
 * dnd, else `online` if any is online, else `idle` if any is idle, else `offline`.
 * Every method is atomic and returns the aggregate change it caused, if any,
 * so exactly one caller announces each change.
 */
export interface PresenceStore {
  /** Records (or updates) one connection of this node. */
  set(userId: string, connectionId: string, status: ConnectionStatus): Promise<PresenceChange | null>;
  /** Forgets one connection (it closed). */
  remove(userId: string, connectionId: string): Promise<PresenceChange | null>;
  /** Aggregated statuses; users without a connection are `offline`. */
  statuses(userIds: readonly string[]): Promise<Map<string, PresenceStatus>>;
  /** Forgets every connection a node recorded (it died, or is shutting down). */
  removeNode(nodeId: string): Promise<PresenceChange[]>;
}
