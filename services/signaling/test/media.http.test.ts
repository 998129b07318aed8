import net from 'node:net';
import type { ParleySocket } from '@parley/client';
import type { FileInfo, Member, PresignedUpload, Server, UserProfile } from '@parley/protocol';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMember } from './support/communities.ts';
import { MediaWorld, postPresigned, upload, zeros } from './support/media.ts';
import { noiseBytes, photo, pngDeclaring, truncated } from './support/images.ts';
import { eventually, nextEvent, OpenSockets, registerUser, type TestUser } from './support/users.ts';

// The media path on a node with a real S3 API server and a real job runner (sharp): uploads,
// thumbnails, who may read what, limits, and hostile files.
const MAX_UPLOAD = 2 * 1024 * 1024;
const QUOTA = 6 * 1024 * 1024;

let world: MediaWorld;
const sockets = new OpenSockets();
let jpeg: Buffer;

beforeAll(async () => {
  world = await MediaWorld.start({ UPLOAD_MAX_BYTES: String(MAX_UPLOAD), UPLOAD_QUOTA_BYTES: String(QUOTA) });
  jpeg = await photo(800, 600);
});
afterAll(async () => {
  sockets.closeAll();
  await world.stop();
});

const api = (path: string, user?: TestUser, init: RequestInit = {}) =>
  fetch(`${world.url}${path}`, {
    ...init,
    redirect: 'manual',
    headers: { ...(user ? { Authorization: `Bearer ${user.session.token}` } : {}), ...(init.headers as Record<string, string>) },
  });

/** Follows a download to its bytes: the node's 302 to a presigned URL of the store. */
async function download(fileId: string, user?: TestUser, variant?: string) {
  const answer = await api(`/api/files/${fileId}${variant ? `?variant=${variant}` : ''}`, user);
  if (answer.status !== 302) return { status: answer.status, body: await answer.text(), headers: answer.headers };
  const stored = await fetch(answer.headers.get('location')!);
  return { status: stored.status, bytes: Buffer.from(await stored.arrayBuffer()), headers: stored.headers };
}

/** Uploads an image as `user` and waits for it to be processed (`file:ready` on one of the user's sockets). */
async function readyImage(user: TestUser, purpose?: string): Promise<FileInfo> {
  const socket = await sockets.connect(world.url, user);
  const ready = nextEvent(socket, 'file:ready', 30_000);
  const uploaded = await upload(world.url, user, jpeg, { name: 'photo.jpg', purpose });
  expect(uploaded.status).toBe(201);
  const file = await ready;
  expect(file.id).toBe(uploaded.body.fileId);
  return file;
}

/** The file rows and stored objects, to prove a refusal wrote nothing. */
async function storage() {
  const rows = await world.node.database.db.selectFrom('files').select('id').orderBy('id').execute();
  return { rows: rows.map((row) => row.id), objects: await world.objectKeys() };
}

describe('uploads', () => {
  it('stores an image (the seed’s shape), makes its thumbnails, and tells the uploader’s devices', async () => {
    const user = await registerUser(world.url);
    const socket = await sockets.connect(world.url, user);
    const ready = nextEvent(socket, 'file:ready', 30_000);
    const uploaded = await upload(world.url, user, jpeg, { name: 'holiday.jpg' });
    expect(uploaded.status).toBe(201);
    const { fileId } = uploaded.body;
    expect(uploaded.body).toMatchObject({
      key: `files/${fileId}`,
      thumbnailKey: `thumbs/${fileId}/1024.webp`,
      file: { id: fileId, name: 'holiday.jpg', size: jpeg.length, contentType: 'image/jpeg', status: 'processing', thumbnails: [] },
    });
    expect(await ready).toMatchObject({ id: fileId, status: 'ready', width: 800, height: 600, thumbnails: [256, 1024] });
    expect((await ready).placeholder).toMatch(/^[A-Za-z0-9+/=]{10,}$/);

    const original = await download(fileId, user);
    expect(original.status).toBe(200);
    expect(original.bytes!.equals(jpeg)).toBe(true);
    expect(original.headers.get('content-type')).toBe('image/jpeg');
    expect(original.headers.get('content-disposition')).toMatch(/^inline; filename="holiday.jpg"/);
    const small = await download(fileId, user, '256');
    expect(small.headers.get('content-type')).toBe('image/webp');
    expect(await sharp(small.bytes).metadata()).toMatchObject({ format: 'webp', width: 256, height: 192 });
    const info = await api(`/api/files/${fileId}/info`, user);
    expect(await info.json()).toMatchObject({ id: fileId, status: 'ready', width: 800 });
  });

  it('stores a file that is not an image as it is, typed by its bytes, served only as a download', async () => {
    const user = await registerUser(world.url);
    const pdf = Buffer.concat([Buffer.from('%PDF-1.7\n'), noiseBytes(2000)]);
    const uploaded = await upload(world.url, user, pdf, { name: 'report.png' });
    expect(uploaded.body).toMatchObject({ thumbnailKey: null, file: { contentType: 'application/pdf', status: 'ready', name: 'report.png' } });
    const fetched = await download(uploaded.body.fileId, user);
    expect(fetched.headers.get('content-type')).toBe('application/pdf');
    expect(fetched.headers.get('content-disposition')).toMatch(/^attachment;/);
    expect((await download(uploaded.body.fileId, user, '256')).status).toBe(404);
  });

  it('streams a body past UPLOAD_MAX_BYTES without Content-Length, cuts it, and keeps nothing', async () => {
    const user = await registerUser(world.url);
    const before = await storage();
    const refused = await upload(world.url, user, zeros(MAX_UPLOAD + 512 * 1024));
    expect(refused).toMatchObject({ status: 413, body: { error: { code: 'payload_too_large' } } });
    expect(await storage()).toEqual(before);
  });

  it('refuses an upload past the user’s quota, and an empty file, keeping nothing', async () => {
    const user = await registerUser(world.url);
    const big = noiseBytes(MAX_UPLOAD - 1000);
    for (let i = 0; i < 3; i++) expect((await upload(world.url, user, big)).status).toBe(201);
    const before = await storage();
    expect(await upload(world.url, user, big)).toMatchObject({ status: 413, body: { error: { code: 'quota_exceeded' } } });
    expect(await upload(world.url, await registerUser(world.url), Buffer.alloc(0))).toMatchObject({
      status: 400,
      body: { error: { code: 'invalid_payload' } },
    });
    expect(await storage()).toEqual(before);
  });

  it('refuses a form that ends without its closing delimiter, and serves on', async () => {
    const user = await registerUser(world.url);
    const before = await storage();
    const body = '--B\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\nhello\r\n';
    const answer = await api('/api/uploads', user, { method: 'POST', body, headers: { 'Content-Type': 'multipart/form-data; boundary=B' } });
    expect(answer.status).toBe(400);
    expect(await answer.json()).toMatchObject({ error: { code: 'invalid_payload' } });
    expect(await storage()).toEqual(before);
    expect((await upload(world.url, user, noiseBytes(100))).status).toBe(201);
  });

  it('ends an upload the client abandons half-way, keeping nothing', async () => {
    const user = await registerUser(world.url);
    const before = await storage();
    const refusals = async () => Number(/parley_upload_refusals_total\{code="invalid_payload"\} (\d+)/.exec(await (await fetch(`${world.url}/metrics`)).text())?.[1] ?? 0);
    const counted = await refusals();
    const socket = net.connect(new URL(world.url).port ? Number(new URL(world.url).port) : 80, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(
      `POST /api/uploads HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${user.session.token}\r\n` +
        'Content-Type: multipart/form-data; boundary=B\r\nContent-Length: 100000\r\n\r\n' +
        '--B\r\nContent-Disposition: form-data; name="file"; filename="a.bin"\r\n\r\n' +
        'x'.repeat(5000),
    );
    await eventually(async () => (await storage()).objects.length >= before.objects.length, 5000, 'the upload started');
    socket.destroy();
    await eventually(async () => (await refusals()) > counted, 10_000, 'the abandoned upload ended');
    expect(await storage()).toEqual(before);
  });

  it('refuses anonymous uploads and bodies that are not multipart', async () => {
    expect((await upload(world.url, undefined, jpeg)).status).toBe(401);
    const user = await registerUser(world.url);
    const notMultipart = await api('/api/uploads', user, { method: 'POST', body: '{}', headers: { 'Content-Type': 'application/json' } });
    expect(notMultipart.status).toBe(400);
    expect(await notMultipart.json()).toMatchObject({ error: { code: 'invalid_payload' } });
  });
});

describe('direct uploads (presigned)', () => {
  it('uploads straight to the store, then completes: the file is processed like any other', async () => {
    const user = await registerUser(world.url);
    const socket = await sockets.connect(world.url, user);
    const presign = await api('/api/uploads/presign', user, {
      method: 'POST',
      body: JSON.stringify({ name: 'direct.jpg', size: jpeg.length }),
      headers: { 'Content-Type': 'application/json' },
    });
    expect(presign.status).toBe(201);
    const presigned = (await presign.json()) as PresignedUpload;
    expect(presigned.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\//);
    const early = await api(`/api/uploads/${presigned.fileId}/complete`, user, { method: 'POST' });
    expect(early.status).toBe(409);
    expect(await postPresigned(presigned, jpeg, world.url)).toBeLessThan(300);
    const ready = nextEvent(socket, 'file:ready', 30_000);
    const completed = await api(`/api/uploads/${presigned.fileId}/complete`, user, { method: 'POST' });
    expect(await completed.json()).toMatchObject({ id: presigned.fileId, contentType: 'image/jpeg', status: 'processing', size: jpeg.length });
    expect((await ready).width).toBe(800);
  });

  it('removes an upload that overshot the size it announced, row and object', async () => {
    const user = await registerUser(world.url);
    const before = await storage();
    const presign = await api('/api/uploads/presign', user, {
      method: 'POST',
      body: JSON.stringify({ name: 'small.bin', size: 1000 }),
      headers: { 'Content-Type': 'application/json' },
    });
    const presigned = (await presign.json()) as PresignedUpload;
    await postPresigned(presigned, noiseBytes(5000), world.url);
    const completed = await api(`/api/uploads/${presigned.fileId}/complete`, user, { method: 'POST' });
    expect(completed.status).toBe(413);
    expect(await storage()).toEqual(before);
  });

  it('lets only the uploader complete, and refuses announcing more than UPLOAD_MAX_BYTES', async () => {
    const user = await registerUser(world.url);
    const other = await registerUser(world.url);
    const json = { 'Content-Type': 'application/json' };
    const presign = await api('/api/uploads/presign', user, { method: 'POST', body: JSON.stringify({ name: 'a', size: 10 }), headers: json });
    const presigned = (await presign.json()) as PresignedUpload;
    expect((await api(`/api/uploads/${presigned.fileId}/complete`, other, { method: 'POST' })).status).toBe(404);
    const tooBig = await api('/api/uploads/presign', user, { method: 'POST', body: JSON.stringify({ name: 'b', size: MAX_UPLOAD + 1 }), headers: json });
    expect(tooBig.status).toBe(413);
  });
});

describe('who may read a file', () => {
  let owner: TestUser;
  let member: TestUser;
  let outsider: TestUser;
  let banned: TestUser;
  let server: { id: string; channelId: string };
  let ownerSocket: ParleySocket;
  let attached: FileInfo;

  beforeAll(async () => {
    [owner, member, outsider, banned] = (await Promise.all([1, 2, 3, 4].map(() => registerUser(world.url)))) as [TestUser, TestUser, TestUser, TestUser];
    const created = await owner.http.createServer({ name: 'files' });
    server = { id: created.id, channelId: created.channels[0]!.id };
    for (const user of [member, banned]) await addMember(world.node.database, server.id, user.session.id);
    ownerSocket = await sockets.connect(world.url, owner);
    attached = await readyImage(owner);
    await ownerSocket.request('chat:send', { conversationId: server.channelId, text: 'look', attachments: [attached.id] });
    const ban = await api(`/api/servers/${server.id}/bans`, owner, {
      method: 'POST',
      body: JSON.stringify({ userId: banned.session.id }),
      headers: { 'Content-Type': 'application/json' },
    });
    expect(ban.status).toBe(201);
  });

  it('an attachment: its owner and the channel’s readers; not an outsider, a banned member or an anonymous caller', async () => {
    expect((await download(attached.id, owner)).status).toBe(200);
    expect((await download(attached.id, member)).status).toBe(200);
    expect((await download(attached.id, member, '1024')).status).toBe(200);
    for (const caller of [outsider, banned, undefined]) {
      const refused = await download(attached.id, caller);
      expect(refused.status).toBe(404);
      expect(JSON.parse(refused.body!)).toMatchObject({ error: { code: 'file_not_found' } });
      expect((await api(`/api/files/${attached.id}/info`, caller)).status).toBe(404);
    }
    expect((await download(crypto.randomUUID(), owner)).status).toBe(404);
  });

  it('an unattached upload: its owner only', async () => {
    const file = await readyImage(owner);
    expect((await download(file.id, owner)).status).toBe(200);
    expect((await download(file.id, member)).status).toBe(404);
  });

  it('messages carry their attachments, and the channel hears when one still processing is ready', async () => {
    const memberSocket = await sockets.connect(world.url, member);
    // Held until the message is sent: the attachment is still processing when it goes out.
    await world.stopJobs();
    const uploaded = await upload(world.url, owner, await photo(640, 480), { name: 'later.jpg' });
    const arrival = nextEvent(memberSocket, 'chat:new');
    const update = nextEvent(memberSocket, 'chat:attachment', 30_000);
    const { message } = await ownerSocket.request('chat:send', { conversationId: server.channelId, attachments: [uploaded.body.fileId] });
    expect((await arrival).attachments).toMatchObject([{ id: uploaded.body.fileId, name: 'later.jpg', contentType: 'image/jpeg', status: 'processing' }]);
    await world.startJobs();
    expect(await update).toMatchObject({
      conversationId: server.channelId,
      messageId: message.id,
      attachment: { id: uploaded.body.fileId, status: 'ready', width: 640, height: 480 },
    });
    const { items } = await memberSocket.request('chat:fetch', { conversationId: server.channelId });
    expect(items.at(-1)!.attachments).toMatchObject([{ id: uploaded.body.fileId, status: 'ready', thumbnails: [256, 1024] }]);
  });

  it('an avatar: anyone, once set; only an image uploaded as an avatar may be one', async () => {
    const avatar = await readyImage(member, 'avatar');
    const patch = (body: unknown) =>
      api('/api/users/me', member, { method: 'PATCH', body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } });
    expect((await patch({ avatarFileId: attached.id })).status).toBe(400);
    const profile = (await (await patch({ avatarFileId: avatar.id })).json()) as UserProfile;
    expect(profile.avatarFileId).toBe(avatar.id);
    expect((await download(avatar.id)).status).toBe(200);
    const members = (await (await api(`/api/servers/${server.id}/members`, owner)).json()) as { items: Member[] };
    expect(members.items.find((listed) => listed.userId === member.session.id)?.avatarFileId).toBe(avatar.id);
    const notAnImage = await upload(world.url, member, noiseBytes(3000), { purpose: 'avatar' });
    expect(notAnImage).toMatchObject({ status: 400, body: { error: { code: 'invalid_file' } } });
  });

  it('a community icon: anyone when the community is discoverable, else its members', async () => {
    const icon = await readyImage(owner, 'icon');
    const put = (body: unknown) =>
      api(`/api/servers/${server.id}`, owner, { method: 'PUT', body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } });
    const updated = (await (await put({ iconFileId: icon.id })).json()) as Server;
    expect(updated).toMatchObject({ iconFileId: icon.id, iconUrl: `/api/files/${icon.id}` });
    expect((await download(icon.id, member)).status).toBe(200);
    expect((await download(icon.id)).status).toBe(404);
    await put({ discoverable: true });
    expect((await download(icon.id)).status).toBe(200);
  });
});

describe('hostile files', () => {
  let user: TestUser;
  let socket: ParleySocket;
  beforeAll(async () => {
    user = await registerUser(world.url);
    socket = await sockets.connect(world.url, user);
  });

  /** Uploads `data` and waits for how its processing ends. */
  async function processed(data: Buffer, name = 'x.png'): Promise<FileInfo> {
    const done = new Promise<FileInfo>((resolve) => {
      const offReady = socket.on('file:ready', (file) => file.id === id && (offReady(), offFailed(), resolve(file)));
      const offFailed = socket.on('file:failed', (file) => file.id === id && (offReady(), offFailed(), resolve(file)));
    });
    const uploaded = await upload(world.url, user, data, { name });
    expect(uploaded.status).toBe(201);
    const id = uploaded.body.fileId;
    return uploaded.body.file.status === 'processing' ? done : uploaded.body.file;
  }

  it('a decompression bomb (a tiny PNG declaring 50,000 × 50,000) fails as too_many_pixels, and the worker carries on', async () => {
    expect(await processed(pngDeclaring(50_000, 50_000))).toMatchObject({ status: 'failed', failureReason: 'too_many_pixels', thumbnails: [] });
    expect(await processed(jpeg, 'next.jpg')).toMatchObject({ status: 'ready' });
  });

  it('a truncated JPEG fails as corrupt_image; an executable named .png and a script SVG are plain downloads', async () => {
    expect(await processed(truncated(jpeg), 'cut.jpg')).toMatchObject({ status: 'failed', failureReason: 'corrupt_image' });
    const elf = Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]), noiseBytes(500)]);
    expect(await processed(elf, 'cat.png')).toMatchObject({ status: 'ready', contentType: 'application/octet-stream', thumbnails: [] });
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>');
    const stored = await processed(svg, 'logo.svg');
    expect(stored).toMatchObject({ contentType: 'application/octet-stream', thumbnails: [] });
    expect((await download(stored.id, user)).headers.get('content-disposition')).toMatch(/^attachment;/);
  });

  it('a JPEG that is also HTML is a JPEG: served as image/jpeg, never as a page', async () => {
    const polyglot = Buffer.concat([jpeg, Buffer.from('<html><script>alert(1)</script></html>')]);
    const stored = await processed(polyglot, 'page.html');
    expect(stored).toMatchObject({ contentType: 'image/jpeg', status: 'ready' });
    expect((await download(stored.id, user)).headers.get('content-type')).toBe('image/jpeg');
  });

  it('a name with path parts and a bidi override is cleaned; the key comes from the id', async () => {
    const uploaded = await upload(world.url, user, noiseBytes(100), { name: '../../etc/passwd\u202Egnp.exe' });
    expect(uploaded.body.key).toBe(`files/${uploaded.body.fileId}`);
    expect(uploaded.body.file.name).toBe('passwdgnp.exe');
  });
});

describe('the sweep', () => {
  it('removes files nothing uses once they are old enough, rows and objects; keeps attached ones and avatars', async () => {
    const user = await registerUser(world.url);
    const created = await user.http.createServer({ name: 'sweep' });
    const socket = await sockets.connect(world.url, user);
    const unused = await upload(world.url, user, noiseBytes(100));
    const kept = await upload(world.url, user, noiseBytes(100));
    await socket.request('chat:send', { conversationId: created.channels[0]!.id, attachments: [kept.body.fileId] });
    const avatar = await readyImage(user, 'avatar');
    await api('/api/users/me', user, { method: 'PATCH', body: JSON.stringify({ avatarFileId: avatar.id }), headers: { 'Content-Type': 'application/json' } });

    const tomorrow = { now: () => new Date(Date.now() + 2 * 86_400_000) };
    await world.handlersAt(tomorrow)['sweep-files']({}, { finalAttempt: false });
    const ids = new Set((await world.node.database.db.selectFrom('files').select('id').execute()).map((row) => row.id));
    expect(ids.has(unused.body.fileId)).toBe(false);
    expect(ids.has(kept.body.fileId)).toBe(true);
    expect(ids.has(avatar.id)).toBe(true);
    const objects = await world.objectKeys();
    expect(objects).not.toContain(`files/${unused.body.fileId}`);
    expect(objects).toContain(`files/${kept.body.fileId}`);
    expect(objects).toContain(`thumbs/${avatar.id}/256.webp`);
  });
});
