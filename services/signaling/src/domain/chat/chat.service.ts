import type { ChannelResume, ChatFetchResult, ChatMessage, ChatResumeResult } from '@parley/protocol';
import { isTransientDatabaseError, type FileRow } from '@parley/db';
import { limits } from '@parley/protocol';
import { AppError } from '../../errors.ts';
import type { Actor } from '../accounts/actor.ts';
import type { ChannelAccess } from '../communities/access/channel-access.ts';
import type { ActivityRecorder } from '../discovery/activity-recorder.ts';
import type { Store } from '../store.ts';
import { toChatMessage, toChatMessages } from './chat.mappers.ts';
import type { BatchInsertResult, HistoryCursor, NewChatMessage } from './message.repository.ts';
import { GroupCommit, type ItemOutcome } from './group-commit.ts';
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

/** Messages written in one transaction at most, unless configured. */
const DEFAULT_COMMIT_BATCH_MAX = 200;

/** Durable, ordered, idempotent chat: sending, history, and replay after a reconnect. */
export class ChatService {
  readonly #store: Store;
  readonly #access: ChannelAccess;
  readonly #realtime: Realtime;
  readonly #activity: ActivityRecorder | undefined;
  readonly #commits: GroupCommit<NewChatMessage, BatchInsertResult>;

  /**
   * `activity` counts messages per community for the trending ranking;
   * `commitBatchMax` bounds a group commit, `onCommitBatch` hears each one's size.
   */
  constructor(deps: {
    store: Store;
    access: ChannelAccess;
    realtime: Realtime;
    activity?: ActivityRecorder;
    commitBatchMax?: number;
    onCommitBatch?: (size: number) => void;
  }) {
    this.#store = deps.store;
    this.#access = deps.access;
    this.#realtime = deps.realtime;
    this.#activity = deps.activity;
    this.#commits = new GroupCommit({
      write: (messages) => this.#writeBatch(messages),
      maxBatch: deps.commitBatchMax ?? DEFAULT_COMMIT_BATCH_MAX,
      ...(deps.onCommitBatch ? { onBatch: deps.onCommitBatch } : {}),
    });
  }

  /** Messages waiting for the next group commit (not counting the batch being written). */
  get queuedMessages(): number {
    return this.#commits.waiting;
  }

  /**
   * Stores a message and resolves once it is committed, then announces it
   * (`chat:new`) to the channel on every pod, but to the connection it came
   * through. Messages that arrive while a batch commits share the next
   * transaction (`GroupCommit`); the access check runs again when the batch
   * is written. A repeated (author, channel, nonce) returns the first message
   * with `created: false`, writes nothing and announces nothing. Throws
   * `channel_not_found`, `not_a_member`, `forbidden`, `muted`,
   * `invalid_reply`, `invalid_attachment`.
   */
  async send(actor: Actor, input: SendMessage): Promise<{ message: ChatMessage; created: boolean }> {
    const channel = await this.#access.requireTextChannel(actor.userId, input.conversationId, 'send_messages');
    const attachments = input.attachments ?? [];
    const files = await this.#checkReplyAndAttachments(actor, channel.id, input.replyToMessageId, attachments);
    const result = await this.#commits.submit({
      channelId: channel.id,
      authorId: actor.userId,
      text: input.text ?? '',
      nonce: input.nonce ?? null,
      replyToId: input.replyToMessageId ?? null,
      attachments,
    });
    if ('channelMissing' in result) throw new AppError('channel_not_found');
    const author = { author_username: actor.username, author_display_name: actor.displayName };
    if (!result.created) {
      // The nonce was used before (a retry): answer with the stored message.
      return { message: (await toChatMessages(this.#store, [{ ...result.row, ...author }], actor.userId))[0]!, created: false };
    }
    this.#activity?.recordMessage(channel.server_id);
    const sent = toChatMessage({ ...result.row, ...author }, { attachments: files.map(toFileInfo) });
    this.#realtime.emit(channelExceptOrigin(sent.conversationId, actor), 'chat:new', sent);
    return { message: sent, created: true };
  }

  /**
   * One group commit. Each author's access is checked again first (from the
   * access cache, normally), so a permission revoked while a message waited
   * refuses it. When the database refuses the batch for a reason other than
   * its own availability, each message is written alone: one bad message
   * must not fail the others. A transient failure (connection lost,
   * timeout) fails them all, and each is answered with `unavailable`.
   */
  async #writeBatch(messages: readonly NewChatMessage[]): Promise<Array<ItemOutcome<BatchInsertResult>>> {
    const refusals = await Promise.all(
      messages.map((message) =>
        this.#access.requireTextChannel(message.authorId, message.channelId, 'send_messages').then(
          () => undefined,
          (error: unknown) => ({ ok: false as const, error }),
        ),
      ),
    );
    const written = await this.#writeAllowed(messages.filter((_, index) => refusals[index] === undefined));
    return refusals.map((refusal) => refusal ?? written.shift()!);
  }

  async #writeAllowed(messages: readonly NewChatMessage[]): Promise<Array<ItemOutcome<BatchInsertResult>>> {
    if (messages.length === 0) return [];
    try {
      const results = await this.#store.transaction((repos) => repos.messages.insertBatch(messages));
      return results.map((value) => ({ ok: true, value }));
    } catch (error) {
      if (messages.length === 1 || isTransientDatabaseError(error)) return messages.map(() => ({ ok: false, error }));
      const alone: Array<ItemOutcome<BatchInsertResult>> = [];
      for (const message of messages) alone.push(...(await this.#writeAllowed([message])));
      return alone;
    }
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

  /**
   * The attached files, in the sender's order. Throws `invalid_reply` unless
   * the reply target is a live message of the channel, `invalid_attachment`
   * unless each file is the sender's own and not a pending or avatar/icon upload.
   */
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
