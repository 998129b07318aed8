import { z } from 'zod';
import { id } from './ids.ts';
import { limits } from './limits.ts';
import { text } from './text.ts';

/** Zod schemas of the chat events and endpoints (see schemas.ts for the conventions). */

const messageText = text().trim().min(1, 'must not be empty').max(limits.messageText.max);

const fetchLimit = z
  .number()
  .int()
  .min(1)
  .transform((n) => Math.min(n, limits.fetchLimit.max));

/**
 * A history cursor: a `seq` (messages with a smaller seq) or, as in the Gryt
 * seed, an ISO timestamp (messages created before it).
 */
const beforeCursor = z.union([z.number().int().positive(), z.iso.datetime({ offset: true })]);
const seq = z.number().int().min(0);

export const chatSendRequest = z
  .object({
    conversationId: id,
    /** Optional when the message has attachments. */
    text: messageText.optional(),
    /** Ids of files the sender uploaded, in display order. */
    attachments: z
      .array(id)
      .max(limits.attachmentsPerMessage.max)
      .refine((list) => new Set(list).size === list.length, { message: 'must not repeat a file' })
      .optional(),
    /** A message of the same channel. */
    replyToMessageId: id.optional(),
    /** Idempotency key: a retry with the same nonce returns the first message. */
    nonce: text().min(1).max(limits.nonce.max).optional(),
  })
  .refine((body) => body.text !== undefined || (body.attachments?.length ?? 0) > 0, {
    message: 'needs text or attachments',
    path: ['text'],
  });
export type ChatSendRequest = z.input<typeof chatSendRequest>;

export const chatEditRequest = z.object({ conversationId: id, messageId: id, text: messageText });
export type ChatEditRequest = z.input<typeof chatEditRequest>;

export const chatDeleteRequest = z.object({ conversationId: id, messageId: id });
export type ChatDeleteRequest = z.input<typeof chatDeleteRequest>;

/**
 * A reaction: one Unicode emoji (an RGI emoji sequence such as 👍🏽 or 👨‍👩‍👧, or a
 * single pictograph, optionally with U+FE0F) or a custom emoji's `:name:`
 * (letters, digits, `_`, `+`, `-`).
 */
const EMOJI = /^(?:\p{RGI_Emoji}|\p{Extended_Pictographic}\uFE0F?|:[A-Za-z0-9_+\-]{1,62}:)$/v;
const emoji = text().min(1).max(limits.emoji.max).regex(EMOJI, 'must be an emoji or a :name:');

export const chatReactRequest = z.object({ conversationId: id, messageId: id, emoji });
export type ChatReactRequest = z.input<typeof chatReactRequest>;

export const chatTypingRequest = z.object({ conversationId: id });
export type ChatTypingRequest = z.input<typeof chatTypingRequest>;

export const chatFetchRequest = z
  .object({
    conversationId: id,
    /** Default 50; values above 100 are clamped to 100. */
    limit: fetchLimit.optional(),
    /** The newest messages before this seq or time. */
    before: beforeCursor.optional(),
    /** The oldest messages after this seq. */
    after: seq.optional(),
  })
  .refine((body) => body.before === undefined || body.after === undefined, { message: 'give before or after, not both' });
export type ChatFetchRequest = z.input<typeof chatFetchRequest>;

/**
 * `chat:resume`: the last seq the client holds per channel (0 for none); the
 * server replays what came after, in order.
 */
export const chatResumeRequest = z.object({
  channels: z
    .record(id, seq)
    .refine((channels) => Object.keys(channels).length <= limits.resume.maxChannels, {
      message: `at most ${limits.resume.maxChannels} channels`,
    }),
});
export type ChatResumeRequest = z.input<typeof chatResumeRequest>;

/** `GET /api/messages/:conversationId` query string: the same cursors, as text. */
export const messagesQuery = z
  .object({
    limit: z.coerce.number().pipe(fetchLimit).optional(),
    before: z
      .string()
      .max(64)
      .transform((value) => (/^\d+$/.test(value) ? Number(value) : value))
      .pipe(beforeCursor)
      .optional(),
    after: z.coerce.number().pipe(seq).optional(),
  })
  .refine((query) => query.before === undefined || query.after === undefined, { message: 'give before or after, not both' });
