import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import type { AuthMode } from './domain/accounts/authenticator.ts';
import type { OidcSettings } from './domain/accounts/oidc-token-verifier.ts';
import type { TurnSettings } from './domain/voice/ice-servers.ts';
import type { AttemptGuardPolicy } from './rate-limit/attempt-guard.ts';
import { parseRateLimit, type RateLimitRule } from './rate-limit/rate-limit-rule.ts';

/** Parsed once in `main.ts`; nothing else reads `process.env`. Every variable is documented in the README. */
export interface Config {
  readonly mode: 'embedded' | 'cluster';
  readonly nodeId: string;
  readonly nodeEnv: 'development' | 'production' | 'test';
  readonly http: {
    readonly host: string;
    readonly port: number;
    /** Empty: every origin is allowed (development). */
    readonly corsOrigins: readonly string[];
    /** Proxy hops in front of the pod whose `X-Forwarded-For` is believed. */
    readonly trustProxyHops: number;
    readonly bodyLimitBytes: number;
  };
  readonly socket: {
    readonly maxPayloadBytes: number;
    /** Events one connection may have awaiting their acknowledgement; more are refused at once. */
    readonly maxInFlight: number;
    /** Events of any name one connection may send, counted on its own pod before anything else. */
    readonly eventRate: RateLimitRule;
  };
  /** New Socket.IO connections, checked before any database work. */
  readonly admission: {
    /** Handshakes per client IP, per pod. */
    readonly handshakeRate: RateLimitRule;
    /** Connections not yet authenticated, per client IP and per pod. */
    readonly maxUnauthenticatedPerIp: number;
    readonly maxUnauthenticated: number;
  };
  readonly database:
    | {
        readonly kind: 'postgres';
        readonly url: string;
        readonly poolMax: number;
        readonly connectTimeoutMs: number;
        /** Server-side statement timeout; the client gives up on a query shortly after it. */
        readonly queryTimeoutMs: number;
      }
    | { readonly kind: 'pglite'; readonly dataDir: string };
  readonly redis: { readonly url: string; readonly keyPrefix: string; readonly commandTimeoutMs: number } | undefined;
  readonly log: { readonly level: string; readonly format: 'json' | 'pretty' };
  readonly auth: {
    readonly mode: AuthMode;
    readonly sessionTokenTtlMs: number;
    /** Set when `mode` is `oidc` or `both`. */
    readonly oidc: OidcSettings | undefined;
    /** Password hashes computed at once; more wait in a queue of at most `passwordHashQueueMax`. */
    readonly passwordHashConcurrency: number;
    readonly passwordHashQueueMax: number;
  };
  readonly communities: {
    /** `SERVER_NAME`: the deployment runs this one community, created at start; events may omit `serverId`. */
    readonly defaultServerName: string | undefined;
    /** Brute-force protection of invite codes and community passwords. */
    readonly joinAttempts: AttemptGuardPolicy;
  };
  /** Pods renew a heartbeat in Redis; the presence and voice entries of a pod whose heartbeat lapses are removed. */
  readonly heartbeat: { readonly intervalMs: number; readonly ttlMs: number };
  readonly voice: {
    /** Participants per voice channel, enforced across pods. */
    readonly maxUsers: number;
    /** Addresses clients reach the SFU at (`sfu_url`, `sfu_urls`); empty: voice rooms are unavailable. */
    readonly sfuUrls: readonly string[];
    readonly stunServers: readonly string[];
    /** TURN servers and the secret shared with them for short-lived credentials (TURN REST API). */
    readonly turn: TurnSettings | undefined;
    /** The SFU join tokens: lifetime, `iss`, `aud`, and how often the signing key is replaced. */
    readonly token: {
      readonly ttlSeconds: number;
      readonly issuer: string;
      readonly audience: string;
      readonly keyRotationMs: number;
      /** Seals the signing keys' private halves in the database; unset: stored as they are. */
      readonly keyEncryptionSecret: string | undefined;
    };
  };
  /**
   * After a burst of at least `afterConnections` new connections (0: never),
   * once none has opened for `quietMs`, the pod runs one memory-reducing GC.
   */
  readonly memoryReclaim: { readonly afterConnections: number; readonly quietMs: number };
  /** The chat write path: group commit and the per-pod access cache. */
  readonly chat: {
    /** Messages written in one transaction at most (those that arrive while a batch commits wait for the next). */
    readonly commitBatchMax: number;
    /** How long a pod may reuse a member's channel access; 0 reads it for every message. */
    readonly accessCacheTtlMs: number;
    readonly accessCacheMaxEntries: number;
  };
  /** Uploads, their storage and their processing. */
  readonly media: {
    /** Object storage; undefined: files under `DATA_DIR/files` (embedded), or uploads unavailable (cluster). */
    readonly s3: S3Settings | undefined;
    /** Directory of the embedded file store. */
    readonly filesDir: string;
    readonly maxUploadBytes: number;
    readonly quotaBytes: number;
    /** Files never attached (and presigned uploads never completed) are removed after this long. */
    readonly unattachedTtlMs: number;
    readonly sweepIntervalMs: number;
    /** Lifetime of presigned download and upload URLs. */
    readonly urlTtlSeconds: number;
  };
  /** Thumbnailing, in `services/worker` (cluster) or in process (embedded). */
  readonly thumbnails: {
    /** Images with more pixels are refused before decoding (decompression bombs). */
    readonly maxInputPixels: number;
    /** Jobs one worker runs at once, and libvips threads per job. */
    readonly concurrency: number;
    readonly sharpThreads: number;
  };
  /** The worker's own HTTP port (`/health`, `/metrics`). */
  readonly workerPort: number;
  readonly shutdownGraceMs: number;
  /** How often a pod sends its socket-event rate-limit counts to Redis and reads the cluster's back. */
  readonly rateLimitSyncIntervalMs: number;
  readonly rateLimits: {
    readonly auth: RateLimitRule;
    readonly chatSend: RateLimitRule;
    readonly chatFetch: RateLimitRule;
    readonly chatEdit: RateLimitRule;
    readonly chatDelete: RateLimitRule;
    readonly chatReact: RateLimitRule;
    readonly chatTyping: RateLimitRule;
    readonly chatResume: RateLimitRule;
    readonly accountSync: RateLimitRule;
    readonly serverJoin: RateLimitRule;
    readonly serverLeave: RateLimitRule;
    readonly serverRead: RateLimitRule;
    readonly communityWrite: RateLimitRule;
    readonly discovery: RateLimitRule;
    readonly presence: RateLimitRule;
    readonly voiceRequest: RateLimitRule;
    readonly voiceState: RateLimitRule;
    readonly rtcSignal: RateLimitRule;
    readonly upload: RateLimitRule;
  };
}

/** An S3 bucket (AWS, MinIO, R2...): the Gryt seed's `S3_*` variables plus the endpoints of S3-compatible stores. */
export interface S3Settings {
  readonly bucket: string;
  readonly region: string;
  readonly accessKeyId: string | undefined;
  readonly secretAccessKey: string | undefined;
  /** Where pods reach the store; undefined: AWS for the region. */
  readonly endpoint: string | undefined;
  /** Where clients reach it (presigned URLs); defaults to `endpoint`. */
  readonly publicEndpoint: string | undefined;
  readonly forcePathStyle: boolean;
}



const TEN_YEARS_MS = 10 * 365 * 24 * 60 * 60 * 1000;

const commaList = z
  .string()
  .transform((value) => value.split(',').map((item) => item.trim()).filter(Boolean));

const rateLimit = z.string().transform((value, ctx) => {
  try {
    return parseRateLimit(value);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: (error as Error).message });
    return z.NEVER;
  }
});

/** The Gryt seed's GRYT_AUTH_MODE values, read when AUTH_MODE is not set. */
const grytAuthModes: Record<string, AuthMode> = { required: 'oidc', disabled: 'disabled' };

const oidcAlgorithms = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;

const urlList = (protocols: RegExp, what: string) =>
  commaList.pipe(z.array(z.url({ protocol: protocols, error: `must be a comma-separated list of ${what} URLs` })));

/** ICE server URIs (RFC 7064/7065) are not `scheme://` URLs: `stun:host:port`, `turn:host:port?transport=udp`. */
const iceUriList = (schemes: string, what: string) =>
  commaList.pipe(
    z.array(z.string().regex(new RegExp(`^(${schemes}):[^\\s,/]+(\\?transport=(udp|tcp))?$`), `must be a comma-separated list of ${what} URIs`)),
  );

const integer = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);

const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('production'),
  NODE_ID: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1-64 letters, digits, ".", "_" or "-"')
    .optional(),
  HOST: z.string().min(1).default('0.0.0.0'),
  PORT: integer(0, 65_535).default(5000),
  CORS_ORIGIN: commaList.optional(),
  CORS_ALLOWLIST: commaList.optional(),
  TRUST_PROXY_HOPS: integer(0, 10).default(0),
  HTTP_BODY_LIMIT_BYTES: integer(1024, 50 * 1024 * 1024).default(100 * 1024),
  SOCKET_MAX_PAYLOAD_BYTES: integer(1024, 50 * 1024 * 1024).default(1024 * 1024),
  SOCKET_MAX_IN_FLIGHT: integer(1, 1000).default(64),
  RATE_LIMIT_SOCKET_EVENTS: rateLimit.default(parseRateLimit('300/3s')),
  RATE_LIMIT_HANDSHAKE: rateLimit.default(parseRateLimit('100/10s')),
  MAX_UNAUTHENTICATED_PER_IP: integer(1, 1_000_000).default(20),
  MAX_UNAUTHENTICATED_CONNECTIONS: integer(1, 10_000_000).default(2000),
  DATA_DIR: z.string().min(1).default('./data'),
  DATABASE_URL: z
    .url({ protocol: /^postgres(ql)?$/, error: 'must be a postgres:// or postgresql:// URL' })
    .optional(),
  DATABASE_POOL_MAX: integer(1, 500).default(10),
  DATABASE_CONNECT_TIMEOUT_MS: integer(100, 120_000).default(5000),
  DATABASE_QUERY_TIMEOUT_MS: integer(100, 600_000).default(10_000),
  REDIS_URL: z.url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL' }).optional(),
  REDIS_KEY_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9._:-]{1,64}$/, 'must be 1-64 letters, digits, ".", "_", ":" or "-"')
    .default('parley:'),
  REDIS_COMMAND_TIMEOUT_MS: integer(50, 60_000).default(1000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_FORMAT: z.enum(['json', 'pretty']).optional(),
  SESSION_TOKEN_TTL_MS: integer(60_000).default(TEN_YEARS_MS),
  AUTH_MODE: z.enum(['local', 'oidc', 'both', 'disabled']).optional(),
  GRYT_AUTH_MODE: z.enum(Object.keys(grytAuthModes) as [string, ...string[]]).optional(),
  OIDC_ISSUER: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }).optional(),
  GRYT_OIDC_ISSUER: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }).optional(),
  OIDC_AUDIENCE: commaList.optional(),
  GRYT_OIDC_AUDIENCE: commaList.optional(),
  OIDC_ALGORITHMS: commaList.pipe(z.array(z.enum(oidcAlgorithms)).min(1)).default(['RS256']),
  OIDC_JWKS_URL: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }).optional(),
  OIDC_CLOCK_TOLERANCE_S: integer(0, 300).default(10),
  OIDC_JWKS_COOLDOWN_MS: integer(0, 3_600_000).default(30_000),
  OIDC_JWKS_CACHE_MAX_AGE_MS: integer(1000, 86_400_000).default(600_000),
  OIDC_USERNAME_CLAIM: z.string().min(1).max(64).default('preferred_username'),
  PASSWORD_HASH_CONCURRENCY: integer(1, 64).default(Math.max(2, os.availableParallelism())),
  PASSWORD_HASH_QUEUE_MAX: integer(0, 100_000).default(200),
  SERVER_NAME: z.string().trim().min(1).max(100).optional(),
  SERVER_INVITE_MAX_RETRIES: integer(1, 1000).default(8),
  SERVER_INVITE_IP_MAX_RETRIES: integer(1, 100_000).default(20),
  SERVER_INVITE_RETRY_WINDOW_MS: integer(1000, 86_400_000).default(300_000),
  SERVER_INVITE_RETRY_COOLDOWN_MS: integer(1000, 86_400_000).default(60_000),
  SERVER_INVITE_MAX_COOLDOWN_MS: integer(1000, 7 * 86_400_000).default(3_600_000),
  SHUTDOWN_GRACE_MS: integer(0, 600_000).default(25_000),
  S3_BUCKET: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be an S3 bucket name').optional(),
  S3_REGION: z.string().min(1).max(64).default('auto'),
  S3_ACCESS_KEY_ID: z.string().min(1).optional(),
  S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  S3_ENDPOINT: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }).optional(),
  S3_PUBLIC_ENDPOINT: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }).optional(),
  S3_FORCE_PATH_STYLE: z.enum(['true', 'false']).default('false'),
  CHAT_COMMIT_BATCH_MAX: integer(1, 1000).default(200),
  MEMORY_RECLAIM_AFTER_CONNECTIONS: integer(0, 10_000_000).default(1000),
  MEMORY_RECLAIM_QUIET_MS: integer(1000, 600_000).default(3000),
  ACCESS_CACHE_TTL_MS: integer(0, 600_000).default(30_000),
  ACCESS_CACHE_MAX_ENTRIES: integer(1, 10_000_000).default(100_000),
  UPLOAD_MAX_BYTES: integer(1024, 5 * 1024 ** 4).default(25 * 1024 * 1024),
  UPLOAD_QUOTA_BYTES: integer(1024, Number.MAX_SAFE_INTEGER).default(1024 ** 3),
  UPLOAD_UNATTACHED_TTL_MS: integer(60_000, 365 * 86_400_000).default(86_400_000),
  FILES_SWEEP_INTERVAL_MS: integer(10_000, 86_400_000).default(3_600_000),
  FILE_URL_TTL_S: integer(10, 7 * 86_400).default(300),
  THUMBNAIL_MAX_PIXELS: integer(1, 1_000_000_000).default(50_000_000),
  WORKER_CONCURRENCY: integer(1, 64).default(2),
  SHARP_THREADS: integer(1, 64).default(1),
  WORKER_PORT: integer(0, 65_535).default(5100),
  NODE_HEARTBEAT_INTERVAL_MS: integer(100, 60_000).default(5000),
  NODE_HEARTBEAT_TTL_MS: integer(300, 600_000).default(15_000),
  VOICE_MAX_USERS: integer(1, 10_000).default(25),
  SFU_PUBLIC_HOST: urlList(/^wss?$/, 'ws:// or wss://').optional(),
  SFU_WS_HOST: z.url({ protocol: /^wss?$/, error: 'must be a ws:// or wss:// URL' }).optional(),
  STUN_SERVERS: iceUriList('stuns?', 'stun: or stuns:').optional(),
  TURN_URLS: iceUriList('turns?', 'turn: or turns:').optional(),
  TURN_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
  TURN_CREDENTIAL_TTL_S: integer(60, 7 * 86_400).default(86_400),
  VOICE_TOKEN_TTL_S: integer(10, 3600).default(120),
  VOICE_TOKEN_ISSUER: z.string().min(1).max(256).default('parley'),
  VOICE_TOKEN_AUDIENCE: z.string().min(1).max(256).default('parley-sfu'),
  // At least the JWKS cache lifetime (300 s): every cached key set then holds the next key.
  VOICE_KEY_ROTATION_MS: integer(300_000, 365 * 86_400_000).default(86_400_000),
  VOICE_KEY_ENCRYPTION_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  RATE_LIMIT_AUTH: rateLimit.default(parseRateLimit('100/15m')),
  RATE_LIMIT_CHAT_SEND: rateLimit.default(parseRateLimit('20/10s')),
  RATE_LIMIT_CHAT_FETCH: rateLimit.default(parseRateLimit('15/10s')),
  RATE_LIMIT_CHAT_EDIT: rateLimit.default(parseRateLimit('20/1m')),
  RATE_LIMIT_CHAT_DELETE: rateLimit.default(parseRateLimit('30/1m')),
  RATE_LIMIT_CHAT_REACT: rateLimit.default(parseRateLimit('60/1m')),
  RATE_LIMIT_CHAT_TYPING: rateLimit.default(parseRateLimit('30/10s')),
  RATE_LIMIT_CHAT_RESUME: rateLimit.default(parseRateLimit('10/10s')),
  RATE_LIMIT_ACCOUNT_SYNC: rateLimit.default(parseRateLimit('120/10s')),
  RATE_LIMIT_SERVER_JOIN: rateLimit.default(parseRateLimit('30/1m')),
  RATE_LIMIT_SERVER_LEAVE: rateLimit.default(parseRateLimit('30/1m')),
  RATE_LIMIT_SERVER_READ: rateLimit.default(parseRateLimit('30/10s')),
  RATE_LIMIT_COMMUNITY_WRITE: rateLimit.default(parseRateLimit('120/1m')),
  RATE_LIMIT_DISCOVERY: rateLimit.default(parseRateLimit('120/1m')),
  RATE_LIMIT_PRESENCE: rateLimit.default(parseRateLimit('30/1m')),
  RATE_LIMIT_VOICE_REQUEST: rateLimit.default(parseRateLimit('10/10s')),
  RATE_LIMIT_VOICE_STATE: rateLimit.default(parseRateLimit('60/10s')),
  RATE_LIMIT_RTC_SIGNAL: rateLimit.default(parseRateLimit('300/10s')),
  RATE_LIMIT_UPLOAD: rateLimit.default(parseRateLimit('30/1m')),
  RATE_LIMIT_SYNC_INTERVAL_MS: integer(10, 10_000).default(100),
});

/** The name of every variable the service reads (a pod, a worker, the admin CLI). */
export const settingNames: readonly string[] = Object.keys(envSchema.shape);

export class ConfigError extends Error {
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** Parses the environment, reporting every problem at once through `ConfigError`. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  // An empty variable means "not set", as in most .env tooling.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = envSchema.safeParse(present);
  const problems = [
    ...(parsed.error?.issues ?? []).map((issue) => `${issue.path.join('.') || '(environment)'} ${issue.message}`),
    ...crossVariableProblems(present),
  ];
  if (!parsed.success || problems.length > 0) throw new ConfigError(problems);
  const e = parsed.data;
  const authMode = authModeOf(e);
  const config: Config = {
    mode: e.REDIS_URL ? 'cluster' : 'embedded',
    nodeId: e.NODE_ID ?? `${os.hostname()}-${randomBytes(3).toString('hex')}`,
    nodeEnv: e.NODE_ENV,
    http: {
      host: e.HOST,
      port: e.PORT,
      corsOrigins: [...(e.CORS_ALLOWLIST ?? []), ...(e.CORS_ORIGIN ?? [])],
      trustProxyHops: e.TRUST_PROXY_HOPS,
      bodyLimitBytes: e.HTTP_BODY_LIMIT_BYTES,
    },
    socket: {
      maxPayloadBytes: e.SOCKET_MAX_PAYLOAD_BYTES,
      maxInFlight: e.SOCKET_MAX_IN_FLIGHT,
      eventRate: e.RATE_LIMIT_SOCKET_EVENTS,
    },
    admission: {
      handshakeRate: e.RATE_LIMIT_HANDSHAKE,
      maxUnauthenticatedPerIp: e.MAX_UNAUTHENTICATED_PER_IP,
      maxUnauthenticated: e.MAX_UNAUTHENTICATED_CONNECTIONS,
    },
    database: e.DATABASE_URL
      ? {
          kind: 'postgres',
          url: e.DATABASE_URL,
          poolMax: e.DATABASE_POOL_MAX,
          connectTimeoutMs: e.DATABASE_CONNECT_TIMEOUT_MS,
          queryTimeoutMs: e.DATABASE_QUERY_TIMEOUT_MS,
        }
      : { kind: 'pglite', dataDir: path.resolve(e.DATA_DIR, 'db') },
    redis: e.REDIS_URL
      ? { url: e.REDIS_URL, keyPrefix: e.REDIS_KEY_PREFIX, commandTimeoutMs: e.REDIS_COMMAND_TIMEOUT_MS }
      : undefined,
    log: { level: e.LOG_LEVEL, format: e.LOG_FORMAT ?? (e.NODE_ENV === 'development' ? 'pretty' : 'json') },
    auth: {
      mode: authMode,
      sessionTokenTtlMs: e.SESSION_TOKEN_TTL_MS,
      oidc: usesOidc(authMode) ? oidcSettingsOf(e) : undefined,
      passwordHashConcurrency: e.PASSWORD_HASH_CONCURRENCY,
      passwordHashQueueMax: e.PASSWORD_HASH_QUEUE_MAX,
    },
    communities: {
      defaultServerName: e.SERVER_NAME,
      joinAttempts: {
        windowMs: e.SERVER_INVITE_RETRY_WINDOW_MS,
        maxFailuresPerUser: e.SERVER_INVITE_MAX_RETRIES,
        maxFailuresPerIp: e.SERVER_INVITE_IP_MAX_RETRIES,
        cooldownMs: e.SERVER_INVITE_RETRY_COOLDOWN_MS,
        maxCooldownMs: e.SERVER_INVITE_MAX_COOLDOWN_MS,
      },
    },
    heartbeat: { intervalMs: e.NODE_HEARTBEAT_INTERVAL_MS, ttlMs: e.NODE_HEARTBEAT_TTL_MS },
    voice: {
      maxUsers: e.VOICE_MAX_USERS,
      sfuUrls: e.SFU_PUBLIC_HOST ?? (e.SFU_WS_HOST ? [e.SFU_WS_HOST] : []),
      stunServers: e.STUN_SERVERS ?? [],
      turn:
        e.TURN_URLS && e.TURN_SECRET
          ? { urls: e.TURN_URLS, secret: e.TURN_SECRET, credentialTtlSeconds: e.TURN_CREDENTIAL_TTL_S }
          : undefined,
      token: {
        ttlSeconds: e.VOICE_TOKEN_TTL_S,
        issuer: e.VOICE_TOKEN_ISSUER,
        audience: e.VOICE_TOKEN_AUDIENCE,
        keyRotationMs: e.VOICE_KEY_ROTATION_MS,
        keyEncryptionSecret: e.VOICE_KEY_ENCRYPTION_SECRET,
      },
    },
    memoryReclaim: { afterConnections: e.MEMORY_RECLAIM_AFTER_CONNECTIONS, quietMs: e.MEMORY_RECLAIM_QUIET_MS },
    chat: {
      commitBatchMax: e.CHAT_COMMIT_BATCH_MAX,
      accessCacheTtlMs: e.ACCESS_CACHE_TTL_MS,
      accessCacheMaxEntries: e.ACCESS_CACHE_MAX_ENTRIES,
    },
    media: {
      s3: e.S3_BUCKET
        ? {
            bucket: e.S3_BUCKET,
            region: e.S3_REGION,
            accessKeyId: e.S3_ACCESS_KEY_ID,
            secretAccessKey: e.S3_SECRET_ACCESS_KEY,
            endpoint: e.S3_ENDPOINT,
            publicEndpoint: e.S3_PUBLIC_ENDPOINT ?? e.S3_ENDPOINT,
            forcePathStyle: e.S3_FORCE_PATH_STYLE === 'true',
          }
        : undefined,
      filesDir: path.resolve(e.DATA_DIR, 'files'),
      maxUploadBytes: e.UPLOAD_MAX_BYTES,
      quotaBytes: e.UPLOAD_QUOTA_BYTES,
      unattachedTtlMs: e.UPLOAD_UNATTACHED_TTL_MS,
      sweepIntervalMs: e.FILES_SWEEP_INTERVAL_MS,
      urlTtlSeconds: e.FILE_URL_TTL_S,
    },
    thumbnails: {
      maxInputPixels: e.THUMBNAIL_MAX_PIXELS,
      concurrency: e.WORKER_CONCURRENCY,
      sharpThreads: e.SHARP_THREADS,
    },
    workerPort: e.WORKER_PORT,
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    rateLimitSyncIntervalMs: e.RATE_LIMIT_SYNC_INTERVAL_MS,
    rateLimits: {
      auth: e.RATE_LIMIT_AUTH,
      chatSend: e.RATE_LIMIT_CHAT_SEND,
      chatFetch: e.RATE_LIMIT_CHAT_FETCH,
      chatEdit: e.RATE_LIMIT_CHAT_EDIT,
      chatDelete: e.RATE_LIMIT_CHAT_DELETE,
      chatReact: e.RATE_LIMIT_CHAT_REACT,
      chatTyping: e.RATE_LIMIT_CHAT_TYPING,
      chatResume: e.RATE_LIMIT_CHAT_RESUME,
      accountSync: e.RATE_LIMIT_ACCOUNT_SYNC,
      serverJoin: e.RATE_LIMIT_SERVER_JOIN,
      serverLeave: e.RATE_LIMIT_SERVER_LEAVE,
      serverRead: e.RATE_LIMIT_SERVER_READ,
      communityWrite: e.RATE_LIMIT_COMMUNITY_WRITE,
      discovery: e.RATE_LIMIT_DISCOVERY,
      presence: e.RATE_LIMIT_PRESENCE,
      voiceRequest: e.RATE_LIMIT_VOICE_REQUEST,
      voiceState: e.RATE_LIMIT_VOICE_STATE,
      rtcSignal: e.RATE_LIMIT_RTC_SIGNAL,
      upload: e.RATE_LIMIT_UPLOAD,
    },
  };
  return deepFreeze(config);
}

type Env = z.output<typeof envSchema>;

function authModeOf(e: Pick<Env, 'AUTH_MODE' | 'GRYT_AUTH_MODE'>): AuthMode {
  return e.AUTH_MODE ?? (e.GRYT_AUTH_MODE ? grytAuthModes[e.GRYT_AUTH_MODE] : undefined) ?? 'local';
}

function usesOidc(mode: AuthMode): boolean {
  return mode === 'oidc' || mode === 'both';
}

function oidcSettingsOf(e: Env): OidcSettings {
  return {
    // Checked present by crossVariableProblems.
    issuer: (e.OIDC_ISSUER ?? e.GRYT_OIDC_ISSUER)!,
    audience: (e.OIDC_AUDIENCE ?? e.GRYT_OIDC_AUDIENCE)!,
    algorithms: e.OIDC_ALGORITHMS,
    jwksUrl: e.OIDC_JWKS_URL,
    clockToleranceSeconds: e.OIDC_CLOCK_TOLERANCE_S,
    jwksCooldownMs: e.OIDC_JWKS_COOLDOWN_MS,
    jwksCacheMaxAgeMs: e.OIDC_JWKS_CACHE_MAX_AGE_MS,
    usernameClaim: e.OIDC_USERNAME_CLAIM,
  };
}

/** Rules between variables, checked even when single variables are wrong, so every problem shows at once. */
function crossVariableProblems(env: Record<string, string | undefined>): string[] {
  const problems: string[] = [];
  if (env.REDIS_URL && !env.DATABASE_URL) {
    problems.push('DATABASE_URL is required when REDIS_URL is set: cluster pods must share one Postgres');
  }
  const cooldown = Number(env.SERVER_INVITE_RETRY_COOLDOWN_MS ?? 60_000);
  if (cooldown > Number(env.SERVER_INVITE_MAX_COOLDOWN_MS ?? 3_600_000)) {
    problems.push('SERVER_INVITE_RETRY_COOLDOWN_MS must not exceed SERVER_INVITE_MAX_COOLDOWN_MS');
  }
  if (Number(env.NODE_HEARTBEAT_TTL_MS ?? 15_000) < 2 * Number(env.NODE_HEARTBEAT_INTERVAL_MS ?? 5000)) {
    problems.push('NODE_HEARTBEAT_TTL_MS must be at least twice NODE_HEARTBEAT_INTERVAL_MS');
  }
  if (Boolean(env.S3_ACCESS_KEY_ID) !== Boolean(env.S3_SECRET_ACCESS_KEY)) {
    problems.push('S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY go together');
  }
  if ((env.S3_ENDPOINT || env.S3_PUBLIC_ENDPOINT || env.S3_ACCESS_KEY_ID) && !env.S3_BUCKET) {
    problems.push('S3_BUCKET is required when any other S3_ variable is set');
  }
  if (Boolean(env.TURN_URLS) !== Boolean(env.TURN_SECRET)) {
    problems.push('TURN_URLS and TURN_SECRET go together: TURN credentials are derived from the shared secret');
  }
  const mode = env.AUTH_MODE ?? grytAuthModes[env.GRYT_AUTH_MODE ?? ''];
  if (mode === 'oidc' || mode === 'both') {
    if (!env.OIDC_ISSUER && !env.GRYT_OIDC_ISSUER) problems.push(`OIDC_ISSUER is required when AUTH_MODE is ${mode}`);
    if (!env.OIDC_AUDIENCE?.trim() && !env.GRYT_OIDC_AUDIENCE?.trim()) {
      problems.push(`OIDC_AUDIENCE is required when AUTH_MODE is ${mode}`);
    }
  }
  return problems;
}

function deepFreeze<T extends object>(value: T): T {
  for (const child of Object.values(value)) {
    if (child && typeof child === 'object') deepFreeze(child);
  }
  return Object.freeze(value);
}
