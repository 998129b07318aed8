import { migrateToLatest, openDatabase } from '@parley/db';
import type { TestProject } from 'vitest/node';
import { createDatabase, dropDatabase, getPostgres } from '../postgres.ts';
import { getRedis } from '../redis.ts';
import type {} from './provided-context.ts';


/** Finds or starts Postgres and Redis once per test run and migrates a template database. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const [postgres, redis] = await Promise.all([getPostgres(), getRedis()]);
  const stopServices = () => Promise.all([postgres.stop(), redis.stop()]);
  let templateName: string | undefined;
  try {
    const template = await createDatabase(postgres.url, { prefix: 'parley_template' });
    templateName = template.name;
    const database = await openDatabase({ kind: 'postgres', url: template.url });
    try {
      await migrateToLatest(database.db);
    } finally {
      await database.close();
    }
  } catch (error) {
    if (templateName) await dropDatabase(postgres.url, templateName).catch(() => {});
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
