import { randomBytes } from 'node:crypto';
import type { UserRow } from '@parley/db';
import { limits } from '@parley/protocol';
import type { Store } from '../store.ts';
import type { OidcIdentityClaims } from './oidc-token-verifier.ts';

/** Thrown inside the provisioning transaction when another pod linked the identity first. */
class AlreadyLinked extends Error {}

const USERNAME_ATTEMPTS = 5;

/**
 * The Parley user behind a verified OIDC identity, created on first sight.
 * Safe when several pods see the same new (issuer, subject) at once: exactly
 * one user is created and every caller gets it.
 */
export async function userForOidcIdentity(store: Store, claims: OidcIdentityClaims): Promise<UserRow> {
  const existing = await store.repos.oidcIdentities.getUser(claims.issuer, claims.subject);
  if (existing) return existing;

  const base = usernameFrom(claims.username);
  for (let attempt = 0; attempt < USERNAME_ATTEMPTS; attempt += 1) {
    const username = attempt === 0 ? base : withSuffix(base);
    try {
      const created = await store.transaction(async (repos) => {
        const user = await repos.users.create({
          username,
          displayName: (claims.displayName ?? claims.username ?? username).trim().slice(0, limits.displayName.max) || username,
          passwordHash: null,
        });
        if (!user) return undefined; // username taken: try another
        const linked = await repos.oidcIdentities.create({ issuer: claims.issuer, subject: claims.subject, userId: user.id });
        if (!linked) throw new AlreadyLinked(); // roll back our user
        return user;
      });
      if (created) return created;
    } catch (error) {
      if (!(error instanceof AlreadyLinked)) throw error;
      const winner = await store.repos.oidcIdentities.getUser(claims.issuer, claims.subject);
      if (winner) return winner;
    }
  }
  throw new Error(`could not find a free username for OIDC subject after ${USERNAME_ATTEMPTS} attempts`);
}

/** A valid Parley username from the provider's claim: unsafe characters become "_". */
export function usernameFrom(claim: string | undefined): string {
  const cleaned = (claim ?? '').replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, limits.username.max);
  return cleaned.length >= limits.username.min ? cleaned : `user_${randomBytes(4).toString('hex')}`;
}

function withSuffix(base: string): string {
  const suffix = `-${randomBytes(3).toString('hex')}`;
  return base.slice(0, limits.username.max - suffix.length) + suffix;
}
