export * from './cluster.ts';
export { dockerAvailable } from './docker.ts';
export { freePort } from './free-port.ts';
export { descendantsOf, ManagedProcess } from './managed-process.ts';
export { waitUntilReady } from './readiness.ts';
export * from './postgres.ts';
export * from './redis.ts';
export * from './oidc-provider.ts';
export { TcpBalancer } from './tcp-balancer.ts';
