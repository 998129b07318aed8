// oidc-provider ships no type declarations; this is the part of its API the
// test provider uses (https://github.com/panva/node-oidc-provider/blob/main/docs/README.md).
declare module 'oidc-provider' {
  import type { JsonWebKey } from 'node:crypto';
  import type { IncomingMessage, ServerResponse } from 'node:http';

  type Awaitable<T> = T | Promise<T>;

  /** A Koa context extended by the provider; the test provider never looks inside. */
  type ProviderContext = unknown;

  export interface AdapterPayload {
    uid?: string;
    grantId?: string;
    userCode?: string;
    consumed?: number;
    [property: string]: unknown;
  }

  /** Storage for one model (`Session`, `AccessToken`, `Grant`…). */
  export interface Adapter {
    upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void>;
    find(id: string): Promise<AdapterPayload | undefined>;
    findByUid(uid: string): Promise<AdapterPayload | undefined>;
    findByUserCode(userCode: string): Promise<AdapterPayload | undefined>;
    consume(id: string): Promise<void>;
    destroy(id: string): Promise<void>;
    revokeByGrantId(grantId: string): Promise<void>;
  }

  export interface ClientMetadata {
    client_id: string;
    token_endpoint_auth_method?: string;
    redirect_uris?: string[];
    grant_types?: string[];
    response_types?: string[];
    id_token_signed_response_alg?: string;
  }

  export interface Account {
    accountId: string;
    claims(use: string, scope: string): Awaitable<{ sub: string; [claim: string]: unknown }>;
  }

  export interface ResourceServer {
    scope: string;
    audience?: string;
    accessTokenTTL?: number;
    accessTokenFormat?: 'opaque' | 'jwt';
    jwt?: { sign?: { alg?: string; kid?: string } };
  }

  /** The token being issued, as `extraTokenClaims` sees it. */
  export interface IssuedToken {
    kind: string;
    accountId?: string;
  }

  export interface Configuration {
    adapter?: (model: string) => Adapter;
    clients?: ClientMetadata[];
    jwks?: { keys: JsonWebKey[] };
    cookies?: { keys?: string[] };
    findAccount?: (ctx: ProviderContext, id: string) => Awaitable<Account | undefined>;
    interactions?: { url?: (ctx: ProviderContext, interaction: { uid: string }) => Awaitable<string> };
    features?: {
      devInteractions?: { enabled: boolean };
      resourceIndicators?: {
        enabled: boolean;
        defaultResource?: (ctx: ProviderContext) => Awaitable<string | string[] | undefined>;
        getResourceServerInfo?: (ctx: ProviderContext, resourceIndicator: string) => Awaitable<ResourceServer>;
      };
    };
    extraTokenClaims?: (ctx: ProviderContext, token: IssuedToken) => Awaitable<Record<string, unknown> | undefined>;
    ttl?: Record<string, number>;
    renderError?: (ctx: { type: string; body: unknown }, out: Record<string, unknown>, error: Error) => Awaitable<void>;
  }

  export interface InteractionDetails {
    uid: string;
    prompt: { name: string };
    params: Record<string, unknown>;
  }

  export interface InteractionResults {
    login?: { accountId: string };
    consent?: { grantId: string };
  }

  export class Grant {
    constructor(properties: { accountId: string; clientId: string });
    addOIDCScope(scope: string): void;
    addResourceScope(resource: string, scope: string): void;
    save(): Promise<string>;
  }

  export class Provider {
    constructor(issuer: string, configuration?: Configuration);
    readonly issuer: string;
    readonly Grant: typeof Grant;
    /** The provider's Koa application as a Node request listener. */
    callback(): (req: IncomingMessage, res: ServerResponse) => Promise<void>;
    /** The absolute URL of a named route (`authorization`, `token`, `jwks`…). */
    urlFor(name: string): string;
    interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<InteractionDetails>;
    interactionFinished(
      req: IncomingMessage,
      res: ServerResponse,
      result: InteractionResults,
      options?: { mergeWithLastSubmission?: boolean },
    ): Promise<void>;
  }

  export const errors: { InvalidTarget: new (description?: string) => Error };

  export default Provider;
}
