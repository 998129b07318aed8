import { ParleySocket, type ParleyError } from '@parley/client';
import { io } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestNode, type TestNode } from './support/test-node.ts';
import { connect, registerUser, type TestUser } from './support/users.ts';

let node: TestNode;

beforeAll(async () => {
  node = await startTestNode({ RATE_LIMIT_AUTH: '1000/1m', CORS_ALLOWLIST: 'https://app.example' });
});
afterAll(() => node.stop());

async function refusal(options: Parameters<typeof ParleySocket.connect>[0]): Promise<ParleyError> {
  return ParleySocket.connect({ reconnection: false, ...options }).then(
    (socket) => {
      socket.close();
      throw new Error('the connection was accepted');
    },
    (error: ParleyError) => error,
  );
}

describe('handshake', () => {
  let user: TestUser;
  beforeAll(async () => {
    user = await registerUser(node.url);
  });

  it('accepts a valid session token', async () => {
    const socket = await connect(node.url, user, { clientInstanceId: 'tab-1' });
    expect(socket.connected).toBe(true);
    socket.close();
  });

  it.each([
    ['no token', { token: '' }, 'auth_required'],
    ['an unknown token', { token: 'f'.repeat(64) }, 'auth_error'],
    ['a token that is not a session token', { token: 'x'.repeat(10) }, 'auth_error'],
    ['an unsafe client instance id', { clientInstanceId: 'tab 1 <script>' }, 'auth_error'],
  ])('refuses %s', async (_label, override, code) => {
    const error = await refusal({ url: node.url, token: user.session.token, ...override });
    expect(error.code).toBe(code);
  });

  it('refuses an oderId that is not the token’s user', async () => {
    const other = await registerUser(node.url);
    const socket = io(node.url, {
      transports: ['websocket'],
      reconnection: false,
      auth: { token: user.session.token, clientInstanceId: 'tab-1', oderId: other.session.id },
    });
    const error = await new Promise<Error & { data?: { code: string } }>((resolve) => socket.once('connect_error', resolve));
    socket.close();
    expect(error.data?.code).toBe('auth_error');
    expect(error.message).toMatch(/oderId/);
  });

  it('refuses a missing auth object altogether', async () => {
    const socket = io(node.url, { transports: ['websocket'], reconnection: false });
    const error = await new Promise<Error & { data?: { code: string } }>((resolve) => socket.once('connect_error', resolve));
    socket.close();
    expect(error.data?.code).toBe('auth_required');
  });

  it('refuses a foreign Origin over WebSocket and accepts an allowed one', async () => {
    const attempt = (origin: string) =>
      new Promise<string>((resolve) => {
        const socket = io(node.url, {
          transports: ['websocket'],
          reconnection: false,
          extraHeaders: { Origin: origin },
          auth: { token: user.session.token, clientInstanceId: 'tab-o' },
        });
        socket.once('connect', () => resolve('connected'));
        socket.once('connect_error', (error) => resolve(error.message));
        socket.once('connect', () => socket.close());
        socket.once('connect_error', () => socket.close());
      });
    expect(await attempt('https://evil.example')).not.toBe('connected');
    expect(await attempt('https://app.example')).toBe('connected');
  });

  it('refuses a foreign Origin over HTTP long-polling', async () => {
    // Raw engine.io handshakes: Node's XHR polyfill would silently drop the Origin header.
    const handshake = (origin: string) =>
      fetch(`${node.url}/socket.io/?EIO=4&transport=polling`, { headers: { Origin: origin } });
    const refused = await handshake('https://evil.example');
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain('origin_not_allowed');
    const accepted = await handshake('https://app.example');
    expect(accepted.status).toBe(200);
    expect(accepted.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(await accepted.text()).toContain('"sid"');
  });
});
