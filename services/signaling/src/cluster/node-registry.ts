/**
 * This pod's identity in the shared state. Entries a pod writes are recorded
 * under its current incarnation id (`<nodeId>#<n>`); when the pod finds it was
 * declared dead (a long freeze, or Redis lost its data), it takes a new
 * incarnation and writes its entries again, so a late reaper of the old one
 * cannot remove them.
 */
export interface NodeIdentity {
  /** The incarnation id entries are recorded under. */
  readonly current: string;
  /** Starts a new incarnation; returns its id. */
  renew(): string;
}

/** Pod heartbeats, shared by every pod. */
export interface NodeRegistry {
  /**
   * Renews this node's heartbeat. Returns false when this incarnation had
   * beaten before but the registry no longer knows it (it was declared dead
   * meanwhile, or Redis lost its data): its entries are gone.
   */
  heartbeat(): Promise<boolean>;
  /**
   * Claims, atomically, the nodes whose heartbeat lapsed: each lapsed node
   * is returned to exactly one caller, which must remove its entries and then
   * `forget` it. A claim not forgotten within the TTL (its claimant died
   * meanwhile) is handed out again, so no node's entries are left behind.
   */
  claimLapsed(): Promise<string[]>;
  /** The entries of a claimed node are removed: it is not handed out again. */
  forget(nodeId: string): Promise<void>;
  /** Removes this node's heartbeat (clean shutdown). */
  leave(): Promise<void>;
}
