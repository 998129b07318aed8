import { randomBytes } from 'node:crypto';
import type { NodeIdentity } from './node-registry.ts';

const suffix = () => randomBytes(3).toString('hex');

/**
 * The pod's incarnation id, `<nodeId>#<6 random hex>`. The random part keeps
 * a restarted pod that keeps its NODE_ID (a StatefulSet's) apart from its
 * dead predecessor, whose entries a reaper may still be removing.
 */
export class NodeIncarnation implements NodeIdentity {
  readonly #nodeId: string;
  #current: string;

  constructor(nodeId: string) {
    this.#nodeId = nodeId;
    this.#current = `${nodeId}#${suffix()}`;
  }

  get current(): string {
    return this.#current;
  }

  renew(): string {
    let next = `${this.#nodeId}#${suffix()}`;
    // One chance in 16 million, but a renewal that keeps the old id would undo its purpose.
    while (next === this.#current) next = `${this.#nodeId}#${suffix()}`;
    this.#current = next;
    return next;
  }
}
