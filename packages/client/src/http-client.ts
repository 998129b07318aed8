import type {
  AddDeviceTokenRequest,
  AuthSession,
  BlockedUser,
  ChatFetchResult,
  CreateServerRequest,
  DeviceToken,
  ErrorPayload,
  LoginRequest,
  RegisterRequest,
  ServerWithChannels,
  UpdateMeRequest,
  UserProfile,
} from '@parley/protocol';
import { ParleyError } from './parley-error.ts';

/** Parley's REST API. Methods throw `ParleyError` with the server's error code. */
export class ParleyHttpClient {
  readonly baseUrl: string;
  /** Sent as `Authorization: Bearer` when set. */
  token: string | undefined;

  constructor(baseUrl: string, token?: string) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.token = token;
  }

  /** Creates an account and signs in; remembers the token. Throws `username_taken`, `invalid_payload`, `rate_limited`. */
  async register(input: RegisterRequest): Promise<AuthSession> {
    const session = await this.request<AuthSession>('POST', '/api/users/register', input);
    this.token = session.token;
    return session;
  }

  /** Signs in; remembers the token. Throws `invalid_credentials`, `rate_limited`. */
  async login(input: LoginRequest): Promise<AuthSession> {
    const session = await this.request<AuthSession>('POST', '/api/users/login', input);
    this.token = session.token;
    return session;
  }

  /** Revokes the current session token (others stay valid) and forgets it. Throws `auth_required`, `auth_error`. */
  async logout(): Promise<void> {
    await this.request<void>('POST', '/api/users/logout');
    this.token = undefined;
  }

  /** The signed-in account. Throws `auth_required`, `auth_error`. */
  me(): Promise<UserProfile> {
    return this.request('GET', '/api/users/me');
  }

  /**
   * Changes the display name and/or the password (`currentPassword` required
   * when the account has one). Throws `wrong_password`, `invalid_payload`, `rate_limited`.
   */
  updateMe(input: UpdateMeRequest): Promise<UserProfile> {
    return this.request('PATCH', '/api/users/me', input);
  }

  /** The push tokens registered by this account's devices. */
  async listDeviceTokens(): Promise<DeviceToken[]> {
    return (await this.request<{ items: DeviceToken[] }>('GET', '/api/users/device-tokens')).items;
  }

  /** Registers (or refreshes) a push token. Throws `limit_reached` beyond 50, `invalid_payload`. */
  addDeviceToken(input: AddDeviceTokenRequest): Promise<DeviceToken> {
    return this.request('POST', '/api/users/device-tokens', input);
  }

  /** Removes one of this account's push tokens. Throws `not_found`. */
  async removeDeviceToken(id: string): Promise<void> {
    await this.request<void>('DELETE', `/api/users/device-tokens/${encodeURIComponent(id)}`);
  }

  /** The users this account blocked, newest first. */
  async listBlocks(): Promise<BlockedUser[]> {
    return (await this.request<{ items: BlockedUser[] }>('GET', '/api/users/me/blocks')).items;
  }

  /**
   * Blocks a user: no WebRTC signal of theirs reaches this account. Idempotent.
   * Throws `invalid_target` (oneself), `user_not_found`, `limit_reached` beyond 1000.
   */
  async block(userId: string): Promise<void> {
    await this.request<void>('PUT', `/api/users/me/blocks/${encodeURIComponent(userId)}`);
  }

  /** Unblocks a user. Idempotent. Throws `user_not_found`. */
  async unblock(userId: string): Promise<void> {
    await this.request<void>('DELETE', `/api/users/me/blocks/${encodeURIComponent(userId)}`);
  }

  /** Creates a community with a default text channel. Throws `auth_required`, `auth_error`, `invalid_payload`. */
  createServer(input: CreateServerRequest): Promise<ServerWithChannels> {
    return this.request('POST', '/api/servers', input);
  }

  /** A page of history, oldest first (default 50, at most 100). */
  fetchMessages(conversationId: string, query: { limit?: number; before?: number | string } = {}): Promise<ChatFetchResult> {
    const params = new URLSearchParams();
    if (query.limit !== undefined) params.set('limit', String(query.limit));
    if (query.before !== undefined) params.set('before', String(query.before));
    const suffix = params.size > 0 ? `?${params}` : '';
    return this.request('GET', `/api/messages/${encodeURIComponent(conversationId)}${suffix}`);
  }

  /** Sends one request; resolves with the JSON body or throws `ParleyError`. */
  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      throw new ParleyError({ code: 'network_error', message: (error as Error).message });
    }
    const text = await response.text();
    const json: unknown = text ? JSON.parse(text) : undefined;
    if (!response.ok) {
      const error = (json as { error?: ErrorPayload } | undefined)?.error;
      throw new ParleyError(error ?? { code: 'internal_error', message: `HTTP ${response.status}` }, response.status);
    }
    return json as T;
  }
}
