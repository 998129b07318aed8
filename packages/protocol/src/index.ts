export * from './errors.ts';
export * from './events.ts';
export * from './limits.ts';
export * from './models.ts';
export * from './schemas.ts';
