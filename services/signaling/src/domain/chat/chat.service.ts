import type { ChannelResume, ChatFetchResult, ChatMessage, ChatResumeResult } from '@parley/protocol';
import type { FileRow, MessageRow } from '@parley/db';
import { limits } from '@parley/protocol';
import { AppError } from '../../errors.ts';
import type { Actor } from '../accounts/actor.ts';
import type { ChannelAccess } from '../communities/access/channel-access.ts';
import type { ActivityRecorder } from '../discovery/activity-recorder.ts';
import type { Store } from '../store.ts';
import { toChatMessage, toChatMessages } from './chat.mappers.ts';
import type { HistoryCursor } from './message.repository.ts';
import { UniqueConflict } from '../unique-conflict.ts';
import type { Realtime } from '../../realtime/realtime.ts';
import { channelExceptOrigin } from './chat-audience.ts';
import { toFileInfo } from '../media/file.mappers.ts';

export interface SendMessage {
  conversationId: string;
  text?: string | undefined;
  attachments?: string[] | undefined;
  replyToMessageId?: string | undefined;
  nonce?: string | undefined;
}

export interface FetchHistory {
  conversationId: string;
  limit?: number | undefined;
  /** A seq, or an ISO timestamp (the Gryt seed's cursor). */
  before?: number | string | undefined;
  /** A seq: the oldest messages after it. */
  after?: number | undefined;
}

/** Durable, ordered, idempotent chat: sending, history, and replay after a reconnect. */
export class ChatService {
  readonly #store: Store;
  readonly #access: ChannelAccess;
  readonly #realtime: Realtime;
  readonly #activity: ActivityRecorder | undefined;

  /** `activity` counts messages per community for the trending ranking. */
  constructor(deps: { store: Store; access: ChannelAccess; realtime: Realtime; activity?: ActivityRecorder }) {
    this.#store = deps.store;
    this.#access = deps.access;
    this.#realtime = deps.realtime;
    this.#activity = deps.activity;
  }

  /**
   * Stores a message and resolves once it is committed, then announces it
   * (`chat:new`) to the channel on every pod, but to the connection it came
   * through. A repeated (author, channel, nonce) returns the first message
   * with `created: false`, writes nothing and announces nothing. Throws `channel_not_found`, `not_a_member`,
   * `forbidden`, `muted`, `invalid_reply`, `invalid_attachment`.
   */
  async send(actor: Actor, input: SendMessage): Promise<{ message: ChatMessage; created: boolean }> {
    const channel = await this.#access.requireTextChannel(actor.userId, input.conversationId, 'send_messages');
    const attachments = input.attachments ?? [];
    const files = await this.#checkReplyAndAttachments(actor, channel.id, input.replyToMessageId, attachments);
    const message = {
      channelId: channel.id,
      authorId: actor.userId,
      text: input.text ?? '',
      nonce: input.nonce ?? null,
      replyToId: input.replyToMessageId ?? null,
    };
    let row: MessageRow;
    try {
      // Without attachments, one statement: the hot path is one round trip after the access check.
      row =
        attachments.length === 0
          ? await this.#store.repos.messages.insertNext(message)
          : await this.#store.transaction(async (repos) => {
              const inserted = await repos.messages.insertNext(message);
              await repos.messages.attach(inserted.id, attachments);
              return inserted;
            });
    } catch (error) {
      // The nonce was used before (a retry): its seq was given back; answer with the stored message.
      const nonce = error instanceof UniqueConflict ? message.nonce : null;
      const existing = nonce ? await this.#store.repos.messages.getByNonce(channel.id, actor.userId, nonce) : undefined;
      if (!existing) throw error;
      return { message: (await toChatMessages(this.#store, [existing], actor.userId))[0]!, created: false };
    }
    this.#activity?.recordMessage(channel.server_id);
    const author = { author_username: actor.username, author_display_name: actor.displayName };
    const sent = toChatMessage({ ...row, ...author }, { attachments: files.map(toFileInfo) });
    this.#realtime.emit(channelExceptOrigin(sent.conversationId, actor), 'chat:new', sent);
    return { message: sent, created: true };
  }

  /**
   * A page of history, oldest first: before a cursor (default: the newest
   * page) or after a seq. Deleted messages are left out.
   * Throws `channel_not_found`, `not_a_member`, `forbidden`.
   */
  async fetch(actor: Actor, input: FetchHistory): Promise<ChatFetchResult> {
    const channel = await this.#access.requireTextChannel(actor.userId, input.conversationId, 'view_channels');
    const limit = Math.min(input.limit ?? limits.fetchLimit.default, limits.fetchLimit.max);
    const messages = this.#store.repos.messages;
    const rows =
      input.after === undefined
        ? (await messages.listBefore(channel.id, toCursor(input.before), limit + 1)).reverse()
        : await messages.listAfter(channel.id, input.after, limit + 1);
    // The extra row, if any, is the one furthest from the cursor.
    const page = input.after === undefined ? rows.slice(-limit) : rows.slice(0, limit);
    return { items: await toChatMessages(this.#store, page, actor.userId), hasMore: rows.length > limit };
  }

  /**
   * What the user missed in each channel since the seq they hold, in order,
   * deleted messages as tombstones so the seqs have no gaps. More than
   * `limits.resume.maxMessages` behind (or ahead of the server): `resyncRequired`.
   */
  async resume(actor: Actor, lastSeqs: Record<string, number>): Promise<ChatResumeResult> {
    const requested = Object.entries(lastSeqs);
    const { channels } = await this.#access.viewableBy(actor.userId);
    const viewable = new Map(channels.filter((channel) => channel.type === 'text').map((channel) => [channel.id, channel]));
    const results = await Promise.all(
      requested.map(async ([conversationId, seq]): Promise<ChannelResume> => {
        const channel = viewable.get(conversationId);
        if (!channel) return { conversationId, items: [], lastSeq: 0, resyncRequired: false, error: 'forbidden' };
        const missed = channel.last_seq - seq;
        if (missed < 0 || missed > limits.resume.maxMessages) {
          return { conversationId, items: [], lastSeq: channel.last_seq, resyncRequired: true };
        }
        const rows = missed === 0 ? [] : await this.#store.repos.messages.listAfter(channel.id, seq, missed, { withDeleted: true });
        const items = await toChatMessages(this.#store, rows, actor.userId);
        return { conversationId, items, lastSeq: channel.last_seq, resyncRequired: false };
      }),
    );
    return { channels: results };
  }

  /** Throws `invalid_reply` unless the reply target is in the channel, `invalid_attachment` unless the sender owns every file. */
  /** The attached files, in the sender's order; throws unless each is the sender's own and not a pending or avatar/icon upload. */
  async #checkReplyAndAttachments(actor: Actor, channelId: string, replyTo: string | undefined, attachments: string[]): Promise<FileRow[]> {
    const [target, owned] = await Promise.all([
      replyTo ? this.#store.repos.messages.getInChannel(channelId, replyTo) : undefined,
      this.#store.repos.files.listOwned(actor.userId, attachments),
    ]);
    if (replyTo && (!target || target.deleted_at)) throw new AppError('invalid_reply');
    const byId = new Map(owned.filter((file) => file.status !== 'pending' && file.purpose === 'attachment').map((file) => [file.id, file]));
    const files = attachments.map((id) => byId.get(id));
    if (files.some((file) => file === undefined)) throw new AppError('invalid_attachment');
    return files as FileRow[];
  }
}

function toCursor(before: number | string | undefined): HistoryCursor {
  if (before === undefined) return undefined;
  return typeof before === 'number' ? { beforeSeq: before } : { beforeTime: new Date(before) };
}
