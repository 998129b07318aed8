/** Size caps shared by server-side validation and clients. */
export const limits = {
  username: { min: 3, max: 32 },
  password: { min: 8, max: 256 },
  displayName: { max: 64 },
  serverName: { max: 100 },
  serverDescription: { max: 1000 },
  channelName: { max: 100 },
  /** Characters in one chat message. */
  messageText: { max: 4000 },
  /** Characters in a `chat:send` nonce. */
  nonce: { max: 128 },
  /** Messages per `chat:fetch` page: default and maximum. */
  fetchLimit: { default: 50, max: 100 },
  clientInstanceId: { max: 128 },
  connectionScope: { max: 256 },
  /** Characters in a bearer or handshake token (an OIDC JWT can be long). */
  token: { max: 8192 },
  /** Bytes of one `account_sync` payload, serialised as JSON. */
  accountSyncPayload: { maxBytes: 64 * 1024 },
  /** Characters in one push device token (a web push subscription is the longest). */
  deviceToken: { max: 4096 },
  /** Push device tokens one user may register. */
  deviceTokensPerUser: { max: 50 },
} as const;
