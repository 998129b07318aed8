import type { Clock } from '../../clock.ts';
import type { Store } from '../store.ts';

// SKELETON: being written by a helper.
export class DiscoveryService {
  constructor(_deps: { store: Store; clock: Clock }) {}
}
