// What the global setup hands to test files through vitest's provide/inject.

declare module 'vitest' {
  export interface ProvidedContext {
    /** Superuser URL of the tests' Postgres server. */
    postgresUrl: string;
    redisUrl: string;
    /** A database migrated to the latest schema; test files copy it. */
    templateDatabase: string;
  }
}

export {};
