import type { DeviceTokenRow } from '@parley/db';
import { limits, type AddDeviceTokenRequest, type DeviceToken } from '@parley/protocol';
import { AppError } from '../../errors.ts';
import type { Store } from '../store.ts';
import type { Actor } from './actor.ts';

/** Push tokens of the actor's devices. A user sees and changes only their own. */
export class DeviceTokenService {
  readonly #store: Store;

  constructor(deps: { store: Store }) {
    this.#store = deps.store;
  }

  async list(actor: Actor): Promise<DeviceToken[]> {
    return (await this.#store.repos.deviceTokens.listByUser(actor.userId)).map(toDeviceToken);
  }

  /**
   * Registers a token, or refreshes it when it is already registered (a token
   * registered by another account moves to this one: the device changed hands).
   * Throws `limit_reached` beyond 50 tokens per user.
   */
  add(actor: Actor, input: AddDeviceTokenRequest): Promise<{ deviceToken: DeviceToken; created: boolean }> {
    return this.#store.transaction(async (repos) => {
      // Locks the user row so that concurrent adds cannot pass the cap together.
      if (!(await repos.users.getForUpdate(actor.userId))) throw new AppError('auth_error');
      const existing = await repos.deviceTokens.getByToken(input.token);
      const alreadyMine = existing?.user_id === actor.userId;
      if (!alreadyMine && (await repos.deviceTokens.countByUser(actor.userId)) >= limits.deviceTokensPerUser.max) {
        throw new AppError('limit_reached', `At most ${limits.deviceTokensPerUser.max} device tokens per account`);
      }
      const row = await repos.deviceTokens.upsert({ userId: actor.userId, platform: input.platform, token: input.token });
      return { deviceToken: toDeviceToken(row), created: !alreadyMine };
    });
  }

  /** Throws `not_found` unless the actor has a token with this id. */
  async remove(actor: Actor, id: string): Promise<void> {
    if (!(await this.#store.repos.deviceTokens.delete(actor.userId, id))) throw new AppError('not_found');
  }
}

function toDeviceToken(row: DeviceTokenRow): DeviceToken {
  return {
    id: row.id,
    platform: row.platform,
    token: row.token,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}
