/** Who is acting: derived from a session token or an OIDC access token, never from a request body. */
export interface Actor {
  userId: string;
  /** The session behind a session token; null for an OIDC access token. */
  sessionId: string | null;
  username: string;
  displayName: string;
  /** When the presented credential stops being valid (epoch ms). */
  expiresAt: number;
  /**
   * The connection (Socket.IO socket id) the actor acts through, when any:
   * it has the acknowledgement, so broadcasts of the action skip it.
   */
  connectionId?: string;
}
