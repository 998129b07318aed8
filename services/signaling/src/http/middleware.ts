import { createHash } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { Actor } from '../domain/accounts/actor.ts';
import { AppError } from '../errors.ts';
import { isOriginAllowed } from '../origin-policy.ts';
import type { Authenticator } from '../domain/accounts/authenticator.ts';
import type { RateLimiter } from '../rate-limit/rate-limiter.ts';

const BEARER = /^Bearer\s+(\S+)\s*$/i;

/** Requires `Authorization: Bearer <session token or OIDC access token>`; the actor goes to `res.locals.actor`. */
export function requireActor(authenticator: Authenticator) {
  return async (req: Request, res: Response, next: NextFunction) => {
    const header = req.headers.authorization;
    if (!header) throw new AppError('auth_required');
    const token = BEARER.exec(header)?.[1];
    if (!token) throw new AppError('auth_error', 'The Authorization header must be "Bearer <token>"');
    res.locals.actor = await authenticator.authenticate(token);
    next();
  };
}

/** Authenticates a Bearer token when one is presented (a bad one is refused); without one the caller is anonymous. */
export function optionalActor(authenticator: Authenticator) {
  const required = requireActor(authenticator);
  return async (req: Request, res: Response, next: NextFunction) => {
    if (!req.headers.authorization) return next();
    await required(req, res, next);
  };
}

/** The actor set by `optionalActor`, or undefined for an anonymous caller. */
export function viewerOf(res: Response): Actor | undefined {
  return res.locals.actor as Actor | undefined;
}

/** The actor set by `requireActor`. */
export function actorOf(res: Response): Actor {
  const actor = res.locals.actor as Actor | undefined;
  if (!actor) throw new Error('actorOf() used on a route without requireActor()');
  return actor;
}

/**
 * Spends one point of `limiter` per mutating request (not GET, HEAD or
 * OPTIONS), keyed by the credential presented (hashed), else the client IP.
 * It runs before authentication, so it also stops floods of bad tokens.
 */
export function limitWrites(limiter: RateLimiter) {
  return async (req: Request, _res: Response, next: NextFunction) => {
    if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') return next();
    const credential = req.headers.authorization;
    const key = credential ? `token:${createHash('sha256').update(credential).digest('hex')}` : `ip:${req.ip ?? 'unknown'}`;
    const verdict = await limiter.consume(key);
    if (!verdict.allowed) throw new AppError('rate_limited', undefined, { retryAfterMs: verdict.retryAfterMs });
    next();
  };
}

/** Spends one point of `limiter` per request, keyed by the client IP (see TRUST_PROXY_HOPS). */
export function limitByIp(limiter: RateLimiter) {
  return async (req: Request, _res: Response, next: NextFunction) => {
    const verdict = await limiter.consume(req.ip ?? 'unknown');
    if (!verdict.allowed) throw new AppError('rate_limited', undefined, { retryAfterMs: verdict.retryAfterMs });
    next();
  };
}

/**
 * A browser request from an Origin outside the allowlist is refused with
 * `403 origin_not_allowed` before anything runs (withholding the CORS
 * headers alone would still let a simple request's side effects happen).
 */
export function refuseForeignOrigins(allowlist: readonly string[]) {
  return (req: Request, _res: Response, next: NextFunction) => {
    if (!isOriginAllowed(req.headers.origin, allowlist)) throw new AppError('origin_not_allowed');
    next();
  };
}

/**
 * A body announced larger than `limitBytes` is refused at once, with the
 * connection closed after the answer: body-parser would first read the whole
 * body off the connection (to keep it reusable), however long that takes.
 */
export function refuseOversizedBodies(limitBytes: number) {
  return (req: Request, res: Response, next: NextFunction) => {
    if (Number(req.headers['content-length'] ?? 0) <= limitBytes) return next();
    res.setHeader('Connection', 'close');
    throw new AppError('payload_too_large');
  };
}
