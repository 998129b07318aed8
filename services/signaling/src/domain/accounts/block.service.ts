import { limits, type BlockedUser } from '@parley/protocol';
import { AppError } from '../../errors.ts';
import type { Store } from '../store.ts';
import type { Actor } from './actor.ts';
import type { BlockedUserRow } from './block.repository.ts';

/**
 * Users' blocks (the MetoYou seed's rule): nothing is relayed to a user who
 * has blocked the sender. A user sees and changes only their own blocks.
 */
export class BlockService {
  readonly #store: Store;

  constructor(deps: { store: Store }) {
    this.#store = deps.store;
  }

  /** The actor's blocks, newest first. */
  async list(actor: Actor): Promise<BlockedUser[]> {
    return (await this.#store.repos.blocks.listByBlocker(actor.userId)).map(toBlockedUser);
  }

  /**
   * Blocks `userId`; blocking again changes nothing. Throws `invalid_target`
   * for oneself, `user_not_found`, `limit_reached` beyond 1000 blocks.
   */
  async block(actor: Actor, userId: string): Promise<void> {
    if (userId === actor.userId) throw new AppError('invalid_target', 'You cannot block yourself');
    await this.#store.transaction(async (repos) => {
      // Locks the blocker's row so that concurrent blocks cannot pass the cap together.
      if (!(await repos.users.getForUpdate(actor.userId))) throw new AppError('auth_error');
      if (!(await repos.users.get(userId))) throw new AppError('user_not_found');
      if (await repos.blocks.exists(actor.userId, userId)) return;
      if ((await repos.blocks.countByBlocker(actor.userId)) >= limits.blocksPerUser.max) {
        throw new AppError('limit_reached', `At most ${limits.blocksPerUser.max} blocked users per account`);
      }
      await repos.blocks.create(actor.userId, userId);
    });
  }

  /** Lifts a block; lifting one that does not exist changes nothing. Throws `user_not_found`. */
  async unblock(actor: Actor, userId: string): Promise<void> {
    if (await this.#store.repos.blocks.delete(actor.userId, userId)) return;
    if (!(await this.#store.repos.users.get(userId))) throw new AppError('user_not_found');
  }

  /** True when `blockerId` has blocked `blockedId`: one primary-key lookup, made for every relayed signal. */
  hasBlocked(blockerId: string, blockedId: string): Promise<boolean> {
    return this.#store.repos.blocks.exists(blockerId, blockedId);
  }
}

function toBlockedUser(row: BlockedUserRow): BlockedUser {
  return {
    userId: row.blocked_id,
    username: row.username,
    displayName: row.display_name,
    createdAt: row.created_at.toISOString(),
  };
}
