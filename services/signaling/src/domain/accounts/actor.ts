/** Who is acting: derived from a session token, never from a request body. */
export interface Actor {
  userId: string;
  sessionId: string;
  username: string;
  displayName: string;
}
