export { ParleyHttpClient } from './http-client.ts';
export { ParleyError } from './parley-error.ts';
export { ParleySocket, type ParleyClientSocket, type ParleySocketOptions } from './socket-client.ts';
