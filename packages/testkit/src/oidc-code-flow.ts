import { createHash, randomBytes } from 'node:crypto';

/** The public client the test provider registers, and where it sends its requests. */
export interface CodeFlowClient {
  clientId: string;
  redirectUri: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  /** The resource indicator (RFC 8707) the access token is for. */
  resource: string;
  scope: string;
}

const MAX_REDIRECTS = 10;

/**
 * Signs in as `username` the way a browser would, without one: the
 * authorization request with PKCE, the provider's login-and-consent
 * interaction (a form posting `login`), the redirects back through the
 * provider with its cookies, then the code exchanged at the token endpoint.
 * Returns the access token.
 */
export async function signInWithCodeFlow(client: CodeFlowClient, username: string): Promise<string> {
  const browser = new CookieJarFetch();
  const codeVerifier = randomBytes(32).toString('base64url');
  const state = randomBytes(16).toString('base64url');
  const authorization = new URL(client.authorizationEndpoint);
  authorization.search = new URLSearchParams({
    client_id: client.clientId,
    response_type: 'code',
    redirect_uri: client.redirectUri,
    scope: client.scope,
    resource: client.resource,
    state,
    code_challenge: createHash('sha256').update(codeVerifier).digest('base64url'),
    code_challenge_method: 'S256',
  }).toString();

  let response = await browser.fetch(authorization);
  for (let hop = 0; hop < MAX_REDIRECTS; hop += 1) {
    const location = await redirectTarget(response);
    if (location.href.startsWith(client.redirectUri)) {
      return exchangeCode(client, authorizationCode(location, state), codeVerifier);
    }
    response = location.pathname.startsWith('/interaction/')
      ? await browser.fetch(location, { method: 'POST', body: new URLSearchParams({ login: username }) })
      : await browser.fetch(location);
  }
  throw new Error(`sign-in did not come back to ${client.redirectUri} within ${MAX_REDIRECTS} redirects`);
}

async function exchangeCode(client: CodeFlowClient, code: string, codeVerifier: string): Promise<string> {
  const response = await fetch(client.tokenEndpoint, {
    method: 'POST',
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      client_id: client.clientId,
      redirect_uri: client.redirectUri,
      resource: client.resource,
      code,
      code_verifier: codeVerifier,
    }),
  });
  const body = (await response.json()) as { access_token?: unknown };
  if (!response.ok || typeof body.access_token !== 'string') {
    throw new Error(`token endpoint answered ${response.status}: ${JSON.stringify(body)}`);
  }
  return body.access_token;
}

async function redirectTarget(response: Response): Promise<URL> {
  const location = response.headers.get('location');
  if (response.status < 300 || response.status > 399 || location === null) {
    throw new Error(`sign-in stopped at ${response.url}: ${response.status} ${await response.text()}`);
  }
  return new URL(location, response.url);
}

function authorizationCode(callback: URL, expectedState: string): string {
  const { searchParams } = callback;
  const error = searchParams.get('error');
  if (error !== null) throw new Error(`sign-in failed: ${error} ${searchParams.get('error_description') ?? ''}`);
  if (searchParams.get('state') !== expectedState) throw new Error('sign-in came back with another state');
  const code = searchParams.get('code');
  if (code === null) throw new Error('sign-in came back without a code');
  return code;
}

/**
 * `fetch` that keeps cookies between requests and never follows redirects.
 * Every cookie goes to every request: the provider scopes them by path, and
 * reads each by its name.
 */
class CookieJarFetch {
  readonly #cookies = new Map<string, string>();

  async fetch(url: URL, init: { method?: string; body?: URLSearchParams } = {}): Promise<Response> {
    const response = await fetch(url, {
      ...init,
      redirect: 'manual',
      headers: { cookie: [...this.#cookies].map(([name, value]) => `${name}=${value}`).join('; ') },
    });
    for (const line of response.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const separator = pair.indexOf('=');
      if (separator > 0) this.#cookies.set(pair.slice(0, separator).trim(), pair.slice(separator + 1).trim());
    }
    return response;
  }
}
