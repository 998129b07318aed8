import { createAdapter, type RedisAdapter } from '@socket.io/redis-adapter';
import type { Redis } from 'ioredis';
import { throttledWarning, type Logger } from '../../logger.ts';

type Listener = (...args: unknown[]) => unknown;

/** The subscriber events through which the adapter receives other pods' broadcasts, requests and responses. */
const MESSAGE_EVENTS = new Set(['pmessageBuffer', 'messageBuffer', 'smessageBuffer']);
/** The event of broadcasts (`<key>#<nsp>#[room#]`, pattern-subscribed); requests and responses come as `messageBuffer`. */
const BROADCAST_EVENT = 'pmessageBuffer';

/**
 * Socket.IO's Redis adapter, hardened for untrusted payloads and Redis outages:
 *
 * - a message from another pod that cannot be decoded or delivered is logged
 *   and dropped: the adapter handles messages inside ioredis's event
 *   emitter, where a throw (a stack overflow in the decoder, say) would end
 *   the process;
 * - a publish that fails while Redis is away or paused is logged, not left
 *   as an unhandled rejection (the adapter never awaits its publishes).
 *   Local delivery is unaffected; clients of other pods gap-fill on reconnect;
 * - the pod's own broadcasts, which Redis sends back to it, are dropped
 *   before they are decoded (the adapter would decode each, then drop it).
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
  const own = new OwnBroadcasts();
  const makeAdapter = createAdapter(
    publisherOf(options.pub, (error) => dropped('publish_failed', error)),
    subscriberOf(options.sub, own, (error) => dropped('undeliverable', error)),
    { key: options.key },
  );
  // Socket.IO calls it with `new`: a function, not an arrow.
  return function redisAdapter(nsp: unknown): RedisAdapter {
    const adapter = makeAdapter(nsp);
    own.add(adapter.uid as string);
    return adapter;
  };
}

/**
 * Recognises broadcasts published by this process's adapters (one per
 * namespace) from their first bytes. The adapter publishes
 * `msgpack([uid, packet, opts])`: a fixarray of 3 (0x93), then the uid as a
 * fixstr (0xa0 | length, 6 ASCII characters from uid2), so an own broadcast
 * starts with those bytes and another pod's (another uid) does not.
 */
class OwnBroadcasts {
  readonly #prefixes: Buffer[] = [];

  add(uid: string): void {
    // A uid that is not a short ASCII fixstr is simply never recognised: the adapter then drops it itself.
    if (uid.length < 32 && Buffer.byteLength(uid) === uid.length) {
      this.#prefixes.push(Buffer.concat([Buffer.from([0x93, 0xa0 | uid.length]), Buffer.from(uid)]));
    }
  }

  has(message: unknown): boolean {
    if (!Buffer.isBuffer(message)) return false;
    return this.#prefixes.some(
      (prefix) => message.length > prefix.length && message.compare(prefix, 0, prefix.length, 0, prefix.length) === 0,
    );
  }
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

/**
 * `sub`, whose message listeners cannot throw or reject (a failure goes to
 * `onFailure`), and whose broadcast listeners never see this pod's own.
 */
function subscriberOf(sub: Redis, own: OwnBroadcasts, onFailure: (error: unknown) => void): Redis {
  const guarded = new WeakMap<Listener, Listener>();
  const guard = (event: string, listener: Listener): Listener => {
    let wrapped = guarded.get(listener);
    if (!wrapped) {
      const broadcasts = event === BROADCAST_EVENT;
      wrapped = (...args: unknown[]) => {
        // (pattern, channel, message)
        if (broadcasts && own.has(args[2])) return;
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
          target[property](event, MESSAGE_EVENTS.has(event) ? guard(event, listener) : listener);
          return target;
        };
      }
      const value = Reflect.get(target, property, target) as unknown;
      return typeof value === 'function' ? (value as Listener).bind(target) : value;
    },
  });
}
