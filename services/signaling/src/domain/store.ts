import type { DB } from '@parley/db';
import type { Kysely } from 'kysely';
import { BlockRepository } from './accounts/block.repository.ts';
import { DeviceTokenRepository } from './accounts/device-token.repository.ts';
import { OidcIdentityRepository } from './accounts/oidc-identity.repository.ts';
import { SessionRepository } from './accounts/session.repository.ts';
import { UserRepository } from './accounts/user.repository.ts';
import { FileRepository } from './media/file.repository.ts';
import { MessageRepository } from './chat/message.repository.ts';
import { ReactionRepository } from './chat/reaction.repository.ts';
import { AuditLogRepository } from './communities/audit-log.repository.ts';
import { BanRepository } from './communities/moderation/ban.repository.ts';
import { ChannelRepository } from './communities/channels/channel.repository.ts';
import { InviteRepository } from './communities/membership/invite.repository.ts';
import { JoinRequestRepository } from './communities/membership/join-request.repository.ts';
import { MemberRepository } from './communities/member.repository.ts';
import { RoleRepository } from './communities/roles/role.repository.ts';
import { ServerRepository } from './communities/server.repository.ts';
import { ActivityRepository } from './discovery/activity.repository.ts';
import { SigningKeyRepository } from './voice/signing-key.repository.ts';

export interface Repositories {
  users: UserRepository;
  sessions: SessionRepository;
  oidcIdentities: OidcIdentityRepository;
  deviceTokens: DeviceTokenRepository;
  servers: ServerRepository;
  channels: ChannelRepository;
  members: MemberRepository;
  messages: MessageRepository;
  reactions: ReactionRepository;
  files: FileRepository;
  roles: RoleRepository;
  invites: InviteRepository;
  bans: BanRepository;
  joinRequests: JoinRequestRepository;
  auditLog: AuditLogRepository;
  activity: ActivityRepository;
  signingKeys: SigningKeyRepository;
  blocks: BlockRepository;
}

function createRepositories(db: Kysely<DB>): Repositories {
  return {
    users: new UserRepository(db),
    sessions: new SessionRepository(db),
    oidcIdentities: new OidcIdentityRepository(db),
    deviceTokens: new DeviceTokenRepository(db),
    servers: new ServerRepository(db),
    channels: new ChannelRepository(db),
    members: new MemberRepository(db),
    messages: new MessageRepository(db),
    reactions: new ReactionRepository(db),
    files: new FileRepository(db),
    roles: new RoleRepository(db),
    invites: new InviteRepository(db),
    bans: new BanRepository(db),
    joinRequests: new JoinRequestRepository(db),
    auditLog: new AuditLogRepository(db),
    activity: new ActivityRepository(db),
    signingKeys: new SigningKeyRepository(db),
    blocks: new BlockRepository(db),
  };
}

/** The repositories, outside or inside a transaction. Domain services see only this. */
export class Store {
  readonly #db: Kysely<DB>;
  readonly repos: Repositories;

  constructor(db: Kysely<DB>) {
    this.#db = db;
    this.repos = createRepositories(db);
  }

  /** Runs `work` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(work: (repos: Repositories) => Promise<T>): Promise<T> {
    return this.#db.transaction().execute((trx) => work(createRepositories(trx)));
  }
}
