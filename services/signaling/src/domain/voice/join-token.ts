import { randomUUID } from 'node:crypto';
import type { Permission } from '@parley/protocol';
import { SignJWT } from 'jose';
import type { Clock } from '../../clock.ts';
import type { KeyRing } from './key-ring.ts';

/** Who may join which SFU room, and what they may do there. */
export interface JoinTokenClaims {
  userId: string;
  displayName: string;
  serverId: string;
  channelId: string;
  /** `<serverId>:<channelId>`: the SFU admits the token to this room only. */
  roomId: string;
  clientInstanceId: string;
  permissions: Permission[];
}

/**
 * Mints the short-lived JWTs (ES256) that admit a client to an SFU room. The
 * SFU checks them against the cluster's JWKS (`/.well-known/jwks.json`), so it
 * holds no secret a client could learn.
 */
export class JoinTokenIssuer {
  readonly #keys: KeyRing;
  readonly #clock: Clock;
  readonly #issuer: string;
  readonly #audience: string;
  readonly #ttlSeconds: number;

  constructor(deps: { keys: KeyRing; clock: Clock; issuer: string; audience: string; ttlSeconds: number }) {
    this.#keys = deps.keys;
    this.#clock = deps.clock;
    this.#issuer = deps.issuer;
    this.#audience = deps.audience;
    this.#ttlSeconds = deps.ttlSeconds;
  }

  async issue(claims: JoinTokenClaims): Promise<string> {
    const { kid, privateKey } = await this.#keys.signingKey();
    const issuedAt = Math.floor(this.#clock.now().getTime() / 1000);
    return new SignJWT({
      room: claims.roomId,
      server_id: claims.serverId,
      channel_id: claims.channelId,
      client_instance_id: claims.clientInstanceId,
      name: claims.displayName,
      permissions: claims.permissions,
    })
      .setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT' })
      .setIssuer(this.#issuer)
      .setAudience(this.#audience)
      .setSubject(claims.userId)
      .setIssuedAt(issuedAt)
      .setNotBefore(issuedAt)
      .setExpirationTime(issuedAt + this.#ttlSeconds)
      .setJti(randomUUID())
      .sign(privateKey);
  }
}
