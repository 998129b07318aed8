/**
 * Whether a browser Origin may talk to this pod. An empty allowlist allows
 * every origin (development). Requests without an Origin header (native
 * apps, servers, curl) are not browser requests and are allowed.
 */
export function isOriginAllowed(origin: string | undefined, allowlist: readonly string[]): boolean {
  if (allowlist.length === 0 || origin === undefined) return true;
  return allowlist.includes(origin);
}
