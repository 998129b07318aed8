import { loginRequest, registerRequest } from '@parley/protocol';
import { Router } from 'express';
import type { AccountService } from '../domain/accounts/account.service.ts';
import type { RateLimiter } from '../rate-limit/rate-limiter.ts';
import { parsePayload } from '../validation.ts';
import { limitByIp } from './middleware.ts';

/** `/api/users`: registration and sign-in. */
export function usersRoutes(deps: { accounts: AccountService; authLimiter: RateLimiter }): Router {
  const router = Router();
  const limited = limitByIp(deps.authLimiter);

  router.post('/register', limited, async (req, res) => {
    const input = parsePayload(registerRequest, req.body);
    res.status(201).json(await deps.accounts.register(input));
  });

  router.post('/login', limited, async (req, res) => {
    const input = parsePayload(loginRequest, req.body);
    res.json(await deps.accounts.login(input));
  });

  return router;
}
