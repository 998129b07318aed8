import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const signaling = 'services/signaling/src';

/** Libraries that talk to infrastructure: only adapters (and the composition roots that build them) import them. */
const infrastructure = [
  { name: 'ioredis', message: 'Redis is reached through a port; its implementations live in adapters/redis/.' },
  { name: '@socket.io/redis-adapter', message: 'The Socket.IO Redis adapter is built in adapters/redis/.' },
  { name: '@socket.io/redis-emitter', message: 'The Redis emitter is built by the admin context only.' },
  { name: 'rate-limiter-flexible', message: 'Rate limiters are ports; their implementations live in adapters/.' },
  { name: 'argon2', message: 'Password hashing is a port; its implementation lives in adapters/argon2/.' },
  { name: 'bcryptjs', message: 'Password hashing is a port; its implementation lives in adapters/argon2/.' },
  { name: 'pg', message: 'The database is opened by @parley/db and adapters/database.ts.' },
  { name: 'bullmq', message: 'Jobs go through the JobQueue port; BullMQ lives in adapters/bullmq/.' },
  { name: 'sharp', message: 'Images go through the ImageProcessor port; sharp lives in adapters/sharp/.' },
];
/** Package families restricted like `infrastructure`. */
const infrastructurePatterns = [
  { group: ['@aws-sdk/*'], message: 'Object storage goes through the BlobStore port; the S3 client lives in adapters/s3/.' },
];
const kysely = { name: 'kysely', message: 'Queries live in repositories (*.repository.ts) and the store.' };
const uniqueViolation = {
  name: '@parley/db',
  importNames: ['isUniqueViolation'],
  message: 'Repositories turn unique violations into UniqueConflict (domain/unique-conflict.ts).',
};
const restrict = (...paths) => ({ 'no-restricted-imports': ['error', { paths }] });
const restrictInfrastructure = (...paths) => ({
  'no-restricted-imports': ['error', { paths: [...infrastructure, ...paths], patterns: infrastructurePatterns }],
});

export default tseslint.config(
  { ignores: ['**/node_modules/**', 'data/**', 'test-results/**', 'bench/results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly', fetch: 'readonly' } },
    rules: {
      // Services log through pino; CLIs write to process.stdout.
      'no-console': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
    },
  },
  // The layers of a signaling pod (docs/architecture.md): domain and transports reach infrastructure only through ports.
  {
    files: [`${signaling}/**/*.ts`],
    ignores: ['**/*.test.ts'],
    rules: restrictInfrastructure(kysely, uniqueViolation),
  },
  {
    files: [`${signaling}/**/*.repository.ts`, `${signaling}/domain/store.ts`],
    rules: restrictInfrastructure(uniqueViolation),
  },
  {
    files: [`${signaling}/domain/unique-conflict.ts`],
    rules: restrictInfrastructure(kysely),
  },
  {
    files: [`${signaling}/adapters/**/*.ts`, `${signaling}/node.ts`, `${signaling}/admin/admin-context.ts`],
    ignores: ['**/*.test.ts'],
    rules: restrict(kysely, uniqueViolation),
  },
  // Tools outside a service use its front door (`@parley/signaling`, src/index.ts), not its insides.
  {
    files: ['bench/**/*.ts', 'scripts/**/*.ts', 'services/worker/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['**/services/*/src/**'], message: "Import what the service exports from its package (e.g. '@parley/signaling')." }] },
      ],
    },
  },
  {
    files: ['.ci/**', 'eslint.config.js'],
    rules: { 'no-console': 'off' },
  },
);
