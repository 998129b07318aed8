import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.ts';

describe('loadConfig', () => {
  it('with no environment, is an embedded node on port 5000 with PGlite under ./data', () => {
    const config = loadConfig({});
    expect(config.mode).toBe('embedded');
    expect(config.http.port).toBe(5000);
    expect(config.database).toEqual({ kind: 'pglite', dataDir: path.resolve('data', 'db') });
    expect(config.redis).toBeUndefined();
    expect(config.auth).toMatchObject({ mode: 'local', sessionTokenTtlMs: 10 * 365 * 24 * 3600 * 1000, oidc: undefined });
    expect(config.rateLimits.chatSend).toEqual({ points: 20, durationSeconds: 10 });
    expect(config.log.format).toBe('json');
    expect(config.nodeId).toMatch(/-[0-9a-f]{6}$/);
  });

  it('with DATABASE_URL and REDIS_URL, is a cluster pod', () => {
    const config = loadConfig({
      DATABASE_URL: 'postgres://db/parley',
      REDIS_URL: 'redis://redis:6379',
      NODE_ID: 'pod-a',
      REDIS_KEY_PREFIX: 'tenant1:',
    });
    expect(config.mode).toBe('cluster');
    expect(config.nodeId).toBe('pod-a');
    expect(config.database).toEqual({
      kind: 'postgres',
      url: 'postgres://db/parley',
      poolMax: 10,
      connectTimeoutMs: 5000,
      queryTimeoutMs: 10_000,
    });
    expect(config.redis).toEqual({ url: 'redis://redis:6379', keyPrefix: 'tenant1:', commandTimeoutMs: 1000 });
  });

  it('bounds every connection and dependency by default: handshakes, unauthenticated connections, events, timeouts', () => {
    const config = loadConfig({});
    expect(config.admission).toEqual({
      handshakeRate: { points: 100, durationSeconds: 10 },
      maxUnauthenticatedPerIp: 20,
      maxUnauthenticated: 2000,
    });
    expect(config.socket).toEqual({
      maxPayloadBytes: 1024 * 1024,
      maxInFlight: 64,
      eventRate: { points: 300, durationSeconds: 3 },
    });
    expect(config.rateLimits.serverRead).toEqual({ points: 30, durationSeconds: 10 });
    expect(config.rateLimits.serverLeave).toEqual({ points: 30, durationSeconds: 60 });
    const tuned = loadConfig({
      DATABASE_URL: 'postgres://db/parley',
      REDIS_URL: 'redis://redis:6379',
      REDIS_COMMAND_TIMEOUT_MS: '250',
      DATABASE_QUERY_TIMEOUT_MS: '3000',
      DATABASE_CONNECT_TIMEOUT_MS: '2000',
      SOCKET_MAX_IN_FLIGHT: '4',
      RATE_LIMIT_SOCKET_EVENTS: '20/1s',
      RATE_LIMIT_HANDSHAKE: '5/1m',
      MAX_UNAUTHENTICATED_PER_IP: '3',
      MAX_UNAUTHENTICATED_CONNECTIONS: '50',
    });
    expect(tuned.redis?.commandTimeoutMs).toBe(250);
    expect(tuned.database).toMatchObject({ queryTimeoutMs: 3000, connectTimeoutMs: 2000 });
    expect(tuned.socket).toMatchObject({ maxInFlight: 4, eventRate: { points: 20, durationSeconds: 1 } });
    expect(tuned.admission).toEqual({ handshakeRate: { points: 5, durationSeconds: 60 }, maxUnauthenticatedPerIp: 3, maxUnauthenticated: 50 });
    const invalid = () => loadConfig({ REDIS_COMMAND_TIMEOUT_MS: '0', SOCKET_MAX_IN_FLIGHT: 'many' });
    expect(invalid).toThrow(/REDIS_COMMAND_TIMEOUT_MS/);
    expect(invalid).toThrow(/SOCKET_MAX_IN_FLIGHT/);
  });

  it('merges CORS_ALLOWLIST and the seed’s CORS_ORIGIN, trimming blanks', () => {
    const config = loadConfig({ CORS_ALLOWLIST: 'https://a.example, https://b.example', CORS_ORIGIN: 'http://127.0.0.1:15738,' });
    expect(config.http.corsOrigins).toEqual(['https://a.example', 'https://b.example', 'http://127.0.0.1:15738']);
  });

  it('treats empty variables as unset', () => {
    expect(loadConfig({ PORT: '', DATABASE_URL: '' }).http.port).toBe(5000);
  });

  it('is pretty-printed in development unless LOG_FORMAT says otherwise', () => {
    expect(loadConfig({ NODE_ENV: 'development' }).log.format).toBe('pretty');
    expect(loadConfig({ NODE_ENV: 'development', LOG_FORMAT: 'json' }).log.format).toBe('json');
  });

  it('reports every problem at once', () => {
    let error: unknown;
    try {
      loadConfig({
        PORT: '70000',
        REDIS_URL: 'http://not-redis',
        LOG_LEVEL: 'loud',
        RATE_LIMIT_CHAT_SEND: 'lots',
        NODE_ID: 'has spaces',
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    for (const variable of ['PORT', 'REDIS_URL', 'LOG_LEVEL', 'RATE_LIMIT_CHAT_SEND', 'NODE_ID']) {
      expect(problems).toContain(variable);
    }
  });

  it('refuses REDIS_URL without DATABASE_URL: pods must share one database', () => {
    expect(() => loadConfig({ REDIS_URL: 'redis://localhost:6379' })).toThrow(/DATABASE_URL is required when REDIS_URL is set/);
  });

  it('reads OIDC settings when AUTH_MODE uses OIDC, and requires issuer and audience', () => {
    const config = loadConfig({
      AUTH_MODE: 'both',
      OIDC_ISSUER: 'https://auth.example/realms/parley',
      OIDC_AUDIENCE: 'parley-api, account',
      OIDC_ALGORITHMS: 'RS256,ES256',
    });
    expect(config.auth.oidc).toMatchObject({
      issuer: 'https://auth.example/realms/parley',
      audience: ['parley-api', 'account'],
      algorithms: ['RS256', 'ES256'],
      jwksUrl: undefined,
      usernameClaim: 'preferred_username',
    });
    expect(() => loadConfig({ AUTH_MODE: 'oidc' })).toThrow(/OIDC_ISSUER is required[\s\S]*OIDC_AUDIENCE is required/);
    expect(() => loadConfig({ AUTH_MODE: 'both', OIDC_ISSUER: 'https://a', OIDC_AUDIENCE: 'x', OIDC_ALGORITHMS: 'HS256' })).toThrow(
      /OIDC_ALGORITHMS/,
    );
  });

  it('understands the Gryt seed’s GRYT_AUTH_MODE and GRYT_OIDC_* names', () => {
    const config = loadConfig({
      GRYT_AUTH_MODE: 'required',
      GRYT_OIDC_ISSUER: 'https://auth.gryt.chat/realms/gryt',
      GRYT_OIDC_AUDIENCE: 'gryt-web',
    });
    expect(config.auth.mode).toBe('oidc');
    expect(config.auth.oidc).toMatchObject({ issuer: 'https://auth.gryt.chat/realms/gryt', audience: ['gryt-web'] });
    expect(loadConfig({ GRYT_AUTH_MODE: 'disabled' }).auth.mode).toBe('disabled');
    expect(loadConfig({ GRYT_AUTH_MODE: 'disabled', AUTH_MODE: 'local' }).auth.mode).toBe('local');
  });

  it('reads the Gryt seed’s SERVER_NAME and invite brute-force variables, with its defaults', () => {
    expect(loadConfig({}).communities).toEqual({
      defaultServerName: undefined,
      joinAttempts: { windowMs: 300_000, maxFailuresPerUser: 8, maxFailuresPerIp: 20, cooldownMs: 60_000, maxCooldownMs: 3_600_000 },
    });
    const config = loadConfig({
      SERVER_NAME: ' My Brand New Server ',
      SERVER_INVITE_MAX_RETRIES: '3',
      SERVER_INVITE_IP_MAX_RETRIES: '10',
      SERVER_INVITE_RETRY_WINDOW_MS: '60000',
      SERVER_INVITE_RETRY_COOLDOWN_MS: '5000',
      SERVER_INVITE_MAX_COOLDOWN_MS: '40000',
      RATE_LIMIT_SERVER_JOIN: '5/1m',
    });
    expect(config.communities).toEqual({
      defaultServerName: 'My Brand New Server',
      joinAttempts: { windowMs: 60_000, maxFailuresPerUser: 3, maxFailuresPerIp: 10, cooldownMs: 5000, maxCooldownMs: 40_000 },
    });
    expect(config.rateLimits.serverJoin).toEqual({ points: 5, durationSeconds: 60 });
    expect(loadConfig({}).rateLimits).toMatchObject({
      serverJoin: { points: 30, durationSeconds: 60 },
      communityWrite: { points: 120, durationSeconds: 60 },
      discovery: { points: 120, durationSeconds: 60 },
    });
    expect(() => loadConfig({ SERVER_INVITE_RETRY_COOLDOWN_MS: '7200000' })).toThrow(/must not exceed SERVER_INVITE_MAX_COOLDOWN_MS/);
    expect(() => loadConfig({ SERVER_INVITE_MAX_RETRIES: '0' })).toThrow(/SERVER_INVITE_MAX_RETRIES/);
  });

  it('reads the voice settings: SFU addresses, ICE servers, TURN secret, join tokens, heartbeats', () => {
    const defaults = loadConfig({});
    expect(defaults.voice).toEqual({
      maxUsers: 25,
      sfuUrls: [],
      stunServers: [],
      turn: undefined,
      token: { ttlSeconds: 120, issuer: 'parley', audience: 'parley-sfu', keyRotationMs: 86_400_000, keyEncryptionSecret: undefined },
    });
    expect(defaults.heartbeat).toEqual({ intervalMs: 5000, ttlMs: 15_000 });
    expect(defaults.rateLimits.rtcSignal).toEqual({ points: 300, durationSeconds: 10 });

    const config = loadConfig({
      SFU_PUBLIC_HOST: 'wss://a.example.com, wss://b.example.com',
      SFU_WS_HOST: 'ws://sfu:5005',
      STUN_SERVERS: 'stun:stun.l.google.com:19302',
      TURN_URLS: 'turn:turn.example.com:3478?transport=udp,turns:turn.example.com:5349',
      TURN_SECRET: 'sixteen-chars-at-least',
      VOICE_MAX_USERS: '8',
    });
    expect(config.voice.sfuUrls).toEqual(['wss://a.example.com', 'wss://b.example.com']);
    expect(config.voice.turn).toEqual({
      urls: ['turn:turn.example.com:3478?transport=udp', 'turns:turn.example.com:5349'],
      secret: 'sixteen-chars-at-least',
      credentialTtlSeconds: 86_400,
    });
    expect(config.voice.maxUsers).toBe(8);
    // The Gryt seed's SFU_WS_HOST alone is what clients are given.
    expect(loadConfig({ SFU_WS_HOST: 'ws://sfu:5005' }).voice.sfuUrls).toEqual(['ws://sfu:5005']);
  });

  it('refuses malformed voice settings, every problem at once', () => {
    expect(() =>
      loadConfig({
        SFU_PUBLIC_HOST: 'https://sfu.example.com',
        STUN_SERVERS: 'turn:wrong.example.com',
        TURN_URLS: 'turn:turn.example.com',
        TURN_SECRET: 'short',
        NODE_HEARTBEAT_INTERVAL_MS: '10000',
        NODE_HEARTBEAT_TTL_MS: '15000',
        VOICE_MAX_USERS: '0',
      }),
    ).toThrowError(
      expect.objectContaining({
        problems: expect.arrayContaining([
          expect.stringContaining('SFU_PUBLIC_HOST'),
          expect.stringContaining('STUN_SERVERS'),
          expect.stringContaining('TURN_SECRET'),
          expect.stringContaining('VOICE_MAX_USERS'),
          'NODE_HEARTBEAT_TTL_MS must be at least twice NODE_HEARTBEAT_INTERVAL_MS',
        ]),
      }),
    );
    expect(() => loadConfig({ TURN_URLS: 'turn:turn.example.com' })).toThrowError(/TURN_URLS and TURN_SECRET go together/);
  });

  it('returns a frozen object', () => {
    const config = loadConfig({});
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.http)).toBe(true);
  });
});
