import { addDeviceTokenRequest, loginRequest, registerRequest, updateMeRequest } from '@parley/protocol';
import { Router } from 'express';
import type { AccountService } from '../domain/accounts/account.service.ts';
import type { Authenticator } from '../domain/accounts/authenticator.ts';
import type { DeviceTokenService } from '../domain/accounts/device-token.service.ts';
import type { RateLimiter } from '../rate-limit/rate-limiter.ts';
import { parsePayload } from '../validation.ts';
import { actorOf, limitByIp, requireActor } from './middleware.ts';
import { pathId } from './path-params.ts';


/** `/api/users`: registration, sign-in and out, the signed-in profile, push device tokens. */
export function usersRoutes(deps: {
  accounts: AccountService;
  authenticator: Authenticator;
  deviceTokens: DeviceTokenService;
  authLimiter: RateLimiter;
}): Router {
  const router = Router();
  const limited = limitByIp(deps.authLimiter);
  const signedIn = requireActor(deps.authenticator);

  router.post('/register', limited, async (req, res) => {
    const input = parsePayload(registerRequest, req.body);
    res.status(201).json(await deps.accounts.register(input));
  });

  router.post('/login', limited, async (req, res) => {
    const input = parsePayload(loginRequest, req.body);
    res.json(await deps.accounts.login(input));
  });

  router.post('/logout', signedIn, async (_req, res) => {
    await deps.accounts.logout(actorOf(res));
    res.status(204).end();
  });

  router.get('/me', signedIn, async (_req, res) => {
    res.json(await deps.accounts.profile(actorOf(res)));
  });

  // Changing the password is a sign-in attempt too: limited like login.
  router.patch('/me', signedIn, limited, async (req, res) => {
    const input = parsePayload(updateMeRequest, req.body);
    res.json(await deps.accounts.updateProfile(actorOf(res), input));
  });

  router.get('/device-tokens', signedIn, async (_req, res) => {
    res.json({ items: await deps.deviceTokens.list(actorOf(res)) });
  });

  router.post('/device-tokens', signedIn, async (req, res) => {
    const input = parsePayload(addDeviceTokenRequest, req.body);
    const { deviceToken, created } = await deps.deviceTokens.add(actorOf(res), input);
    res.status(created ? 201 : 200).json(deviceToken);
  });

  router.delete('/device-tokens/:id', signedIn, async (req, res) => {
    await deps.deviceTokens.remove(actorOf(res), pathId(req.params.id, 'not_found'));
    res.status(204).end();
  });

  return router;
}
