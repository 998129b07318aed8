import type { Config } from '../config.ts';
import type { AccountService } from '../domain/accounts/account.service.ts';
import type { Authenticator } from '../domain/accounts/authenticator.ts';
import type { BlockService } from '../domain/accounts/block.service.ts';
import type { DeviceTokenService } from '../domain/accounts/device-token.service.ts';
import type { ChatService } from '../domain/chat/chat.service.ts';
import type { ChannelAdminService } from '../domain/communities/channels/channel-admin.service.ts';
import type { CommunityService } from '../domain/communities/community.service.ts';
import type { InviteService } from '../domain/communities/membership/invite.service.ts';
import type { JoinRequestService } from '../domain/communities/membership/join-request.service.ts';
import type { MembershipService } from '../domain/communities/membership/membership.service.ts';
import type { ModerationService } from '../domain/communities/moderation/moderation.service.ts';
import type { RoleService } from '../domain/communities/roles/role.service.ts';
import type { ServerSettingsService } from '../domain/communities/server-settings.service.ts';
import type { DiscoveryService } from '../domain/discovery/discovery.service.ts';
import type { MediaService } from '../domain/media/media.service.ts';
import type { KeyRing } from '../domain/voice/key-ring.ts';
import type { Readiness } from '../lifecycle/readiness.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import type { RateLimiter } from '../rate-limit/rate-limiter.ts';

/** What the HTTP layer is built from: the composition root passes it, each route takes the part it needs. */
export interface HttpAppDeps {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  readiness: Readiness;
  accounts: AccountService;
  authenticator: Authenticator;
  deviceTokens: DeviceTokenService;
  communities: CommunityService;
  membership: MembershipService;
  serverSettings: ServerSettingsService;
  channelAdmin: ChannelAdminService;
  roles: RoleService;
  invites: InviteService;
  moderation: ModerationService;
  joinRequests: JoinRequestService;
  discovery: DiscoveryService;
  chat: ChatService;
  blocks: BlockService;
  /** Publishes the public keys of SFU join tokens. */
  keyRing: KeyRing;
  authLimiter: RateLimiter;
  /** Community management writes (`PUT`/`POST`/`DELETE` under `/api/servers` and `/api/requests`) and block changes. */
  communityWriteLimiter: RateLimiter;
  /** Public discovery reads and the JWKS, per client IP. */
  discoveryLimiter: RateLimiter;
  media: MediaService;
  /** Uploads (multipart, presign, complete), per credential. */
  uploadLimiter: RateLimiter;
}
