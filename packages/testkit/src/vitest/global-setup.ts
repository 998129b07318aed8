import type { TestProject } from 'vitest/node';
import { createMigratedDatabase, dropDatabase, getPostgres } from '../postgres.ts';
import { getRedis } from '../redis.ts';
import type {} from './provided-context.ts';


/** Finds or starts Postgres and Redis once per test run and migrates a template database. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const [postgres, redis] = await Promise.all([getPostgres(), getRedis()]);
  const stopServices = () => Promise.all([postgres.stop(), redis.stop()]);
  let templateName: string;
  try {
    templateName = (await createMigratedDatabase(postgres.url, { prefix: 'parley_template' })).name;
  } catch (error) {
    await stopServices();
    throw error;
  }
  project.provide('postgresUrl', postgres.url);
  project.provide('redisUrl', redis.url);
  project.provide('templateDatabase', templateName);

  return async () => {
    await dropDatabase(postgres.url, templateName).catch(() => {});
    await stopServices();
  };
}
