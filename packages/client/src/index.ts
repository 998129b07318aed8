export { ChatSession, type ChatSessionOptions, type SendRetryOptions } from './chat-session.ts';
export { type ConnectionState, type DisconnectReason } from './connection-state.ts';
export { ParleyHttpClient } from './http-client.ts';
export { ParleyError, type ClientErrorCode } from './parley-error.ts';
export { ParleySocket, type ParleyClientSocket, type ParleySocketOptions } from './socket-client.ts';
