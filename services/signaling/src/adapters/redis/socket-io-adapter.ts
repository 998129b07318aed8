import { createAdapter } from '@socket.io/redis-adapter';
import type { Redis } from 'ioredis';
import { throttledWarning, type Logger } from '../../logger.ts';

type Listener = (...args: unknown[]) => unknown;

/** The subscriber events through which the adapter receives other pods' broadcasts, requests and responses. */
const MESSAGE_EVENTS = new Set(['pmessageBuffer', 'messageBuffer', 'smessageBuffer']);

/**
 * Socket.IO's Redis adapter, hardened for untrusted payloads and Redis outages:
 *
 * - a message from another pod that cannot be decoded or delivered is logged
 *   and dropped: the adapter handles messages inside ioredis's event
 *   emitter, where a throw (a stack overflow in the decoder, say) would end
 *   the process;
 * - a publish that fails while Redis is away or paused is logged, not left
 *   as an unhandled rejection (the adapter never awaits its publishes).
 *   Local delivery is unaffected; clients of other pods gap-fill on reconnect.
 */
export function createSocketIoRedisAdapter(options: {
  pub: Redis;
  sub: Redis;
  key: string;
  logger: Logger;
  onDropped?: (reason: 'undeliverable' | 'publish_failed') => void;
}) {
  const log = options.logger.child({ module: 'fanout' });
  const warnUndeliverable = throttledWarning(log, 'dropped a message from another pod that could not be handled');
  const warnPublish = throttledWarning(log, 'publish to other pods failed; local delivery continues');
  const dropped = (reason: 'undeliverable' | 'publish_failed', error: unknown) => {
    options.onDropped?.(reason);
    (reason === 'publish_failed' ? warnPublish : warnUndeliverable)({ err: error });
  };
  return createAdapter(publisherOf(options.pub, (error) => dropped('publish_failed', error)), subscriberOf(options.sub, (error) => dropped('undeliverable', error)), {
    key: options.key,
  });
}

/** `pub`, whose `publish` failures go to `onFailure` instead of the (unawaited) promise. */
function publisherOf(pub: Redis, onFailure: (error: unknown) => void): Redis {
  return new Proxy(pub, {
    get(target, property) {
      if (property === 'publish' || property === 'spublish') {
        const publish = target[property].bind(target) as (...args: unknown[]) => Promise<number>;
        return (...args: unknown[]) => publish(...args).catch((error: unknown) => (onFailure(error), 0));
      }
      const value = Reflect.get(target, property, target) as unknown;
      return typeof value === 'function' ? (value as Listener).bind(target) : value;
    },
  });
}

/** `sub`, whose message listeners cannot throw or reject: a failure goes to `onFailure`. */
function subscriberOf(sub: Redis, onFailure: (error: unknown) => void): Redis {
  const guarded = new WeakMap<Listener, Listener>();
  const guard = (listener: Listener): Listener => {
    let wrapped = guarded.get(listener);
    if (!wrapped) {
      wrapped = (...args: unknown[]) => {
        try {
          const result = listener(...args);
          if (result instanceof Promise) result.catch(onFailure);
        } catch (error) {
          onFailure(error);
        }
      };
      guarded.set(listener, wrapped);
    }
    return wrapped;
  };
  return new Proxy(sub, {
    get(target, property) {
      if (property === 'on' || property === 'addListener' || property === 'off' || property === 'removeListener') {
        return (event: string, listener: Listener) => {
          target[property](event, MESSAGE_EVENTS.has(event) ? guard(listener) : listener);
          return target;
        };
      }
      const value = Reflect.get(target, property, target) as unknown;
      return typeof value === 'function' ? (value as Listener).bind(target) : value;
    },
  });
}
