export { ChatSession, type SendRetryOptions } from './chat-session.ts';
export { ParleyHttpClient } from './http-client.ts';
export { ParleyError } from './parley-error.ts';
export { ParleySocket, type ParleyClientSocket, type ParleySocketOptions } from './socket-client.ts';
