import type { ConnectionStatus, PresenceStatus } from '@parley/protocol';
import type { NodeIdentity } from '../../cluster/node-registry.ts';
import type { PresenceChange, PresenceStore } from '../../domain/presence/presence.store.ts';

const rank: Record<PresenceStatus, number> = { offline: 0, idle: 1, online: 2, dnd: 3 };

interface Connection {
  node: string;
  status: ConnectionStatus;
}

/** In-process presence: the embedded mode's store. One process, so every node it knows is alive. */
export class MemoryPresenceStore implements PresenceStore {
  readonly #identity: NodeIdentity;
  /** userId → connectionId → connection. */
  readonly #connections = new Map<string, Map<string, Connection>>();
  /** Aggregated statuses; absent means offline. */
  readonly #statuses = new Map<string, PresenceStatus>();

  constructor(identity: NodeIdentity) {
    this.#identity = identity;
  }

  async set(userId: string, connectionId: string, status: ConnectionStatus): Promise<PresenceChange | null> {
    let connections = this.#connections.get(userId);
    if (!connections) this.#connections.set(userId, (connections = new Map()));
    connections.set(connectionId, { node: this.#identity.current, status });
    return this.#aggregate(userId);
  }

  async remove(userId: string, connectionId: string): Promise<PresenceChange | null> {
    const connections = this.#connections.get(userId);
    if (!connections?.delete(connectionId)) return null;
    if (connections.size === 0) this.#connections.delete(userId);
    return this.#aggregate(userId);
  }

  async statuses(userIds: readonly string[]): Promise<Map<string, PresenceStatus>> {
    return new Map(userIds.map((userId) => [userId, this.#statuses.get(userId) ?? 'offline']));
  }

  async removeNode(nodeId: string): Promise<PresenceChange[]> {
    const changes: PresenceChange[] = [];
    for (const [userId, connections] of this.#connections) {
      let affected = false;
      for (const [connectionId, connection] of connections) {
        if (connection.node !== nodeId) continue;
        connections.delete(connectionId);
        affected = true;
      }
      if (!affected) continue;
      if (connections.size === 0) this.#connections.delete(userId);
      const change = this.#aggregate(userId);
      if (change) changes.push(change);
    }
    return changes;
  }

  /** Recomputes a user's status from their connections; the change, if any. */
  #aggregate(userId: string): PresenceChange | null {
    let status: PresenceStatus = 'offline';
    for (const connection of this.#connections.get(userId)?.values() ?? []) {
      if (rank[connection.status] > rank[status]) status = connection.status;
    }
    const previous = this.#statuses.get(userId) ?? 'offline';
    if (status === previous) return null;
    if (status === 'offline') this.#statuses.delete(userId);
    else this.#statuses.set(userId, status);
    return { userId, previous, status };
  }
}
