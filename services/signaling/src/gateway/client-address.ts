import type { IncomingMessage } from 'node:http';

/**
 * The client's IP, believing `X-Forwarded-For` for `trustProxyHops` proxies
 * in front of the pod, as express's `trust proxy` does for REST.
 */
function addressFrom(peer: string | undefined, forwardedFor: string | string[] | undefined, trustProxyHops: number): string {
  const forwarded = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : (forwardedFor ?? ''))
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  // Nearest first: the peer, then each proxy's view of who called it.
  const chain = [peer ?? 'unknown', ...forwarded.reverse()];
  return chain[Math.min(trustProxyHops, chain.length - 1)]!;
}

/** The client address of an HTTP request or upgrade that is still open. */
export function requestAddress(request: IncomingMessage, trustProxyHops: number): string {
  return addressFrom(request.socket.remoteAddress, request.headers['x-forwarded-for'], trustProxyHops);
}
