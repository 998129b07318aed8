import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ParleyHttpClient } from '@parley/client';
import { ManagedProcess } from '@parley/testkit';
import bcrypt from 'bcryptjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rowCounts, startTestNode, type TestNode } from './support/test-node.ts';
import { connect, eventually, nextEvent, registerUser, TEST_PASSWORD } from './support/users.ts';

const adminScript = path.resolve(import.meta.dirname, '../../../scripts/admin.ts');
const signalingMain = path.resolve(import.meta.dirname, '../src/main.ts');
const bareEnv = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' };

/** Runs `npm run admin -- ...args` as its own process, as an operator would. */
function admin(env: Record<string, string>, ...args: string[]): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [adminScript, ...args], { env: { ...bareEnv, ...env } });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('close', (status) => resolve({ status, output }));
  });
}

let node: TestNode;
let dir: string;
beforeAll(async () => {
  node = await startTestNode({ RATE_LIMIT_AUTH: '1000/1m' });
  dir = await mkdtemp(path.join(os.tmpdir(), 'parley-admin-'));
});
afterAll(async () => {
  await node?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('npm run admin -- revoke-sessions', () => {
  it('ends every session of a user, named by username or id, closing their sockets on the pods', async () => {
    const user = await registerUser(node.url);
    const second = await new ParleyHttpClient(node.url).login({ username: user.session.username, password: TEST_PASSWORD });
    const socket = await connect(node.url, user, { clientInstanceId: 'victim-tab' });
    const ended = nextEvent(socket, 'session:ended');

    const result = await admin(node.env, 'revoke-sessions', '--user', user.session.username);
    expect(result).toMatchObject({ status: 0, output: expect.stringContaining('revoked 2 session(s)') });
    expect(await ended).toEqual({ reason: 'admin' });
    await eventually(() => !socket.connected, 2000, 'the socket closed');
    await expect(new ParleyHttpClient(node.url, second.token).me()).rejects.toMatchObject({ code: 'auth_error' });

    expect(await admin(node.env, 'revoke-sessions', '--user', user.session.id)).toMatchObject({
      status: 0,
      output: expect.stringContaining('revoked 0 session(s)'),
    });
  });

  it('explains unknown users, commands and options', async () => {
    expect(await admin(node.env, 'revoke-sessions', '--user', 'nobody_here')).toMatchObject({ status: 1, output: 'no user nobody_here\n' });
    expect(await admin(node.env, 'revoke-sessions')).toMatchObject({ status: 2, output: expect.stringContaining('needs --user') });
    expect(await admin(node.env, 'make-me-admin')).toMatchObject({ status: 2, output: expect.stringContaining('usage:') });
    expect(await admin(node.env, 'revoke-sessions', '--everyone')).toMatchObject({ status: 2, output: expect.stringContaining('usage:') });
  });
});

describe('npm run admin -- set-owner', () => {
  it('transfers a community by user id or username; the old owner stays a member; audited; members hear it', async () => {
    const owner = await registerUser(node.url);
    const heir = await registerUser(node.url);
    const server = await owner.http.createServer({ name: 'succession' });
    const ownerSocket = await connect(node.url, owner);
    const updated = nextEvent(ownerSocket, 'server:updated');

    const result = await admin(node.env, 'set-owner', '--server', server.id, '--user', heir.session.username);
    expect(result).toMatchObject({ status: 0, output: expect.stringContaining(`previous owner: ${owner.session.id}`) });
    expect(await updated).toMatchObject({ id: server.id, ownerId: heir.session.id });
    const members = await node.database.db
      .selectFrom('members')
      .select(['user_id', 'active'])
      .where('server_id', '=', server.id)
      .orderBy('joined_at')
      .execute();
    expect(members).toEqual([
      { user_id: owner.session.id, active: true },
      { user_id: heir.session.id, active: true },
    ]);
    const audit = await node.database.db.selectFrom('audit_log').selectAll().where('server_id', '=', server.id).where('action', '=', 'server.set_owner').execute();
    expect(audit).toMatchObject([{ actor_id: null, target_user_id: heir.session.id, details: { previousOwnerId: owner.session.id } }]);
    expect(await node.database.db.selectFrom('servers').select('member_count').where('id', '=', server.id).executeTakeFirst()).toEqual({ member_count: 2 });

    // Back, by id: the heir stays a member.
    expect(await admin(node.env, 'set-owner', '--server', server.id, '--user', owner.session.id)).toMatchObject({ status: 0 });
    await expect(owner.http.request('GET', `/api/servers/${server.id}`)).resolves.toMatchObject({ members: 2 });
  });

  it('explains an unknown server or user, changing nothing', async () => {
    const owner = await registerUser(node.url);
    const server = await owner.http.createServer({ name: 'unchanged' });
    expect(await admin(node.env, 'set-owner', '--server', server.id, '--user', 'nobody_here')).toMatchObject({ status: 1, output: 'no user nobody_here\n' });
    expect(await admin(node.env, 'set-owner', '--server', crypto.randomUUID(), '--user', owner.session.id)).toMatchObject({
      status: 1,
      output: expect.stringContaining('no server'),
    });
    const row = await node.database.db.selectFrom('servers').select('owner_id').where('id', '=', server.id).executeTakeFirst();
    expect(row).toEqual({ owner_id: owner.session.id });
  });
});

describe('npm run admin -- import-users', () => {
  const sha256 = (password: string) => createHash('sha256').update(password).digest('hex');

  it('imports seed accounts whose old hashes sign in and are upgraded to argon2id', async () => {
    const seedId = crypto.randomUUID();
    const file = path.join(dir, 'seed.jsonl');
    await writeFile(
      file,
      [
        JSON.stringify({ id: seedId, username: 'seed_bcrypt', displayName: 'From bcrypt', passwordHash: bcrypt.hashSync('bcrypt password', 4) }),
        JSON.stringify({ username: 'seed_sha', passwordHash: sha256('legacy password') }),
        '',
      ].join('\n'),
    );
    expect(await admin(node.env, 'import-users', '--file', file)).toMatchObject({ status: 0, output: 'imported 2 user(s)\n' });

    const http = new ParleyHttpClient(node.url);
    expect(await http.login({ username: 'seed_bcrypt', password: 'bcrypt password' })).toMatchObject({ id: seedId, displayName: 'From bcrypt' });
    await http.login({ username: 'seed_sha', password: 'legacy password' });
    const hashes = await node.database.db.selectFrom('users').select('password_hash').where('username', 'in', ['seed_bcrypt', 'seed_sha']).execute();
    for (const { password_hash } of hashes) expect(password_hash).toMatch(/^\$argon2id\$/);

    expect(await admin(node.env, 'import-users', '--file', file)).toMatchObject({
      status: 0,
      output: expect.stringContaining('skipped 2 already present: seed_bcrypt, seed_sha'),
    });
  });

  it('imports nothing from a file with any bad line, and says which', async () => {
    const file = path.join(dir, 'bad.jsonl');
    await writeFile(
      file,
      [
        JSON.stringify({ username: 'good_one', passwordHash: sha256('fine') }),
        '{"username": "broken"',
        JSON.stringify({ username: 'plain_text', passwordHash: 'hunter2' }),
        JSON.stringify({ username: 'x', passwordHash: sha256('short name') }),
      ].join('\n'),
    );
    const before = await rowCounts(node.database);
    const result = await admin(node.env, 'import-users', '--file', file);
    expect(result.status).toBe(1);
    expect(result.output).toContain('line 2: not valid JSON');
    expect(result.output).toContain('line 3: passwordHash is not an argon2, bcrypt or SHA-256 hash');
    expect(result.output).toMatch(/line 4: username/);
    expect(result.output).toContain('nothing imported');
    expect(await rowCounts(node.database)).toEqual(before);
  });
});

describe('embedded mode', () => {
  it('refuses to open a data directory a running node holds', async () => {
    const dataDir = path.join(dir, 'embedded');
    const pod = await ManagedProcess.start('embedded', {
      command: process.execPath,
      args: [signalingMain],
      env: { ...bareEnv, DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1' },
      readyLine: /"msg":"listening"/,
    });
    try {
      const result = await admin({ DATA_DIR: dataDir }, 'revoke-sessions', '--user', 'anyone');
      expect(result.status).toBe(1);
      expect(result.output).toMatch(/in use by process \d+.*stop the running Parley node first/);
    } finally {
      await pod.stop('SIGTERM');
    }
    expect(await admin({ DATA_DIR: dataDir }, 'revoke-sessions', '--user', 'anyone')).toMatchObject({ status: 1, output: 'no user anyone\n' });
  });
});
