import { randomBytes, randomUUID } from 'node:crypto';
import type { FileInfo, PresignedUpload, ServerWithChannels, UploadResult } from '@parley/protocol';
import type { DestinationStream } from 'pino';
import { hashSessionToken, newSessionToken } from '../../../src/domain/accounts/session-token.ts';
import { objectKeys } from '../../../src/domain/media/object-keys.ts';
import { Store } from '../../../src/domain/store.ts';
import { addMember } from '../../support/communities.ts';
import { startTestNode, type TestNode } from '../../support/test-node.ts';
import { registerUser, TEST_PASSWORD, type TestUser } from '../../support/users.ts';
import { Bucket } from './bucket.ts';

export interface Account {
  id: string;
  username: string;
  token: string;
}

/**
 * One in-process node with its own S3 bucket, its log lines kept whole, an
 * owner with a community (a text channel, a custom role, a member) and
 * factories that make the fresh things a destructive route consumes (a
 * session to log out, a community to delete, a pending upload to complete),
 * inserting through the real repositories where a request would cost a
 * password hash.
 */
export class RestWorld {
  readonly node: TestNode;
  readonly bucket: Bucket;
  readonly lines: string[];
  readonly owner: TestUser;
  readonly ownerAccount: Account;
  readonly server: ServerWithChannels;
  /** A community with the `request` join policy, for join requests. */
  readonly requestServerId: string;
  readonly roleId: string;
  /** A plain member of the community. */
  member!: Account;
  readonly #store: Store;
  #counter = 0;

  private constructor(init: {
    node: TestNode;
    bucket: Bucket;
    lines: string[];
    owner: TestUser;
    server: ServerWithChannels;
    requestServerId: string;
    roleId: string;
  }) {
    this.node = init.node;
    this.bucket = init.bucket;
    this.lines = init.lines;
    this.owner = init.owner;
    this.ownerAccount = { id: init.owner.session.id, username: init.owner.session.username, token: init.owner.session.token };
    this.server = init.server;
    this.requestServerId = init.requestServerId;
    this.roleId = init.roleId;
    this.#store = new Store(init.node.database.db);
  }

  static async start(env: Record<string, string>): Promise<RestWorld> {
    const lines: string[] = [];
    const destination: DestinationStream = { write: (line: string) => void lines.push(line.trimEnd()) };
    const bucket = await Bucket.start();
    const node = await startTestNode({ ...bucket.env, ...env }, { logLevel: 'info', logDestination: destination }).catch(async (error: unknown) => {
      await bucket.stop();
      throw error;
    });
    const owner = await registerUser(node.url, `owner_${randomBytes(3).toString('hex')}`);
    const server = await owner.http.createServer({ name: 'Fuzz community', description: 'for the fuzzer' });
    const requestServer = await owner.http.createServer({ name: 'Fuzz by request' });
    await owner.http.request('PUT', `/api/servers/${requestServer.id}`, { joinPolicy: 'request' });
    const role = await owner.http.request<{ id: string }>('POST', `/api/servers/${server.id}/roles`, { name: 'Fuzz role', rank: 50 });
    const world = new RestWorld({ node, bucket, lines, owner, server, requestServerId: requestServer.id, roleId: role.id });
    world.member = await world.freshMember();
    return world;
  }

  get url(): string {
    return this.node.url;
  }

  get textChannelId(): string {
    return this.server.channels[0]!.id;
  }

  unique(prefix: string): string {
    return `${prefix}${++this.#counter}_${randomBytes(2).toString('hex')}`;
  }

  /** A user with a live session, inserted without a password hash (it never signs in with a password). */
  async freshUser(): Promise<Account> {
    const username = this.unique('fz_');
    const user = await this.#store.repos.users.create({ username, displayName: username, passwordHash: null });
    if (!user) throw new Error(`could not create ${username}`);
    return { id: user.id, username, token: await this.freshSession(user.id) };
  }

  /** A new session token of `userId` (default: the owner). */
  async freshSession(userId = this.ownerAccount.id): Promise<string> {
    const token = newSessionToken();
    await this.#store.repos.sessions.create({ userId, tokenHash: hashSessionToken(token), expiresAt: new Date(Date.now() + 86_400_000) });
    return token;
  }

  /** A request that must succeed, as `token` (default: the owner). */
  async call<T>(method: string, path: string, body?: unknown, token = this.ownerAccount.token): Promise<T> {
    const response = await fetch(`${this.url}${path}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`set-up ${method} ${path} failed: ${response.status} ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  async freshMember(): Promise<Account> {
    const account = await this.freshUser();
    await addMember(this.node.database, this.server.id, account.id);
    return account;
  }

  /** A file `token` uploads through `POST /api/uploads`. */
  async upload(token: string, file: { name: string; content: Buffer; purpose?: string }): Promise<FileInfo> {
    const form = new FormData();
    if (file.purpose) form.append('purpose', file.purpose);
    form.append('file', new Blob([file.content]), file.name);
    const response = await fetch(`${this.url}/api/uploads`, { method: 'POST', headers: { Authorization: `Bearer ${token}` }, body: form });
    const text = await response.text();
    if (response.status !== 201) throw new Error(`set-up upload failed: ${response.status} ${text}`);
    return (JSON.parse(text) as UploadResult).file;
  }

  /** A direct upload `token` announces (pending until completed). */
  presign(token: string, size: number, purpose = 'attachment'): Promise<PresignedUpload> {
    return this.call<PresignedUpload>('POST', '/api/uploads/presign', { name: 'direct.bin', size, purpose }, token);
  }

  /** The bytes of a presigned upload, stored as a client with the presigned form would. */
  storeBytes(fileId: string, content: Buffer): Promise<void> {
    return this.bucket.put(objectKeys.original(fileId), content);
  }

  /** A fresh user with all but `room` bytes of `quotaBytes` taken (by a pending upload announcing them). */
  async userWithRoom(room: number, quotaBytes: number): Promise<Account> {
    const user = await this.freshUser();
    await this.#store.repos.files.create({ id: randomUUID(), ownerId: user.id, name: 'quota.bin', purpose: 'attachment', status: 'pending', declaredSize: quotaBytes - room });
    return user;
  }

  /** How many upload requests (of every route) have ended in a handler, by the node's own `parley_upload_duration_seconds`. */
  async uploadsEnded(): Promise<number> {
    const text = await fetch(`${this.url}/metrics`).then((response) => response.text());
    return [...text.matchAll(/^parley_upload_duration_seconds_count\{[^}]*\} (\d+)$/gm)].reduce((sum, match) => sum + Number(match[1]), 0);
  }

  async stop(): Promise<void> {
    await this.node.stop();
    await this.bucket.stop();
  }
}

export { TEST_PASSWORD };
