import { createHmac } from 'node:crypto';
import type { IceServer } from '@parley/protocol';
import type { Clock } from '../../clock.ts';

/** TURN servers and the secret shared with them (`TURN_URLS`, `TURN_SECRET`, `TURN_CREDENTIAL_TTL_S`). */
export interface TurnSettings {
  readonly urls: readonly string[];
  readonly secret: string;
  readonly credentialTtlSeconds: number;
}

/**
 * The STUN and TURN servers a client's peer connections use. TURN
 * credentials follow the TURN REST API (coturn's `use-auth-secret`): the
 * username carries its expiry, the password is an HMAC of it under the secret
 * shared with the TURN servers, so they need no call back to Parley. Neither
 * the secret nor a credential is ever logged.
 */
export class IceServerProvider {
  readonly #stunServers: readonly string[];
  readonly #turn: TurnSettings | undefined;
  readonly #clock: Clock;

  constructor(deps: { stunServers: readonly string[]; turn: TurnSettings | undefined; clock: Clock }) {
    this.#stunServers = deps.stunServers;
    this.#turn = deps.turn;
    this.#clock = deps.clock;
  }

  /** STUN (one entry for all URLs, none when there are none), then TURN with a credential for `userId`. */
  forUser(userId: string): IceServer[] {
    const servers: IceServer[] = [];
    if (this.#stunServers.length > 0) servers.push({ urls: [...this.#stunServers] });
    if (this.#turn) {
      const expiresAt = Math.floor(this.#clock.now().getTime() / 1000) + this.#turn.credentialTtlSeconds;
      const username = `${expiresAt}:${userId}`;
      const credential = createHmac('sha1', this.#turn.secret).update(username).digest('base64');
      servers.push({ urls: [...this.#turn.urls], username, credential });
    }
    return servers;
  }
}
