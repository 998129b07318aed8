import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { DataDirLockedError, lockDataDir } from '../src/data-dir-lock.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'parley-lock-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

it('lets one holder in at a time, naming the holder to the next', async () => {
  const release = await lockDataDir(dir);
  await expect(lockDataDir(dir)).rejects.toBeInstanceOf(DataDirLockedError);
  await expect(lockDataDir(dir)).rejects.toMatchObject({ pid: process.pid, message: expect.stringContaining('stop the running') });
  await release();
  const again = await lockDataDir(dir);
  expect(await readFile(path.join(dir, 'parley.lock'), 'utf8')).toBe(String(process.pid));
  await again();
});

it('takes over a lock left by a process that died, or one that is unreadable', async () => {
  const dead = spawnSync(process.execPath, ['-e', '0']).pid;
  for (const content of [String(dead), 'garbage', '']) {
    await writeFile(path.join(dir, 'parley.lock'), content);
    const release = await lockDataDir(dir);
    await release();
  }
});
