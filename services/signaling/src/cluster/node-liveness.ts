import type { Logger } from '../logger.ts';
import type { NodeIdentity, NodeRegistry } from './node-registry.ts';

/** Shared state whose entries belong to the node that wrote them (presence, voice). */
export interface NodeScopedState {
  /** Removes what a departed node held and announces it; returns how many entries went. */
  removeNode(nodeId: string): Promise<number>;
  /** Retries the clean-ups of closed connections that failed while Redis was away. */
  retryPending(): Promise<void>;
  /** This node was presumed dead and its entries removed: makes up for it under the new incarnation. */
  recover(): Promise<void>;
}

/**
 * Keeps this pod's heartbeat and clears up after dead pods. Every interval
 * each pod renews its heartbeat and claims the pods whose heartbeat lapsed
 * (each lapsed pod goes to exactly one claimant), removing their presence and
 * voice entries and announcing the change: a killed pod's users are gone
 * within ttl + interval. On a clean shutdown a pod removes its own entries at once.
 */
export class NodeLiveness {
  readonly #registry: NodeRegistry;
  readonly #identity: NodeIdentity;
  readonly #states: readonly NodeScopedState[];
  readonly #intervalMs: number;
  readonly #log: Logger;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> = Promise.resolve();

  constructor(deps: {
    registry: NodeRegistry;
    identity: NodeIdentity;
    /** In the order they are cleared: voice before presence, so a dead pod's users leave rooms before going offline. */
    states: readonly NodeScopedState[];
    intervalMs: number;
    logger: Logger;
  }) {
    this.#registry = deps.registry;
    this.#identity = deps.identity;
    this.#states = deps.states;
    this.#intervalMs = deps.intervalMs;
    this.#log = deps.logger.child({ module: 'node-liveness' });
  }

  /** Beats once (so the pod is known before it takes connections), then on every interval. */
  async start(): Promise<void> {
    await this.beat();
    this.#timer = setInterval(() => {
      this.#running = this.#running.then(() => this.beat());
    }, this.#intervalMs);
    this.#timer.unref();
  }

  /** Clean shutdown: stop beating, remove this pod's entries and announce them, leave the registry. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#running;
    try {
      await this.#removeNode(this.#identity.current);
      await this.#registry.leave();
    } catch (error) {
      this.#log.warn({ err: error }, 'could not remove this node’s entries; its heartbeat will lapse');
    }
  }

  /** One heartbeat: renew, recover if this node was presumed dead, retry clean-ups, clear lapsed nodes. */
  async beat(): Promise<void> {
    try {
      if (!(await this.#registry.heartbeat())) await this.#recover();
      for (const state of this.#states) await state.retryPending();
      for (const nodeId of await this.#registry.claimLapsed()) await this.#removeNode(nodeId);
    } catch (error) {
      this.#log.warn({ err: error }, 'heartbeat failed');
    }
  }

  /**
   * This pod was presumed dead (it froze past its heartbeat, or Redis lost
   * its data) and its entries were removed. It records its connections again
   * under a new incarnation, which a late reaper of the old one cannot touch;
   * its voice devices are told they lost voice.
   */
  async #recover(): Promise<void> {
    const previous = this.#identity.current;
    const current = this.#identity.renew();
    this.#log.warn({ previous, current }, 'this node was presumed dead; recording its connections again');
    await this.#registry.heartbeat();
    for (const state of this.#states) await state.recover();
  }

  async #removeNode(nodeId: string): Promise<void> {
    const removed = [];
    for (const state of this.#states) removed.push(await state.removeNode(nodeId));
    await this.#registry.forget(nodeId);
    this.#log.info({ nodeId, removed }, 'removed the entries of a departed node');
  }
}
