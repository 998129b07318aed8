import { randomUUID } from 'node:crypto';
import { presignUploadRequest, type FileInfo } from '@parley/protocol';
import type { Labelled } from './hostile-values.ts';
import { TINY_PNG, UPLOAD_MAX_BYTES, type UploadSample } from './multipart-hostility.ts';
import type { Account, RestWorld } from './rest-world.ts';
import type { RouteCase, RouteSample } from './route-cases.ts';

/** `UPLOAD_QUOTA_BYTES` of the fuzz node. */
export const UPLOAD_QUOTA_BYTES = 1024 * 1024;

const TEXT = Buffer.from('bytes from the fuzzer\n');

const textUpload = (fields: Record<string, string>): UploadSample => ({ fields, file: { name: 'notes.txt', content: TEXT } });

/** A fresh user's presigned upload announcing `size` bytes, pending. */
async function pendingUpload(world: RestWorld, size = TEXT.length, purpose?: string): Promise<{ user: Account; fileId: string }> {
  const user = await world.freshUser();
  const { fileId } = await world.presign(user.token, size, purpose);
  return { user, fileId };
}

/** A presigned upload whose bytes are stored, not yet completed. */
async function storedUpload(world: RestWorld, content = TEXT, purpose?: string): Promise<{ user: Account; fileId: string }> {
  const upload = await pendingUpload(world, Math.max(1, content.length), purpose);
  await world.storeBytes(upload.fileId, content);
  return upload;
}

/** A name a cleaner has work with: a path, a bidi override, a quote and CR LF (which a browser's form sends as %22, %0D, %0A). */
const DIRTY_NAME = '../..\\evil/\u202egpj"quoted"\r\nX-Injected: 1.txt';

/** Names that a download must still offer safely, after cleaning: lookalike slashes, quotes and parameters, markup. */
const LOOKALIKE_NAMES = ['..／..／etc／passwd', '..∕..∕etc⁄passwd.txt', 'a"; filename="evil.html', '<img src=x onerror=alert(1)>.html', 'ＣＯＮ．ｔｘｔ'];

/** The owner's own files, uploaded once per world and name: what the download routes serve. */
const ownedFiles = new WeakMap<RestWorld, Map<string, Promise<FileInfo>>>();
function ownedFile(world: RestWorld, name = DIRTY_NAME): Promise<FileInfo> {
  const files = ownedFiles.get(world) ?? new Map<string, Promise<FileInfo>>();
  ownedFiles.set(world, files);
  let file = files.get(name);
  if (!file) {
    file = world.upload(world.ownerAccount.token, { name, content: TEXT });
    files.set(name, file);
  }
  return file;
}

const quotaSpent = (world: RestWorld) => world.userWithRoom(0, UPLOAD_QUOTA_BYTES);

/** Situations shared by the routes that read a stored file as the owner. */
const downloadSituations: Record<string, (world: RestWorld) => Promise<RouteSample>> = {
  'another user’s file': async (world) => {
    const file = await world.upload(world.member.token, { name: 'theirs.txt', content: TEXT });
    return { token: world.ownerAccount.token, params: { fileId: file.id } };
  },
  'a pending upload of the caller': async (world) => ({
    token: world.ownerAccount.token,
    params: { fileId: (await world.presign(world.ownerAccount.token, 10)).fileId },
  }),
  'an attachment, anonymously': async (world) => ({ params: { fileId: (await ownedFile(world)).id } }),
  'another user’s avatar, anonymously': async (world) => {
    const file = await world.upload(world.member.token, { name: 'face.png', content: TINY_PNG, purpose: 'avatar' });
    return { params: { fileId: file.id } };
  },
  'an unknown id': async (world) => ({ token: world.ownerAccount.token, params: { fileId: randomUUID() } }),
  ...Object.fromEntries(
    LOOKALIKE_NAMES.map((name) => [
      `the caller’s file named ${JSON.stringify(name)}`,
      async (world: RestWorld): Promise<RouteSample> => ({ token: world.ownerAccount.token, params: { fileId: (await ownedFile(world, name)).id } }),
    ]),
  ),
};

/** Situations shared by the routes that finish a presigned upload. */
const pendingSituations: Record<string, (world: RestWorld) => Promise<RouteSample>> = {
  'another user’s pending upload': async (world) => ({ token: (await world.freshUser()).token, params: { fileId: (await storedUpload(world)).fileId } }),
  'an upload already completed': async (world) => {
    const { user, fileId } = await storedUpload(world);
    await world.call('POST', `/api/uploads/${fileId}/complete`, undefined, user.token);
    return { token: user.token, params: { fileId } };
  },
  'a file uploaded through the pod': async (world) => {
    const user = await world.freshUser();
    return { token: user.token, params: { fileId: (await world.upload(user.token, { name: 'pod.txt', content: TEXT })).id } };
  },
  'an unknown id': async (world) => ({ token: (await world.freshUser()).token, params: { fileId: randomUUID() } }),
};

const presignBody = (overrides: Record<string, unknown>, label: string): Labelled => ({ value: { name: 'clip.mp4', size: 1000, ...overrides }, label });

/** Presign bodies beyond the generic mutations: every kind of wrong size, name and purpose. */
const presignBodies: Labelled[] = [
  ...([0, -1, 1.5, 1e308, 2 ** 53, 2 ** 53 + 2, Number.MAX_SAFE_INTEGER, UPLOAD_MAX_BYTES, UPLOAD_MAX_BYTES + 1, '1000', '1e3', null, true, [1000], {}] as unknown[]).map(
    (size) => presignBody({ size }, `size ${JSON.stringify(size)}`),
  ),
  ...(['a\u0000b.mp4', '\ud800', '\udc00.mp4', '', ' ', '.', '../../etc/passwd', '\u202egpj.exe', 'x'.repeat(255), 'x'.repeat(256), 'x'.repeat(10_000), 'a\r\nb.mp4', 123, null] as unknown[]).map(
    (name) => presignBody({ name }, `name ${JSON.stringify(name).slice(0, 40)}`),
  ),
  ...(['AVATAR', 'attachment\u0000', '\ud800', '', null, 1, ['avatar'], '__proto__', 'toString'] as unknown[]).map((purpose) =>
    presignBody({ purpose }, `purpose ${JSON.stringify(purpose)}`),
  ),
  ...(['text/html\r\nX-Injected: 1', 'x'.repeat(300), '\u0000', 42] as unknown[]).map((contentType) =>
    presignBody({ contentType }, `contentType ${JSON.stringify(contentType).slice(0, 40)}`),
  ),
  { value: { size: 1000 }, label: 'no name' },
  { value: { name: 'clip.mp4' }, label: 'no size' },
];

/** `variant` values beyond the generic hostile queries. */
const variantQueries = [
  'variant=original',
  'variant=256',
  'variant=1024',
  'variant=512',
  'variant=',
  'variant=%00',
  'variant=%ED%A0%80',
  'variant[]=256',
  'variant=256&variant=1024',
  'variant[__proto__]=1',
  'variant=toString',
  'variant=256%00',
] as const;

/** The routes of "Files and uploads" in docs/protocol.md. */
export const uploadRouteCases: Record<string, RouteCase> = {
  'POST /api/uploads': {
    storage: true,
    sample: async (world) => ({ token: (await world.freshUser()).token, upload: textUpload({ purpose: 'attachment' }) }),
    situations: {
      'a user whose quota is spent': async (world) => ({ token: (await quotaSpent(world)).token, upload: textUpload({}) }),
      'a user with 10 bytes of quota left': async (world) => ({ token: (await world.userWithRoom(10, UPLOAD_QUOTA_BYTES)).token, upload: textUpload({}) }),
    },
  },
  'POST /api/uploads/presign': {
    storage: true,
    bodySchema: presignUploadRequest,
    sample: async (world) => ({
      token: (await world.freshUser()).token,
      body: { name: 'clip.mp4', size: 4096, purpose: 'attachment', contentType: 'video/mp4' },
    }),
    bodies: presignBodies,
    situations: {
      'a user whose quota is spent': async (world) => ({ token: (await quotaSpent(world)).token, body: { name: 'x.bin', size: 1 } }),
      'a user with 100 bytes of quota left': async (world) => ({ token: (await world.userWithRoom(100, UPLOAD_QUOTA_BYTES)).token, body: { name: 'x.bin', size: 101 } }),
    },
  },
  'POST /api/uploads/:fileId/complete': {
    storage: true,
    refusalRemovesTarget: true,
    sample: async (world) => {
      const { user, fileId } = await storedUpload(world);
      return { token: user.token, params: { fileId } };
    },
    situations: {
      ...pendingSituations,
      'nothing uploaded yet': async (world) => {
        const { user, fileId } = await pendingUpload(world);
        return { token: user.token, params: { fileId } };
      },
      'more bytes stored than announced': async (world) => {
        const { user, fileId } = await pendingUpload(world);
        await world.storeBytes(fileId, Buffer.concat([TEXT, TEXT]));
        return { token: user.token, params: { fileId } };
      },
      'an empty object': async (world) => {
        const { user, fileId } = await pendingUpload(world);
        await world.storeBytes(fileId, Buffer.alloc(0));
        return { token: user.token, params: { fileId } };
      },
      'an avatar that is text': async (world) => {
        const { user, fileId } = await storedUpload(world, TEXT, 'avatar');
        return { token: user.token, params: { fileId } };
      },
      'an icon that is a PNG': async (world) => {
        const { user, fileId } = await storedUpload(world, TINY_PNG, 'icon');
        return { token: user.token, params: { fileId } };
      },
    },
  },
  'POST /api/uploads/:fileId': {
    storage: true,
    refusalRemovesTarget: true,
    sample: async (world) => {
      const { user, fileId } = await pendingUpload(world);
      return { token: user.token, params: { fileId }, upload: textUpload({}) };
    },
    situations: {
      ...Object.fromEntries(
        Object.entries(pendingSituations).map(([name, situation]) => [name, async (world: RestWorld) => ({ ...(await situation(world)), upload: textUpload({}) })]),
      ),
      'fewer bytes announced than sent': async (world) => {
        const { user, fileId } = await pendingUpload(world, 5);
        return { token: user.token, params: { fileId }, upload: textUpload({}) };
      },
      'an announced avatar, text sent': async (world) => {
        const { user, fileId } = await pendingUpload(world, TEXT.length, 'avatar');
        return { token: user.token, params: { fileId }, upload: textUpload({}) };
      },
      'bytes already stored': async (world) => {
        const { user, fileId } = await storedUpload(world);
        return { token: user.token, params: { fileId }, upload: textUpload({}) };
      },
    },
  },
  'GET /api/files/:fileId': {
    storage: true,
    download: true,
    sample: async (world) => ({ token: world.ownerAccount.token, params: { fileId: (await ownedFile(world)).id } }),
    queries: variantQueries,
    situations: downloadSituations,
  },
  'GET /api/files/:fileId/info': {
    storage: true,
    sample: async (world) => ({ token: world.ownerAccount.token, params: { fileId: (await ownedFile(world)).id } }),
    situations: downloadSituations,
  },
};
