import { startS3Server, startWorker, type S3Service, type WorkerProcess } from '@parley/testkit';
import { redisUrl } from '@parley/testkit/vitest';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { addMember } from './support/communities.ts';
import { photo } from './support/images.ts';
import { s3Env, upload } from './support/media.ts';
import { TestCluster } from './support/test-cluster.ts';
import { nextEvent, registerUser } from './support/users.ts';

// The media path across real processes: three pods sharing a bucket, and a worker that makes the thumbnails.
let s3: S3Service;
let cluster: TestCluster;
let worker: WorkerProcess;

beforeAll(async () => {
  s3 = await startS3Server();
  cluster = await TestCluster.start({ ...s3Env(s3), RATE_LIMIT_AUTH: '1000/1m' });
  worker = await startWorker({
    databaseUrl: cluster.database.url,
    redisUrl: redisUrl(),
    redisKeyPrefix: cluster.cluster.redisKeyPrefix,
    env: s3Env(s3),
  });
});
afterAll(async () => {
  await worker?.stop();
  await cluster?.stop();
  await s3?.stop();
});

it('uploaded through pod A and attached on pod B, an image is made ready by the worker: pod C’s readers and the uploader’s devices hear it', async () => {
  const owner = await registerUser(cluster.url(0));
  const reader = await registerUser(cluster.url(2));
  const server = await owner.http.createServer({ name: 'across' });
  const channelId = server.channels[0]!.id;
  const database = await cluster.database.open();
  await addMember(database, server.id, reader.session.id);
  const [ownerOnB, ownerOnC, readerOnC] = await Promise.all([
    cluster.connect(1, owner),
    cluster.connect(2, owner),
    cluster.connect(2, reader),
  ]);

  // The worker is away while the file is uploaded and attached: the job waits in the queue for it.
  await worker.stop();
  const uploaded = await upload(cluster.url(0), owner, await photo(4000, 3000), { name: 'wide.jpg' });
  expect(uploaded.status).toBe(201);
  const fileId = uploaded.body.fileId;
  const arrival = nextEvent(readerOnC, 'chat:new');
  const sent = await ownerOnB.request('chat:send', { conversationId: channelId, attachments: [fileId] });
  expect((await arrival).attachments).toMatchObject([{ id: fileId, status: 'processing' }]);

  const readyOnC = nextEvent(ownerOnC, 'file:ready', 60_000);
  const attachmentOnC = nextEvent(readerOnC, 'chat:attachment', 60_000);
  await worker.restart();
  expect(await readyOnC).toMatchObject({ id: fileId, status: 'ready', width: 4000, height: 3000 });
  expect(await attachmentOnC).toMatchObject({ conversationId: channelId, messageId: sent.message.id, attachment: { id: fileId, status: 'ready' } });
  const { items } = await readerOnC.request('chat:fetch', { conversationId: channelId });
  expect(items.find((item) => item.id === sent.message.id)!.attachments).toMatchObject([{ id: fileId, status: 'ready', thumbnails: [256, 1024] }]);

  // Any pod serves it to the reader: a redirect to the bucket.
  const answer = await fetch(`${cluster.url(1)}/api/files/${fileId}?variant=1024`, {
    headers: { Authorization: `Bearer ${reader.session.token}` },
    redirect: 'manual',
  });
  expect(answer.status).toBe(302);
  const thumbnail = await fetch(answer.headers.get('location')!);
  expect(thumbnail.headers.get('content-type')).toBe('image/webp');
  expect(worker.running).toBe(true);
});
