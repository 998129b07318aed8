import { randomBytes } from 'node:crypto';
import { ParleyHttpClient, ParleySocket, type ParleyError, type ParleySocketOptions } from '@parley/client';
import type { AuthSession, ChatMessage, ServerToClientEvents } from '@parley/protocol';

/** The password every test user registers with. */
export const TEST_PASSWORD = 'correct horse battery';

export interface TestUser {
  session: AuthSession;
  http: ParleyHttpClient;
}

/** Registers a fresh user on `url`. */
export async function registerUser(url: string, name = `user_${randomBytes(4).toString('hex')}`): Promise<TestUser> {
  const http = new ParleyHttpClient(url);
  const session = await http.register({ username: name, password: TEST_PASSWORD });
  return { session, http };
}

/** Connects a socket for `user` (a new device unless `clientInstanceId` is given). */
export function connect(url: string, user: TestUser, options: Partial<ParleySocketOptions> = {}): Promise<ParleySocket> {
  return ParleySocket.connect({ url, token: user.session.token, reconnection: false, ...options });
}

/** Collects every `chat:new` a socket receives. */
export function collectMessages(socket: ParleySocket): ChatMessage[] {
  const received: ChatMessage[] = [];
  socket.on('chat:new', (message) => received.push(message));
  return received;
}

/** Resolves with the next `event` on the socket, or rejects after `timeoutMs`. */
export function nextEvent<E extends keyof ServerToClientEvents>(
  socket: ParleySocket,
  event: E,
  timeoutMs = 5000,
): Promise<Parameters<ServerToClientEvents[E]>[0]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no ${event} within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = socket.on(event, ((payload: Parameters<ServerToClientEvents[E]>[0]) => {
      clearTimeout(timer);
      off();
      resolve(payload);
    }) as ServerToClientEvents[E]);
  });
}

/**
 * Waits until `condition` holds, checking it every 20 ms (an async condition
 * is awaited before the next check, so checks never overlap) for up to
 * `timeoutMs`. It is checked once more after the deadline before giving up,
 * so a loaded machine that overslept the last interval does not fail the test.
 * `timeoutMs` bounds a wait for something that must happen, not how fast it
 * happens: leave room for a loaded 2-core machine.
 */
export async function eventually(condition: () => boolean | Promise<boolean>, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what} did not hold within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Emits without an acknowledgement and without type checks, as a hostile or old client would. */
export function emitUntyped(socket: ParleySocket, event: string, ...args: unknown[]): void {
  (socket.socket.emit as (event: string, ...args: unknown[]) => void)(event, ...args);
}

/** The sockets a test file opened, to close them all when it ends. */
export class OpenSockets {
  readonly #sockets: ParleySocket[] = [];

  /** Connects `user` to `url` as the device `clientInstanceId` (a new one when absent). */
  async connect(url: string, user: TestUser, clientInstanceId?: string): Promise<ParleySocket> {
    return this.track(await connect(url, user, clientInstanceId ? { clientInstanceId } : {}));
  }

  track(socket: ParleySocket): ParleySocket {
    this.#sockets.push(socket);
    return socket;
  }

  closeAll(): void {
    for (const socket of this.#sockets.splice(0)) socket.close();
  }
}

/** The error a request was refused with; fails the test if it succeeded. */
export async function failureOf(request: Promise<unknown>): Promise<ParleyError> {
  try {
    await request;
  } catch (error) {
    return error as ParleyError;
  }
  throw new Error('the request succeeded');
}
