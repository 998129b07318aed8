import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeProtectedHeader,
  generateKeyPair,
  jwtVerify,
  SignJWT,
  type JSONWebKeySet,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clock } from '../src/clock.ts';
import { loadConfig } from '../src/config.ts';
import { Store } from '../src/domain/store.ts';
import { JoinTokenIssuer, type JoinTokenClaims } from '../src/domain/voice/join-token.ts';
import { KeyRing } from '../src/domain/voice/key-ring.ts';
import { createLogger } from '../src/logger.ts';
import { startTestNode, type TestNode } from './support/test-node.ts';

const SERVER = '9b1d2c3e-4f50-4a6b-8c7d-9e0f1a2b3c4d';
const CHANNEL = '1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d';
const claims: JoinTokenClaims = {
  userId: '5d6e7f80-91a2-4b3c-8d4e-5f60718293a4',
  displayName: 'Ada',
  serverId: SERVER,
  channelId: CHANNEL,
  roomId: `${SERVER}:${CHANNEL}`,
  clientInstanceId: 'desktop-1',
  permissions: ['connect_voice', 'speak'],
};

let node: TestNode;
let settings: ReturnType<typeof loadConfig>['voice']['token'];
let jwksUrl: URL;
const rings: KeyRing[] = [];

beforeAll(async () => {
  node = await startTestNode();
  settings = loadConfig(node.env).voice.token;
  jwksUrl = new URL('/.well-known/jwks.json', node.url);
});
afterAll(async () => {
  for (const ring of rings) ring.stop();
  await node.stop();
});

/** A clock the test moves by hand, starting now: the node signs with the same keys. */
function manualClock(): Clock & { set(ms: number): void } {
  let now = Date.now();
  return { now: () => new Date(now), set: (ms) => (now = ms) };
}

/** Another pod's issuer on the node's database, as the voice service builds it. */
async function issuerOn(clock: Clock): Promise<JoinTokenIssuer> {
  const keys = new KeyRing({
    store: new Store(node.database.db),
    clock,
    rotationMs: settings.keyRotationMs,
    tokenTtlSeconds: settings.ttlSeconds,
    logger: createLogger({ level: 'silent', format: 'json', nodeId: 'test' }),
  });
  rings.push(keys);
  await keys.start();
  return new JoinTokenIssuer({ keys, clock, ...settings });
}

/** What an SFU does with a join token: verify it against Parley's JWKS, then compare the room. */
async function sfuAdmits(token: string, room: string, jwks: JWTVerifyGetKey, at?: Date): Promise<JWTPayload> {
  const { payload } = await jwtVerify(token, jwks, {
    issuer: settings.issuer,
    audience: settings.audience,
    algorithms: ['ES256'],
    ...(at ? { currentDate: at } : {}),
  });
  if (payload.room !== room) throw new Error('the token is for another room');
  return payload;
}

async function fetchJwks(): Promise<JSONWebKeySet> {
  return (await (await fetch(jwksUrl)).json()) as JSONWebKeySet;
}

const segments = (token: string) => token.split('.') as [string, string, string];
const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const decode = (segment: string) => JSON.parse(Buffer.from(segment, 'base64url').toString()) as Record<string, unknown>;

describe('GET /.well-known/jwks.json', () => {
  it('publishes the public keys of every unretired slot, cacheable for five minutes, without a token', async () => {
    const response = await fetch(jwksUrl);
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('public, max-age=300');
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    const { keys } = (await response.json()) as JSONWebKeySet;

    const rows = await node.database.db.selectFrom('signing_keys').select(['kid', 'slot']).orderBy('slot').execute();
    expect(rows).toHaveLength(2);
    expect(keys.map((key) => key.kid)).toEqual(rows.map((row) => row.kid));
    for (const key of keys) {
      expect(Object.keys(key).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']);
      expect(key).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    }
  });
});

describe('join tokens, verified as an SFU does', () => {
  it('are admitted through the published JWKS, with the claims the SFU needs', async () => {
    const clock = manualClock();
    const issuer = await issuerOn(clock);
    const token = await issuer.issue(claims);
    const jwks = createRemoteJWKSet(jwksUrl);

    const payload = await sfuAdmits(token, claims.roomId, jwks);
    const iat = Math.floor(clock.now().getTime() / 1000);
    expect(payload).toEqual({
      iss: settings.issuer,
      aud: settings.audience,
      sub: claims.userId,
      iat,
      nbf: iat,
      exp: iat + settings.ttlSeconds,
      jti: expect.stringMatching(/^[0-9a-f-]{36}$/),
      room: claims.roomId,
      server_id: SERVER,
      channel_id: CHANNEL,
      client_instance_id: 'desktop-1',
      name: 'Ada',
      permissions: ['connect_voice', 'speak'],
    });
    const { keys } = await fetchJwks();
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'ES256', kid: keys[0]!.kid, typ: 'JWT' });

    const again = await sfuAdmits(await issuer.issue(claims), claims.roomId, jwks);
    expect(again.jti).not.toBe(payload.jti);
  });

  it('are refused once expired', async () => {
    const clock = manualClock();
    const token = await (await issuerOn(clock)).issue(claims);
    const jwks = createRemoteJWKSet(jwksUrl);
    const expiry = (Math.floor(clock.now().getTime() / 1000) + settings.ttlSeconds) * 1000;

    await expect(sfuAdmits(token, claims.roomId, jwks, new Date(expiry - 1000))).resolves.toBeDefined();
    await expect(sfuAdmits(token, claims.roomId, jwks, new Date(expiry))).rejects.toMatchObject({ code: 'ERR_JWT_EXPIRED' });
  });

  it('are refused for another room', async () => {
    const token = await (await issuerOn(manualClock())).issue(claims);
    const jwks = createRemoteJWKSet(jwksUrl);
    await expect(sfuAdmits(token, `${SERVER}:${crypto.randomUUID()}`, jwks)).rejects.toThrow('another room');
  });

  it('are refused when tampered with: payload changed, signed by another key, or unsigned', async () => {
    const token = await (await issuerOn(manualClock())).issue(claims);
    const jwks = createRemoteJWKSet(jwksUrl);
    const [header, payload, signature] = segments(token);
    const otherRoom = `${SERVER}:${crypto.randomUUID()}`;

    const moved = `${header}.${encode({ ...decode(payload), room: otherRoom })}.${signature}`;
    await expect(sfuAdmits(moved, otherRoom, jwks)).rejects.toMatchObject({ code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' });

    const lengthened = `${header}.${encode({ ...decode(payload), exp: Number(decode(payload).exp) + 3600 })}.${signature}`;
    await expect(sfuAdmits(lengthened, claims.roomId, jwks)).rejects.toMatchObject({ code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' });

    // A forger's own key, presented under a published kid and under its own.
    const { privateKey } = await generateKeyPair('ES256');
    const forged = (kid: string) =>
      new SignJWT(decode(payload)).setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT' }).sign(privateKey);
    const publishedKid = decodeProtectedHeader(token).kid!;
    await expect(sfuAdmits(await forged(publishedKid), claims.roomId, jwks)).rejects.toMatchObject({
      code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
    });
    await expect(sfuAdmits(await forged('forger'), claims.roomId, jwks)).rejects.toMatchObject({ code: 'ERR_JWKS_NO_MATCHING_KEY' });

    const unsigned = `${encode({ alg: 'none', typ: 'JWT' })}.${payload}.`;
    await expect(sfuAdmits(unsigned, claims.roomId, jwks)).rejects.toMatchObject({ code: 'ERR_JOSE_ALG_NOT_ALLOWED' });
    const hmac = await new SignJWT(decode(payload))
      .setProtectedHeader({ alg: 'HS256', kid: publishedKid })
      .sign(new TextEncoder().encode(JSON.stringify((await fetchJwks()).keys[0])));
    await expect(sfuAdmits(hmac, claims.roomId, jwks)).rejects.toMatchObject({ code: 'ERR_JOSE_ALG_NOT_ALLOWED' });
  });

  it('signed by the next slot’s key after rotation, verify against the JWKS fetched before it', async () => {
    const clock = manualClock();
    const issuer = await issuerOn(clock);
    const before = await fetchJwks();
    const cachedBefore = createLocalJWKSet(before);
    const [current, next] = before.keys.map((key) => key.kid);
    expect(decodeProtectedHeader(await issuer.issue(claims)).kid).toBe(current);

    const nextSlotStart = (Math.floor(clock.now().getTime() / settings.keyRotationMs) + 1) * settings.keyRotationMs;
    clock.set(nextSlotStart);
    const token = await issuer.issue(claims);
    expect(decodeProtectedHeader(token).kid).toBe(next);
    await expect(sfuAdmits(token, claims.roomId, cachedBefore, clock.now())).resolves.toMatchObject({ room: claims.roomId });
  });
});
