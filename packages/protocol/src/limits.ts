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
  /** Characters in a bearer or handshake token (room for an OIDC JWT later). */
  token: { max: 8192 },
} as const;
