import type { ParleySocket } from './socket-server.ts';

/**
 * The client's IP, believing `X-Forwarded-For` for `trustProxyHops` proxies
 * in front of the pod, as express's `trust proxy` does for REST.
 */
export function clientAddress(socket: ParleySocket, trustProxyHops: number): string {
  const header = socket.request.headers['x-forwarded-for'];
  const forwarded = (Array.isArray(header) ? header.join(',') : (header ?? ''))
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  // Nearest first: the peer, then each proxy's view of who called it.
  const chain = [socket.handshake.address, ...forwarded.reverse()];
  return chain[Math.min(trustProxyHops, chain.length - 1)]!;
}
