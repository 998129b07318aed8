import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { IceServerProvider } from './ice-servers.ts';

const NOW = Date.parse('2026-11-26T12:00:00.750Z');
const clock = { now: () => new Date(NOW) };
const SECRET = 'turn-shared-secret-0123456789';
const USER = '2b0f3c1e-4a5d-4e6f-8a9b-0c1d2e3f4a5b';
const turn = { urls: ['turn:turn.example.com:3478?transport=udp', 'turns:turn.example.com:5349'], secret: SECRET, credentialTtlSeconds: 3600 };

describe('IceServerProvider', () => {
  it('gives one STUN entry with every STUN URL, then TURN with a credential the TURN server can recompute', () => {
    const provider = new IceServerProvider({ stunServers: ['stun:a.example.com:3478', 'stun:b.example.com'], turn, clock });
    const [stun, relay, ...rest] = provider.forUser(USER);

    expect(stun).toEqual({ urls: ['stun:a.example.com:3478', 'stun:b.example.com'] });
    expect(rest).toEqual([]);
    expect(relay?.urls).toEqual(turn.urls);
    // What coturn does with use-auth-secret: the expiry is the username's first field, the password its HMAC.
    const [expiry, userId] = relay!.username!.split(':');
    expect(Number(expiry)).toBe(Math.floor(NOW / 1000) + 3600);
    expect(userId).toBe(USER);
    const expected = createHmac('sha1', Buffer.from(SECRET, 'utf8')).update(Buffer.from(relay!.username!, 'utf8')).digest();
    expect(Buffer.from(relay!.credential!, 'base64')).toEqual(expected);
    expect(relay!.credential).toMatch(/^[A-Za-z0-9+/]{27}=$/);
  });

  it('gives a different credential under another secret or for another user', () => {
    const credentialOf = (secret: string, user: string) =>
      new IceServerProvider({ stunServers: [], turn: { ...turn, secret }, clock }).forUser(user)[0]!.credential;
    const reference = credentialOf(SECRET, USER);
    expect(credentialOf(`${SECRET}x`, USER)).not.toBe(reference);
    expect(credentialOf(SECRET, '00000000-0000-4000-8000-000000000000')).not.toBe(reference);
  });

  it('gives no TURN entry without TURN configured, and nothing at all without STUN either', () => {
    expect(new IceServerProvider({ stunServers: ['stun:a.example.com'], turn: undefined, clock }).forUser(USER)).toEqual([
      { urls: ['stun:a.example.com'] },
    ]);
    expect(new IceServerProvider({ stunServers: [], turn: undefined, clock }).forUser(USER)).toEqual([]);
  });

  it('gives TURN alone when there is no STUN server', () => {
    const servers = new IceServerProvider({ stunServers: [], turn, clock }).forUser(USER);
    expect(servers).toHaveLength(1);
    expect(servers[0]).toMatchObject({ urls: turn.urls, username: `${Math.floor(NOW / 1000) + 3600}:${USER}` });
  });
});
