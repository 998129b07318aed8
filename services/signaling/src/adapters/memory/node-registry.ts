import type { NodeRegistry } from '../../cluster/node-registry.ts';

/** The embedded mode's registry: one process, which is alive while it runs. */
export class MemoryNodeRegistry implements NodeRegistry {
  async heartbeat(): Promise<boolean> {
    return true;
  }

  async claimLapsed(): Promise<string[]> {
    return [];
  }

  async forget(): Promise<void> {}

  async leave(): Promise<void> {}
}
