import { generateKeyPair, randomBytes, randomUUID, type JsonWebKey } from 'node:crypto';
import http from 'node:http';
import { promisify } from 'node:util';
import Provider, { errors, type AdapterPayload, type Configuration } from 'oidc-provider';
import { freePort } from './free-port.ts';
import { signInWithCodeFlow, type CodeFlowClient } from './oidc-code-flow.ts';
import { InMemoryOidcAdapter } from './oidc-memory-adapter.ts';

/** A private JSON Web Key the provider signs with. */
export interface SigningJwk extends JsonWebKey {
  kid: string;
  alg: string;
}

export interface OidcProviderOptions {
  /** The `aud` of every access token. Default `parley-api`. */
  audience?: string;
  /** The provider's key set; the first key signs. Default: one new RS256 key. */
  keys?: SigningJwk[];
  /** How long access tokens last. Default 300. */
  accessTokenTtlSeconds?: number;
}

/** A running OpenID provider (panva's oidc-provider) on 127.0.0.1, for tests. */
export interface OidcProviderHandle {
  /** `http://127.0.0.1:<port>`: both the `iss` of its tokens and its discovery base. */
  readonly issuer: string;
  /** The `aud` its access tokens carry. */
  readonly audience: string;
  readonly jwksUrl: string;
  /** The key that signs its tokens now (private, with `kid` and `alg`), for forging tokens a verifier trusts. */
  readonly signingKey: SigningJwk;
  /** How many times its JWKS has been requested since it started. */
  jwksRequests(): number;
  /**
   * Signs in as `username` through the authorization-code flow with PKCE and
   * returns the JWT access token: `sub` and `preferred_username` are
   * `username`, `name` is `claims.name` when given.
   */
  signIn(username: string, claims?: { name?: string }): Promise<string>;
  /**
   * Replaces the key set (the new first key signs) and restarts the provider
   * behind the same address. To keep publishing an old key, pass it after the
   * new one. Default: one new RS256 key. Returns the new signing key.
   */
  rotateKeys(keys?: SigningJwk[]): Promise<SigningJwk>;
  close(): Promise<void>;
}

/** A new RS256 key pair as a private JWK with a random `kid`. */
export async function generateSigningKey(): Promise<SigningJwk> {
  const { privateKey } = await promisify(generateKeyPair)('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), alg: 'RS256', use: 'sig' };
}

/** Starts an OpenID provider on a free port of 127.0.0.1. */
export async function startOidcProvider(options: OidcProviderOptions = {}): Promise<OidcProviderHandle> {
  const port = await freePort();
  const provider = new TestOidcProvider({
    issuer: `http://127.0.0.1:${port}`,
    audience: options.audience ?? 'parley-api',
    keys: options.keys ?? [await generateSigningKey()],
    accessTokenTtlSeconds: options.accessTokenTtlSeconds ?? 300,
  });
  await provider.listen(port);
  return provider;
}

const CLIENT_ID = 'parley-test-client';
const REDIRECT_URI = 'http://127.0.0.1/signed-in';
/** The resource indicator (an absolute URI, as RFC 8707 requires) whose access tokens carry `audience`. */
const RESOURCE = 'urn:parley:api';
const RESOURCE_SCOPE = 'api';

class TestOidcProvider implements OidcProviderHandle {
  readonly issuer: string;
  readonly audience: string;
  readonly #accessTokenTtlSeconds: number;
  readonly #server: http.Server;
  /** Shared by every provider instance, so a restart keeps sessions and grants. */
  readonly #records = new Map<string, AdapterPayload>();
  readonly #cookieKeys = [randomBytes(32).toString('base64url')];
  readonly #displayNames = new Map<string, string | undefined>();
  #keys: SigningJwk[] = [];
  #provider: Provider;
  #handleWithProvider: (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void>;
  #jwksRequests = 0;

  constructor(options: { issuer: string; audience: string; keys: SigningJwk[]; accessTokenTtlSeconds: number }) {
    this.issuer = options.issuer;
    this.audience = options.audience;
    this.#accessTokenTtlSeconds = options.accessTokenTtlSeconds;
    this.#provider = this.#createProvider(options.keys);
    this.#handleWithProvider = this.#provider.callback();
    this.#server = http.createServer((req, res) => this.#handle(req, res));
  }

  get jwksUrl(): string {
    return this.#provider.urlFor('jwks');
  }

  get signingKey(): SigningJwk {
    const [key] = this.#keys;
    if (!key) throw new Error('the OIDC provider has no keys');
    return key;
  }

  jwksRequests(): number {
    return this.#jwksRequests;
  }

  signIn(username: string, claims: { name?: string } = {}): Promise<string> {
    this.#displayNames.set(username, claims.name);
    return signInWithCodeFlow(this.#client(), username);
  }

  async rotateKeys(keys?: SigningJwk[]): Promise<SigningJwk> {
    this.#provider = this.#createProvider(keys ?? [await generateSigningKey()]);
    this.#handleWithProvider = this.#provider.callback();
    return this.signingKey;
  }

  listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, '127.0.0.1', () => resolve());
    });
  }

  close(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#server.close((error) => (error ? reject(error) : resolve()));
      this.#server.closeAllConnections();
    });
  }

  #handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const { pathname } = new URL(req.url ?? '/', this.issuer);
    if (pathname === new URL(this.jwksUrl).pathname) this.#jwksRequests += 1;
    const handling =
      req.method === 'POST' && pathname.startsWith('/interaction/')
        ? this.#finishInteraction(req, res)
        : this.#handleWithProvider(req, res);
    handling.catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(error));
    });
  }

  /**
   * The login-and-consent step: signs in the account named by the form's
   * `login` and grants what the client asks for. oidc-provider's own
   * `devInteractions` would do the same in two steps, but prints a
   * development-only warning on every start.
   */
  async #finishInteraction(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const accountId = new URLSearchParams(await readBody(req)).get('login');
    if (!accountId) throw new Error('the sign-in form has no login');
    const provider = this.#provider;
    const { params } = await provider.interactionDetails(req, res);
    const grant = new provider.Grant({ accountId, clientId: String(params.client_id) });
    grant.addOIDCScope('openid');
    grant.addResourceScope(RESOURCE, RESOURCE_SCOPE);
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { login: { accountId }, consent: { grantId } }, { mergeWithLastSubmission: false });
  }

  #client(): CodeFlowClient {
    return {
      clientId: CLIENT_ID,
      redirectUri: REDIRECT_URI,
      authorizationEndpoint: this.#provider.urlFor('authorization'),
      tokenEndpoint: this.#provider.urlFor('token'),
      resource: RESOURCE,
      scope: `openid ${RESOURCE_SCOPE}`,
    };
  }

  #createProvider(keys: SigningJwk[]): Provider {
    this.#keys = keys;
    const { alg, kid } = this.signingKey;
    const profile = (accountId: string) => ({ preferred_username: accountId, name: this.#displayNames.get(accountId) });
    const configuration: Configuration = {
      adapter: (model) => new InMemoryOidcAdapter(model, this.#records),
      clients: [
        {
          client_id: CLIENT_ID,
          token_endpoint_auth_method: 'none',
          redirect_uris: [REDIRECT_URI],
          grant_types: ['authorization_code'],
          response_types: ['code'],
          id_token_signed_response_alg: alg,
        },
      ],
      jwks: { keys },
      cookies: { keys: this.#cookieKeys },
      findAccount: (_ctx, accountId) => ({ accountId, claims: () => ({ sub: accountId, ...profile(accountId) }) }),
      interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
      features: {
        devInteractions: { enabled: false },
        resourceIndicators: {
          enabled: true,
          defaultResource: () => RESOURCE,
          getResourceServerInfo: (_ctx, resourceIndicator) => {
            if (resourceIndicator !== RESOURCE) throw new errors.InvalidTarget();
            return {
              scope: RESOURCE_SCOPE,
              audience: this.audience,
              accessTokenFormat: 'jwt',
              accessTokenTTL: this.#accessTokenTtlSeconds,
              jwt: { sign: { alg, kid } },
            };
          },
        },
      },
      extraTokenClaims: (_ctx, token) =>
        token.kind === 'AccessToken' && token.accountId !== undefined ? profile(token.accountId) : undefined,
      // Every lifetime set, so oidc-provider does not warn about its defaults.
      ttl: {
        AccessToken: this.#accessTokenTtlSeconds,
        AuthorizationCode: 60,
        IdToken: 300,
        Interaction: 300,
        Session: 3600,
        Grant: 3600,
      },
      renderError: (ctx, out) => {
        ctx.type = 'json';
        ctx.body = out;
      },
    };
    return new Provider(this.issuer, configuration);
  }
}

async function readBody(req: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
