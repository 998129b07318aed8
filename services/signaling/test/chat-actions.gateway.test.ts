import type { ParleySocket } from '@parley/client';
import type { ChatMessage } from '@parley/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMember } from './support/communities.ts';
import { rowCounts, startTestNode, type TestNode } from './support/test-node.ts';
import { connect, nextEvent, OpenSockets, registerUser, type TestUser } from './support/users.ts';

let node: TestNode;
const sockets = new OpenSockets();

beforeAll(async () => {
  node = await startTestNode({
    RATE_LIMIT_AUTH: '1000/1m',
    RATE_LIMIT_CHAT_SEND: '1000/10s',
    RATE_LIMIT_CHAT_FETCH: '1000/10s',
    RATE_LIMIT_CHAT_EDIT: '1000/1m',
    RATE_LIMIT_CHAT_DELETE: '1000/1m',
    RATE_LIMIT_CHAT_REACT: '1000/1m',
    RATE_LIMIT_CHAT_RESUME: '1000/10s',
  });
});
afterAll(async () => {
  sockets.closeAll();
  await node.stop();
});

function online(user: TestUser, clientInstanceId?: string): Promise<ParleySocket> {
  return sockets.connect(node.url, user, clientInstanceId);
}

/** An owner and a member of a fresh community, both online, and its text channel. */
async function room() {
  const owner = await registerUser(node.url);
  const member = await registerUser(node.url);
  const server = await owner.http.createServer({ name: 'chat' });
  await addMember(node.database, server.id, member.session.id);
  const channelId = server.channels[0]!.id;
  return { owner, member, server, channelId, ownerSocket: await online(owner), memberSocket: await online(member) };
}

async function uploadedFile(ownerId: string): Promise<string> {
  const row = await node.database.db.insertInto('files').values({ owner_id: ownerId }).returning('id').executeTakeFirstOrThrow();
  return row.id;
}

describe('chat:send with replies and attachments', () => {
  it('replies within the channel and attaches the sender’s own files, in order', async () => {
    const { ownerSocket, memberSocket, channelId, owner } = await room();
    const { message: first } = await ownerSocket.request('chat:send', { conversationId: channelId, text: 'first' });
    const files = [await uploadedFile(owner.session.id), await uploadedFile(owner.session.id)];
    const arrival = nextEvent(memberSocket, 'chat:new');
    const { message } = await ownerSocket.request('chat:send', {
      conversationId: channelId,
      attachments: files,
      replyToMessageId: first.id,
    });
    expect(message).toMatchObject({ seq: 2, text: '', replyToMessageId: first.id, reactions: [], deleted: false });
    expect(message.attachments.map((file) => file.id)).toEqual(files);
    expect(await arrival).toEqual(message);
    const { items } = await memberSocket.request('chat:fetch', { conversationId: channelId });
    expect(items.map((item) => item.attachments.map((file) => file.id))).toEqual([[], files]);
    expect(items[1]!.attachments).toEqual(message.attachments);
  });

  it('refuses a reply into another channel, another’s file, and an unknown file; nothing is written', async () => {
    const { ownerSocket, memberSocket, channelId, member } = await room();
    const elsewhere = await room();
    const { message: foreign } = await elsewhere.ownerSocket.request('chat:send', { conversationId: elsewhere.channelId, text: 'x' });
    const notMine = await uploadedFile(member.session.id);
    const before = await rowCounts(node.database);
    await expect(ownerSocket.request('chat:send', { conversationId: channelId, text: 'r', replyToMessageId: foreign.id })).rejects.toMatchObject({
      code: 'invalid_reply',
    });
    await expect(ownerSocket.request('chat:send', { conversationId: channelId, attachments: [notMine] })).rejects.toMatchObject({
      code: 'invalid_attachment',
    });
    await expect(ownerSocket.request('chat:send', { conversationId: channelId, attachments: [crypto.randomUUID()] })).rejects.toMatchObject({
      code: 'invalid_attachment',
    });
    await expect(memberSocket.request('chat:send', { conversationId: channelId } as never)).rejects.toMatchObject({ code: 'invalid_payload' });
    expect(await rowCounts(node.database)).toEqual(before);
    const channel = await node.database.db.selectFrom('channels').select('last_seq').where('id', '=', channelId).executeTakeFirstOrThrow();
    expect(channel.last_seq).toBe(0);
  });
});

describe('chat:edit', () => {
  it('edits one’s own message, records editedAt and tells the channel', async () => {
    const { ownerSocket, memberSocket, channelId } = await room();
    const { message } = await memberSocket.request('chat:send', { conversationId: channelId, text: 'helo' });
    const edited = nextEvent(ownerSocket, 'chat:edited');
    const result = await memberSocket.request('chat:edit', { conversationId: channelId, messageId: message.id, text: 'hello' });
    expect(result.message).toMatchObject({ id: message.id, seq: message.seq, text: 'hello', editedAt: expect.any(String) });
    expect(await edited).toMatchObject({ id: message.id, text: 'hello' });
  });

  it('refuses another’s message, an unknown or deleted one, and one of another channel', async () => {
    const { ownerSocket, memberSocket, channelId } = await room();
    const elsewhere = await room();
    const { message } = await ownerSocket.request('chat:send', { conversationId: channelId, text: 'mine' });
    const { message: gone } = await memberSocket.request('chat:send', { conversationId: channelId, text: 'gone' });
    await memberSocket.request('chat:delete', { conversationId: channelId, messageId: gone.id });
    const edit = (conversationId: string, messageId: string) => memberSocket.request('chat:edit', { conversationId, messageId, text: 'x' });
    await expect(edit(channelId, message.id)).rejects.toMatchObject({ code: 'forbidden' });
    await expect(edit(channelId, crypto.randomUUID())).rejects.toMatchObject({ code: 'message_not_found' });
    await expect(edit(channelId, gone.id)).rejects.toMatchObject({ code: 'message_not_found' });
    await expect(edit(elsewhere.channelId, message.id)).rejects.toMatchObject({ code: 'not_a_member' });
    const row = await node.database.db.selectFrom('messages').select(['text', 'edited_at']).where('id', '=', message.id).executeTakeFirstOrThrow();
    expect(row).toEqual({ text: 'mine', edited_at: null });
  });
});

describe('chat:delete', () => {
  it('deletes one’s own message; a moderator deletes anyone’s; a member cannot delete another’s', async () => {
    const { owner, ownerSocket, memberSocket, channelId, server } = await room();
    const moderator = await registerUser(node.url);
    await addMember(node.database, server.id, moderator.session.id, { roles: ['moderator'] });
    const moderatorSocket = await online(moderator);
    const { message: mine } = await memberSocket.request('chat:send', { conversationId: channelId, text: 'oops' });
    const { message: owners } = await ownerSocket.request('chat:send', { conversationId: channelId, text: 'keep' });

    await expect(memberSocket.request('chat:delete', { conversationId: channelId, messageId: owners.id })).rejects.toMatchObject({
      code: 'forbidden',
    });
    const heard = nextEvent(ownerSocket, 'chat:deleted');
    await memberSocket.request('chat:delete', { conversationId: channelId, messageId: mine.id });
    expect(await heard).toEqual({ conversationId: channelId, messageId: mine.id, seq: mine.seq });
    await moderatorSocket.request('chat:delete', { conversationId: channelId, messageId: owners.id });
    await expect(memberSocket.request('chat:delete', { conversationId: channelId, messageId: mine.id })).rejects.toMatchObject({
      code: 'message_not_found',
    });
    expect((await memberSocket.request('chat:fetch', { conversationId: channelId })).items).toEqual([]);
    expect(owner.session.id).toBeTruthy();
  });
});

describe('chat:react', () => {
  it('toggles a reaction, counts per emoji and marks the viewer’s own', async () => {
    const { ownerSocket, memberSocket, channelId, member } = await room();
    const { message } = await ownerSocket.request('chat:send', { conversationId: channelId, text: 'vote' });
    const heard = nextEvent(ownerSocket, 'chat:reaction');
    expect(await memberSocket.request('chat:react', { conversationId: channelId, messageId: message.id, emoji: '👍' })).toMatchObject({
      added: true,
      count: 1,
      userId: member.session.id,
    });
    expect(await heard).toMatchObject({ messageId: message.id, emoji: '👍', added: true, count: 1 });
    await ownerSocket.request('chat:react', { conversationId: channelId, messageId: message.id, emoji: '👍' });
    await ownerSocket.request('chat:react', { conversationId: channelId, messageId: message.id, emoji: ':party:' });
    const seen = async (socket: ParleySocket) => (await socket.request('chat:fetch', { conversationId: channelId })).items[0]!.reactions;
    expect(await seen(memberSocket)).toEqual([
      { emoji: '👍', count: 2, me: true },
      { emoji: ':party:', count: 1, me: false },
    ]);
    expect(await memberSocket.request('chat:react', { conversationId: channelId, messageId: message.id, emoji: '👍' })).toMatchObject({
      added: false,
      count: 1,
    });
    expect(await seen(memberSocket)).toEqual([
      { emoji: '👍', count: 1, me: false },
      { emoji: ':party:', count: 1, me: false },
    ]);
  });

  it('allows at most 20 different emoji on a message; refuses a bad emoji', async () => {
    const { ownerSocket, channelId } = await room();
    const { message } = await ownerSocket.request('chat:send', { conversationId: channelId, text: 'lots' });
    for (let i = 0; i < 20; i++) await ownerSocket.request('chat:react', { conversationId: channelId, messageId: message.id, emoji: `:e${i}:` });
    await expect(ownerSocket.request('chat:react', { conversationId: channelId, messageId: message.id, emoji: ':e20:' })).rejects.toMatchObject({
      code: 'limit_reached',
    });
    await expect(ownerSocket.request('chat:react', { conversationId: channelId, messageId: message.id, emoji: 'not one' })).rejects.toMatchObject({
      code: 'invalid_payload',
    });
    const rows = await node.database.db.selectFrom('message_reactions').select('emoji').where('message_id', '=', message.id).execute();
    expect(rows).toHaveLength(20);
  });
});

describe('chat:typing', () => {
  it('shows the typist to the channel, not to their own devices, with an expiry', async () => {
    const { ownerSocket, memberSocket, channelId, member } = await room();
    const otherDevice = await online(member, 'other-device');
    const seenByOwnDevice: unknown[] = [];
    otherDevice.on('chat:typing', (event) => seenByOwnDevice.push(event));
    const heard = nextEvent(ownerSocket, 'chat:typing');
    await memberSocket.request('chat:typing', { conversationId: channelId });
    expect(await heard).toEqual({ conversationId: channelId, userId: member.session.id, displayName: member.session.username, expiresInMs: 6000 });
    await otherDevice.request('chat:fetch', { conversationId: channelId });
    expect(seenByOwnDevice).toEqual([]);
  });

  it('is refused where one may not send, and rate limited', async () => {
    const limited = await startTestNode({ RATE_LIMIT_CHAT_TYPING: '2/10s' });
    try {
      const owner = await registerUser(limited.url);
      const server = await owner.http.createServer({ name: 'typing' });
      const socket = await connect(limited.url, owner);
      sockets.track(socket);
      const channelId = server.channels[0]!.id;
      await socket.request('chat:typing', { conversationId: channelId });
      await socket.request('chat:typing', { conversationId: channelId });
      await expect(socket.request('chat:typing', { conversationId: channelId })).rejects.toMatchObject({ code: 'rate_limited' });
      const outsider = await connect(node.url, await registerUser(node.url));
      sockets.track(outsider);
      const { channelId: other } = await room();
      await expect(outsider.request('chat:typing', { conversationId: other })).rejects.toMatchObject({ code: 'not_a_member' });
    } finally {
      await limited.stop();
    }
  });
});

describe('chat:fetch after a seq, and GET /api/messages', () => {
  it('pages forward from a seq, oldest first, with hasMore', async () => {
    const { ownerSocket, channelId, owner } = await room();
    for (let i = 1; i <= 5; i++) await ownerSocket.request('chat:send', { conversationId: channelId, text: `m${i}` });
    const page = await ownerSocket.request('chat:fetch', { conversationId: channelId, after: 1, limit: 2 });
    expect(page.items.map((item) => item.seq)).toEqual([2, 3]);
    expect(page.hasMore).toBe(true);
    const rest = await owner.http.fetchMessages(channelId, { limit: 10 });
    expect(rest.items.map((item) => item.text)).toEqual(['m1', 'm2', 'm3', 'm4', 'm5']);
    const after = await owner.http.request<{ items: ChatMessage[]; hasMore: boolean }>('GET', `/api/messages/${channelId}?after=3`);
    expect(after).toMatchObject({ hasMore: false, items: [{ seq: 4 }, { seq: 5 }] });
    await expect(owner.http.request('GET', `/api/messages/${channelId}?after=3&before=5`)).rejects.toMatchObject({ code: 'invalid_payload' });
  });
});

describe('chat:resume', () => {
  it('replays what each channel missed in seq order, deleted messages as tombstones, and says when it is too much', async () => {
    const { ownerSocket, memberSocket, channelId, server, owner } = await room();
    const second = await owner.http.request<{ id: string }>('POST', `/api/servers/${server.id}/channels`, { name: 'second', type: 'text' });
    for (let i = 1; i <= 4; i++) await ownerSocket.request('chat:send', { conversationId: channelId, text: `m${i}` });
    const { message: third } = await ownerSocket.request('chat:send', { conversationId: second.id, text: 'other' });
    await ownerSocket.request('chat:delete', { conversationId: channelId, messageId: (await memberSocket.request('chat:fetch', { conversationId: channelId })).items[2]!.id });

    const elsewhere = await room();
    const result = await memberSocket.request('chat:resume', {
      channels: { [channelId]: 1, [second.id]: 0, [elsewhere.channelId]: 0, [crypto.randomUUID()]: 0 },
    });
    const [first, other, foreign, unknown] = result.channels;
    expect(first).toMatchObject({ conversationId: channelId, lastSeq: 4, resyncRequired: false });
    expect(first!.items.map((item) => [item.seq, item.text, item.deleted])).toEqual([
      [2, 'm2', false],
      [3, '', true],
      [4, 'm4', false],
    ]);
    expect(other).toMatchObject({ lastSeq: 1, items: [{ id: third.id }] });
    expect(foreign).toMatchObject({ items: [], error: 'forbidden' });
    expect(unknown).toMatchObject({ items: [], error: 'forbidden' });

    const upToDate = await memberSocket.request('chat:resume', { channels: { [channelId]: 4 } });
    expect(upToDate.channels[0]).toMatchObject({ items: [], lastSeq: 4, resyncRequired: false });
    const ahead = await memberSocket.request('chat:resume', { channels: { [channelId]: 99 } });
    expect(ahead.channels[0]).toMatchObject({ items: [], resyncRequired: true });
  });

  it('answers resync_required beyond 500 missed messages', async () => {
    const { memberSocket, channelId } = await room();
    await node.database.db.updateTable('channels').set({ last_seq: 501 }).where('id', '=', channelId).execute();
    const result = await memberSocket.request('chat:resume', { channels: { [channelId]: 0 } });
    expect(result.channels[0]).toEqual({ conversationId: channelId, items: [], lastSeq: 501, resyncRequired: true });
  });
});
