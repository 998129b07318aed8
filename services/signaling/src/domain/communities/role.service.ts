import type { Clock } from '../../clock.ts';
import type { Realtime } from '../../realtime/realtime.ts';
import type { PasswordHasher } from '../accounts/password-hasher.ts';
import type { Store } from '../store.ts';

// SKELETON: being written by a helper.
export class RoleService {
  constructor(_deps: { store: Store; realtime: Realtime }) {}
}
