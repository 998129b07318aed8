import type { PresenceService } from '../domain/presence/presence.service.ts';
import type { VoiceService } from '../domain/voice/voice.service.ts';
import type { Logger } from '../logger.ts';
import type { NodeIdentity, NodeRegistry } from './node-registry.ts';

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
  readonly #presence: PresenceService;
  readonly #voice: VoiceService;
  readonly #intervalMs: number;
  readonly #log: Logger;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> = Promise.resolve();

  constructor(deps: {
    registry: NodeRegistry;
    identity: NodeIdentity;
    presence: PresenceService;
    voice: VoiceService;
    intervalMs: number;
    logger: Logger;
  }) {
    this.#registry = deps.registry;
    this.#identity = deps.identity;
    this.#presence = deps.presence;
    this.#voice = deps.voice;
    this.#intervalMs = deps.intervalMs;
    this.#log = deps.logger.child({ module: 'node-liveness' });
  }

  /** Beats once (so the pod is known before it takes connections), then on every interval. */
  async start(): Promise<void> {
    await this.#tick();
    this.#timer = setInterval(() => {
      this.#running = this.#running.then(() => this.#tick());
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

  async #tick(): Promise<void> {
    try {
      if (!(await this.#registry.heartbeat())) await this.#recover();
      await this.#presence.retryPendingRemovals();
      await this.#voice.retryPendingReleases();
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
    this.#voice.releaseLocalOwners();
    await this.#presence.reassert();
  }

  async #removeNode(nodeId: string): Promise<void> {
    const users = await this.#presence.removeNode(nodeId);
    const seats = await this.#voice.removeNode(nodeId);
    await this.#registry.forget(nodeId);
    this.#log.info({ nodeId, users, seats }, 'removed the entries of a departed node');
  }
}
