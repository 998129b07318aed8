import { GenericContainer, Wait } from 'testcontainers';
import { NON_DURABLE_SETTINGS, type PostgresService } from './postgres.ts';
import type { RedisService } from './redis.ts';

// Loaded only when a Docker engine answers (see docker.ts).

export async function startPostgresContainer(options: { durable?: boolean } = {}): Promise<PostgresService> {
  const settings = options.durable ? [] : NON_DURABLE_SETTINGS.flatMap((setting) => ['-c', setting]);
  const container = await new GenericContainer('postgres:17-alpine')
    .withEnvironment({ POSTGRES_HOST_AUTH_METHOD: 'trust' })
    .withCommand(['postgres', ...settings, '-c', 'max_connections=300'])
    .withExposedPorts(5432)
    .withWaitStrategy(Wait.forLogMessage(/database system is ready to accept connections/, 2))
    .start();
  return {
    url: `postgres://postgres@${container.getHost()}:${container.getMappedPort(5432)}/postgres`,
    source: 'container',
    stop: async () => void (await container.stop()),
  };
}

export async function startRedisContainer(): Promise<RedisService> {
  const container = await new GenericContainer('redis:7-alpine')
    .withExposedPorts(6379)
    .withWaitStrategy(Wait.forLogMessage(/Ready to accept connections/))
    .start();
  return {
    url: `redis://${container.getHost()}:${container.getMappedPort(6379)}`,
    source: 'container',
    stop: async () => void (await container.stop()),
  };
}
