export { DataDirLockedError } from './data-dir-lock.ts';
export * from './database.ts';
export * from './migrator.ts';
export * from './schema.ts';
export { PGliteDialect } from './pglite-dialect.ts';
