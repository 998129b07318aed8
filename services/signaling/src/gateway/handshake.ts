import { handshakeAuth, type ErrorPayload } from '@parley/protocol';
import type { Authenticator } from '../domain/accounts/authenticator.ts';
import type { ChannelAccess } from '../domain/communities/access/channel-access.ts';
import { AppError, reportError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { parsePayload } from '../validation.ts';
import type { ConnectionAdmission } from './connection-admission.ts';
import type { ParleySocket } from './socket-server.ts';


/** What a client sees in `connect_error`: `err.message` and `err.data` ({ code, message, ... }). */
function connectError(payload: ErrorPayload): Error & { data: ErrorPayload } {
  return Object.assign(new Error(payload.message), { data: payload });
}

/**
 * Socket.IO middleware: no socket reaches an event handler unless its
 * handshake `auth` carries a valid token (session, or OIDC when enabled) and a
 * client instance id.
 */
export function authenticateHandshake(deps: {
  authenticator: Authenticator;
  access: ChannelAccess;
  admission: ConnectionAdmission;
  logger: Logger;
  /** Where the rooms loaded during the handshake wait until the connection opens and joins them. */
  roomsToJoin: WeakMap<ParleySocket, string[]>;
}) {
  const log = deps.logger.child({ module: 'gateway.handshake' });
  return async (socket: ParleySocket, next: (error?: Error) => void) => {
    if (!deps.admission.attempt(socket.conn)) {
      next(connectError(new AppError('rate_limited', 'Too many sign-in attempts on this connection', { retryAfterMs: 1000 }).toPayload()));
      // Once the refusal is queued (Socket.IO sends it on the next tick), the connection is closed after it.
      setImmediate(() => socket.conn.close());
      return;
    }
    try {
      const auth: unknown = socket.handshake.auth;
      const token = (auth as { token?: unknown } | undefined)?.token;
      if (token === undefined || token === null || token === '') throw new AppError('auth_required');
      let input;
      try {
        input = parsePayload(handshakeAuth, auth);
      } catch (error) {
        throw new AppError('auth_error', (error as Error).message, { details: (error as AppError).details });
      }
      const actor = await deps.authenticator.authenticate(input.token);
      if (input.oderId !== undefined && input.oderId !== actor.userId) {
        throw new AppError('auth_error', "oderId does not match the token's user");
      }
      socket.data = {
        userId: actor.userId,
        sessionId: actor.sessionId,
        expiresAt: actor.expiresAt,
        username: actor.username,
        displayName: actor.displayName,
        clientInstanceId: input.clientInstanceId,
        connectionScope: input.connectionScope ?? null,
        address: deps.admission.addressOf(socket.conn) ?? socket.handshake.address,
      };
      deps.roomsToJoin.set(socket, await deps.access.roomsOf(actor.userId));
      next();
    } catch (error) {
      const payload = reportError(log, error, { address: socket.handshake.address });
      log.debug({ code: payload.code, address: socket.handshake.address }, 'handshake rejected');
      next(connectError(payload));
    }
  };
}
