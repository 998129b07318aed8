import { describe, expect, it } from 'vitest';
import { limits } from './limits.ts';
import { chatFetchRequest, chatReactRequest, chatResumeRequest, chatSendRequest, messagesQuery } from './chat.schemas.ts';
import { handshakeAuth, registerRequest } from './schemas.ts';

const channelId = '0b9e4a43-3d6f-4d51-9d56-2f1c1b1f6a8e';

describe('registerRequest', () => {
  it('accepts a well-formed account and trims the username', () => {
    expect(registerRequest.parse({ username: '  alice_1 ', password: 'long enough' })).toEqual({
      username: 'alice_1',
      password: 'long enough',
    });
  });

  it.each([
    [{ username: 'al', password: 'long enough' }, 'username'],
    [{ username: 'a'.repeat(limits.username.max + 1), password: 'long enough' }, 'username'],
    [{ username: 'bad name', password: 'long enough' }, 'username'],
    [{ username: 'alice', password: 'short' }, 'password'],
    [{ username: 'alice', password: 'x'.repeat(limits.password.max + 1) }, 'password'],
    [{ username: 'alice', password: 12345678 }, 'password'],
    [{ username: 'alice' }, 'password'],
  ])('rejects %j at %s', (input, path) => {
    const result = registerRequest.safeParse(input);
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((issue) => issue.path[0])).toContain(path);
  });
});

describe('chatSendRequest', () => {
  it('accepts text and a nonce, and drops unknown keys such as the seed’s accessToken', () => {
    expect(chatSendRequest.parse({ conversationId: channelId, text: ' hi ', nonce: 'n1', accessToken: 'x' })).toEqual({
      conversationId: channelId,
      text: 'hi',
      nonce: 'n1',
    });
  });

  it.each([
    { conversationId: 'general', text: 'hi' },
    { conversationId: channelId, text: '   ' },
    { conversationId: channelId, text: 'x'.repeat(limits.messageText.max + 1) },
    { conversationId: channelId, text: 42 },
    { conversationId: channelId, text: 'hi', nonce: '' },
    { conversationId: channelId, text: 'hi', nonce: 'n'.repeat(limits.nonce.max + 1) },
    { conversationId: channelId },
    { conversationId: channelId, attachments: [] },
    { conversationId: channelId, attachments: ['file-1'] },
    { conversationId: channelId, attachments: Array.from({ length: 11 }, () => crypto.randomUUID()) },
    { conversationId: channelId, attachments: [channelId, channelId] },
    { conversationId: channelId, text: 'hi', replyToMessageId: 'previous' },
    null,
    'hi',
  ])('rejects %j', (input) => {
    expect(chatSendRequest.safeParse(input).success).toBe(false);
  });

  it('takes attachments without text', () => {
    expect(chatSendRequest.parse({ conversationId: channelId, attachments: [channelId] })).toEqual({
      conversationId: channelId,
      attachments: [channelId],
    });
  });
});

describe('chatReactRequest', () => {
  it.each(['👍', '👩‍👩‍👧', '🇫🇷', ':party_parrot:', '❤️'])('accepts %s', (emoji) => {
    expect(chatReactRequest.safeParse({ conversationId: channelId, messageId: channelId, emoji }).success).toBe(true);
  });

  it.each(['', ' ', 'a b', '\u0000', '\u202e', 'x'.repeat(limits.emoji.max + 1)])('rejects %j', (emoji) => {
    expect(chatReactRequest.safeParse({ conversationId: channelId, messageId: channelId, emoji }).success).toBe(false);
  });
});

describe('chatResumeRequest', () => {
  it('takes a seq per channel id, at most 500 channels', () => {
    expect(chatResumeRequest.parse({ channels: { [channelId]: 12 } })).toEqual({ channels: { [channelId]: 12 } });
    expect(chatResumeRequest.safeParse({ channels: { general: 12 } }).success).toBe(false);
    expect(chatResumeRequest.safeParse({ channels: { [channelId]: -1 } }).success).toBe(false);
    const many = Object.fromEntries(Array.from({ length: 501 }, () => [crypto.randomUUID(), 0]));
    expect(chatResumeRequest.safeParse({ channels: many }).success).toBe(false);
  });
});

describe('history cursors', () => {
  it('clamps the limit to the maximum instead of failing', () => {
    expect(chatFetchRequest.parse({ conversationId: channelId, limit: 5000 }).limit).toBe(limits.fetchLimit.max);
  });

  it('rejects a zero or fractional limit', () => {
    expect(chatFetchRequest.safeParse({ conversationId: channelId, limit: 0 }).success).toBe(false);
    expect(chatFetchRequest.safeParse({ conversationId: channelId, limit: 1.5 }).success).toBe(false);
  });

  it('takes `before` as a seq or an ISO timestamp, from a query string too', () => {
    expect(messagesQuery.parse({ before: '42', limit: '10' })).toEqual({ before: 42, limit: 10 });
    expect(messagesQuery.parse({ before: '2026-01-01T00:00:00.000Z' })).toEqual({ before: '2026-01-01T00:00:00.000Z' });
    expect(messagesQuery.safeParse({ before: 'yesterday' }).success).toBe(false);
    expect(messagesQuery.safeParse({ limit: 'ten' }).success).toBe(false);
  });

  it('takes `after` as a seq, never together with `before`', () => {
    expect(messagesQuery.parse({ after: '7' })).toEqual({ after: 7 });
    expect(chatFetchRequest.safeParse({ conversationId: channelId, after: 3, before: 9 }).success).toBe(false);
  });
});

describe('handshakeAuth', () => {
  it('requires a token and a client instance id of safe characters', () => {
    expect(handshakeAuth.safeParse({ token: 't', clientInstanceId: 'tab-1' }).success).toBe(true);
    expect(handshakeAuth.safeParse({ token: 't' }).success).toBe(false);
    expect(handshakeAuth.safeParse({ token: 't', clientInstanceId: 'a b' }).success).toBe(false);
    expect(handshakeAuth.safeParse({ token: 't', clientInstanceId: 'x', oderId: 'not-a-uuid' }).success).toBe(false);
  });
});
