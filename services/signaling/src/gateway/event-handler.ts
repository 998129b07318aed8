import type { AckResponse, AckResult, ClientEventName, ErrorPayload } from '@parley/protocol';
import type { z } from 'zod';
import type { Actor } from '../domain/accounts/actor.ts';
import { AppError, reportError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import type { RateLimiter } from '../rate-limit/rate-limiter.ts';
import { parsePayload } from '../validation.ts';
import { ConnectionBudget } from './connection-budget.ts';
import type { ParleySocket } from './socket-server.ts';

/** How one client event is handled: validated, rate-limited per user, acknowledged. */
export interface EventHandler<E extends ClientEventName, S extends z.ZodType = z.ZodType> {
  schema: S;
  /** Spent once per event, keyed by user id, before the payload is parsed. */
  limiter?: RateLimiter;
  handle(socket: ParleySocket, input: z.output<S>): Promise<AckResult<E>>;
  /** Called with every failure, rate limits and validation included, before the acknowledgement (for a seed's reply event). */
  onError?(socket: ParleySocket, error: ErrorPayload): void;
}

export type EventHandlers = { [E in ClientEventName]?: EventHandler<E> };

/** The actor behind a socket's event, acting through that connection. */
export function actorOf(socket: ParleySocket): Actor {
  const { userId, sessionId, username, displayName, expiresAt } = socket.data;
  return { userId, sessionId, username, displayName, expiresAt, connectionId: socket.id };
}

/**
 * Handles every client event of every socket through one listener that all
 * sockets share (`socket.onAny`, called with the socket as `this`), so an idle
 * connection holds no closure, no listener table and no budget of its own:
 * its `ConnectionBudget` is made on its first event. Every event is answered
 * through its acknowledgement with `{ ok: true, ... }` or `{ ok: false, error }`;
 * an event sent without an acknowledgement (as older seed clients do) is
 * still handled. Before anything else, each event, of a known name or not, is
 * counted against the connection's budget (events per second, handlers in
 * flight). A handler never throws past this point. Returns the function that
 * starts handling one socket's events.
 */
export function eventDispatcher(
  handlers: EventHandlers,
  deps: { logger: Logger; metrics: Metrics; connectionLimits: ConstructorParameters<typeof ConnectionBudget>[0] },
): (socket: ParleySocket) => void {
  const log = deps.logger.child({ module: 'gateway.events' });
  const budgets = new WeakMap<ParleySocket, ConnectionBudget>();
  const budgetOf = (socket: ParleySocket) => {
    let budget = budgets.get(socket);
    if (!budget) budgets.set(socket, (budget = new ConnectionBudget(deps.connectionLimits)));
    return budget;
  };

  async function handle(socket: ParleySocket, budget: ConnectionBudget, event: ClientEventName, handler: EventHandler<ClientEventName>, args: unknown[]) {
    const ack = typeof args.at(-1) === 'function' ? (args.pop() as (response: AckResponse) => void) : () => {};
    const busy = budget.start();
    if (busy) {
      handler.onError?.(socket, busy);
      deps.metrics.socketEvents.inc({ event, outcome: busy.code });
      return ack({ ok: false, error: busy });
    }
    const stopTimer = deps.metrics.socketEventDuration.startTimer({ event });
    let outcome = 'ok';
    try {
      if (handler.limiter) {
        const verdict = await handler.limiter.consume(socket.data.userId);
        if (!verdict.allowed) throw new AppError('rate_limited', undefined, { retryAfterMs: verdict.retryAfterMs });
      }
      const input = parsePayload(handler.schema, args[0]);
      const result = await handler.handle(socket, input);
      ack({ ok: true, ...result });
    } catch (error) {
      const payload = reportError(log, error, { event, userId: socket.data.userId });
      outcome = payload.code;
      handler.onError?.(socket, payload);
      ack({ ok: false, error: payload });
    } finally {
      budget.finish();
      stopTimer();
      deps.metrics.socketEvents.inc({ event, outcome });
    }
  }

  function onEvent(this: ParleySocket, event: unknown, ...args: unknown[]): void {
    if (!this.connected) return;
    const handler = typeof event === 'string' && Object.hasOwn(handlers, event) ? handlers[event as ClientEventName] : undefined;
    const budget = budgetOf(this);
    const refusal = budget.spendEvent();
    if (refusal) {
      deps.metrics.socketEvents.inc({ event: handler ? (event as string) : 'unknown', outcome: refusal.code });
      const ack = args.at(-1);
      if (typeof ack === 'function') (ack as (response: AckResponse) => void)({ ok: false, error: refusal });
      return;
    }
    if (handler) void handle(this, budget, event as ClientEventName, handler as EventHandler<ClientEventName>, args);
  }

  return (socket) => {
    socket.onAny(onEvent);
  };
}
