import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ParleyHttpClient } from '@parley/client';
import type { PresignedUpload } from '@parley/protocol';
import { ManagedProcess } from '@parley/testkit';
import { createTestDatabase } from '@parley/testkit/vitest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { photo } from './support/images.ts';
import { upload } from './support/media.ts';
import { connect, nextEvent, registerUser } from './support/users.ts';

const main = path.resolve(import.meta.dirname, '../src/main.ts');
const bareEnv = { PATH: process.env.PATH, HOME: process.env.HOME };

describe('embedded mode: `npm start` with no environment', () => {
  let dataDir: string;
  let pod: ManagedProcess;
  let url: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'parley-embedded-'));
    // Only where to keep data and which port: no database, no Redis, no other variable.
    pod = await ManagedProcess.start('embedded', {
      command: process.execPath,
      args: [main],
      env: { ...bareEnv, DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1' },
      readyLine: /"msg":"listening"/,
    });
    const listening = pod.recentLines.map((line) => JSON.parse(line)).find((entry) => entry.msg === 'listening');
    url = listening.url;
  });
  afterAll(async () => {
    await pod?.stop('SIGTERM');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('serves /health and reports ready with its embedded database', async () => {
    expect(await (await fetch(`${url}/health`)).json()).toMatchObject({ status: 'ok' });
    expect(await (await fetch(`${url}/ready`)).json()).toMatchObject({ status: 'ready', checks: { database: 'ok' } });
    const listening = pod.recentLines.map((line) => JSON.parse(line)).find((entry) => entry.msg === 'listening');
    expect(listening).toMatchObject({ mode: 'embedded', database: 'pglite' });
  });

  it('serves the slice: register, create a community, chat between two devices, history', async () => {
    const user = await registerUser(url);
    const { channels } = await user.http.createServer({ name: 'laptop' });
    const laptop = await connect(url, user, { clientInstanceId: 'laptop' });
    const phone = await connect(url, user, { clientInstanceId: 'phone' });

    const arrival = nextEvent(phone, 'chat:new');
    const { message } = await laptop.request('chat:send', { conversationId: channels[0]!.id, text: 'embedded', nonce: 'e1' });
    expect(await arrival).toEqual(message);
    expect(await user.http.fetchMessages(channels[0]!.id)).toEqual({ items: [message], hasMore: false });
    laptop.close();
    phone.close();
  });

  it('takes uploads with nothing installed: files under DATA_DIR, thumbnails made in process, downloads streamed', async () => {
    const user = await registerUser(url);
    const socket = await connect(url, user);
    const ready = nextEvent(socket, 'file:ready', 30_000);
    const image = await photo(400, 300);
    const uploaded = await upload(url, user, image, { name: 'laptop.jpg' });
    expect(uploaded.status).toBe(201);
    expect(await ready).toMatchObject({ id: uploaded.body.fileId, status: 'ready', width: 400, height: 300, thumbnails: [256, 1024] });
    expect(existsSync(path.join(dataDir, 'files', 'files', uploaded.body.fileId))).toBe(true);

    const headers = { Authorization: `Bearer ${user.session.token}` };
    const original = await fetch(`${url}/api/files/${uploaded.body.fileId}`, { headers });
    expect(original.status).toBe(200);
    expect(original.headers.get('x-content-type-options')).toBe('nosniff');
    expect(original.headers.get('content-type')).toBe('image/jpeg');
    expect(Buffer.from(await original.arrayBuffer()).equals(image)).toBe(true);
    const thumbnail = await fetch(`${url}/api/files/${uploaded.body.fileId}?variant=256`, { headers });
    expect(thumbnail.headers.get('content-type')).toBe('image/webp');

    // A direct upload goes through the node itself: its URL is the node's own.
    const presign = await fetch(`${url}/api/uploads/presign`, {
      method: 'POST',
      headers: { ...headers, 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'direct.bin', size: 300 }),
    });
    const presigned = (await presign.json()) as PresignedUpload;
    expect(presigned.url).toBe(`/api/uploads/${presigned.fileId}`);
    const direct = await upload(url, user, Buffer.alloc(300, 7), { name: 'direct.bin', path: presigned.url });
    expect(direct).toMatchObject({ status: 200, body: { id: presigned.fileId, status: 'ready', size: 300 } });
    socket.close();
  });

  it('exits cleanly on SIGTERM and keeps its data for the next start', async () => {
    const user = await registerUser(url, 'persistent');
    expect(await pod.stop('SIGTERM')).toBe(0);

    pod = await ManagedProcess.start('embedded-again', {
      command: process.execPath,
      args: [main],
      env: { ...bareEnv, DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1' },
      readyLine: /"msg":"listening"/,
    });
    url = pod.recentLines.map((line) => JSON.parse(line)).find((entry) => entry.msg === 'listening').url;
    await expect(
      new ParleyHttpClient(url).login({ username: 'persistent', password: 'correct horse battery' }),
    ).resolves.toMatchObject({ id: user.session.id });
  });
});

describe('refusing to start', () => {
  it('prints every configuration problem at once and exits non-zero', () => {
    const result = spawnSync(process.execPath, [main], {
      env: { ...bareEnv, PORT: 'eighty', REDIS_URL: 'redis://localhost:6379', LOG_LEVEL: 'chatty' },
      encoding: 'utf8',
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('Invalid configuration');
    for (const variable of ['PORT', 'DATABASE_URL', 'LOG_LEVEL']) expect(result.stderr).toContain(variable);
  });

  it('a cluster pod refuses to serve when the schema is behind, and says what to do', async () => {
    const empty = await createTestDatabase({ migrated: false });
    try {
      const result = spawnSync(process.execPath, [main], {
        env: { ...bareEnv, PORT: '0', DATABASE_URL: empty.url, LOG_FORMAT: 'json' },
        encoding: 'utf8',
        timeout: 20_000,
      });
      expect(result.status).toBe(1);
      const fatal = result.stdout
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line))
        .find((entry) => entry.level === 60);
      expect(fatal.err.message).toMatch(/schema is behind.*npm run migrate/);
    } finally {
      await empty.drop();
    }
  });
});
