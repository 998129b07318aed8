import packageJson from '../package.json' with { type: 'json' };

/** Parley's version, as `server:info` and discovery report it. */
export const PARLEY_VERSION: string = packageJson.version;
