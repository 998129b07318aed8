import type { Clock } from '../../clock.ts';
import type { Logger } from '../../logger.ts';
import type { Store } from '../store.ts';

// SKELETON: being written by a helper.
export class ActivityRecorder {
  constructor(_deps: { store: Store; clock: Clock; logger: Logger; flushIntervalMs?: number }) {}
  recordJoin(_serverId: string): void {}
  recordMessage(_serverId: string): void {}
  async close(): Promise<void> {}
}
