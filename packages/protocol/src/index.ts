export * from './chat.schemas.ts';
export * from './community.schemas.ts';
export * from './errors.ts';
export * from './events.ts';
export * from './limits.ts';
export * from './models.ts';
export * from './permissions.ts';
export * from './schemas.ts';
