/** Size caps shared by server-side validation and clients. */
export const limits = {
  username: { min: 3, max: 32 },
  password: { min: 8, max: 256 },
  displayName: { max: 64 },
  serverName: { max: 100 },
  serverDescription: { max: 1000 },
  /** Characters in a community icon's URL. */
  iconUrl: { max: 2048 },
  channelName: { max: 100 },
  /** A member's nickname in one community. */
  nickname: { max: 32 },
  roleName: { max: 32 },
  /** Custom roles per community (the four built-ins come on top). */
  customRolesPerServer: { max: 100 },
  /** Roles one member may hold. */
  rolesPerMember: { max: 20 },
  channelsPerServer: { max: 500 },
  /** Members per community unless the server's `maxMembers` says less. */
  membersPerServer: { max: 1_000_000 },
  /** Characters in an invite's note, a ban's reason and a join request's message. */
  inviteNote: { max: 200 },
  banReason: { max: 500 },
  joinRequestMessage: { max: 500 },
  /** Characters in an invite code as typed by a user. */
  inviteCode: { max: 64 },
  /** Uses of one invite, and how long one may live (one year). */
  inviteMaxUses: { max: 100_000 },
  inviteLifetimeMs: { min: 60_000, max: 365 * 24 * 60 * 60 * 1000 },
  /** Longest ban or server mute with an expiry (one year); longer means indefinite. */
  moderationDurationMs: { min: 1000, max: 365 * 24 * 60 * 60 * 1000 },
  serverPassword: { min: 4, max: 256 },
  /**
   * Communities up to this size tell their members of every join and leave
   * (`server:member_joined` / `server:member_left`); larger ones do not, so a
   * join costs the same however big the community (clients page the member list).
   */
  memberEvents: { maxMembers: 1000 },
  /** Members listed inline by `server:details`; `GET /api/servers/:id/members` pages through the rest. */
  detailsMembers: { max: 1000 },
  /** Items per page of the REST lists (servers, members, invites, bans, requests, audit log): default and maximum. */
  page: { default: 50, max: 100 },
  /** Characters in a discovery search. */
  searchQuery: { min: 1, max: 100 },
  /** Characters in one chat message. */
  messageText: { max: 4000 },
  /** Files attached to one message. */
  attachmentsPerMessage: { max: 10 },
  /** Characters in a reaction: a Unicode emoji sequence or a custom `:name:`. */
  emoji: { max: 64 },
  /** Distinct emoji on one message. */
  reactionsPerMessage: { max: 20 },
  /** `chat:resume`: channels per request, and messages replayed per channel before `resync_required`. */
  resume: { maxChannels: 500, maxMessages: 500 },
  /** How long a `chat:typing` indicator shows unless renewed. */
  typingIndicatorMs: 6000,
  /** Characters in a `chat:send` nonce. */
  nonce: { max: 128 },
  /** Messages per `chat:fetch` page: default and maximum. */
  fetchLimit: { default: 50, max: 100 },
  clientInstanceId: { max: 128 },
  /** Characters kept of an uploaded file's name (after cleaning). */
  fileName: { max: 255 },
  /** Characters of a presigned upload's declared content type. */
  contentType: { max: 255 },
  connectionScope: { max: 256 },
  /** Characters in a bearer or handshake token (an OIDC JWT can be long). */
  token: { max: 8192 },
  /** Bytes of one `account_sync` payload, serialised as JSON, and how deep its objects and arrays may nest. */
  accountSyncPayload: { maxBytes: 64 * 1024, maxDepth: 16 },
  /** How deep any inbound payload may nest (objects and arrays), whatever its event or route. */
  payloadDepth: { max: 32 },
  /** Characters in one push device token (a web push subscription is the longest). */
  deviceToken: { max: 4096 },
  /** Push device tokens one user may register. */
  deviceTokensPerUser: { max: 50 },
  /** Users one user may block. */
  blocksPerUser: { max: 1000 },
  /** Bytes of one SDP (offer, answer, renegotiation), as UTF-8. */
  sdp: { maxBytes: 32 * 1024 },
  /** Characters of one ICE candidate line, and of its `sdpMid` and `usernameFragment`. */
  iceCandidate: { max: 1024, sdpMid: 64, usernameFragment: 256 },
  /** Characters of a `voice:stream:set` stream id and of a relay's `callId`. */
  streamId: { max: 256 },
  callId: { max: 128 },
} as const;
