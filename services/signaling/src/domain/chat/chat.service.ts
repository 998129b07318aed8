import type { ChatFetchResult, ChatMessage } from '@parley/protocol';
import { limits } from '@parley/protocol';
import type { Actor } from '../accounts/actor.ts';
import type { CommunityService } from '../communities/community.service.ts';
import type { ActivityRecorder } from '../discovery/activity-recorder.ts';
import type { Store } from '../store.ts';
import type { HistoryCursor, MessageWithAuthor } from './message.repository.ts';

export interface SendMessage {
  conversationId: string;
  text: string;
  nonce?: string | undefined;
}

export interface FetchHistory {
  conversationId: string;
  limit?: number | undefined;
  /** A seq, or an ISO timestamp (the Gryt seed's cursor). */
  before?: number | string | undefined;
}

/** Raised inside the send transaction to roll back a seq taken for a nonce that turned out to exist. */
class NonceAlreadyUsed extends Error {}

/** Durable, ordered, idempotent chat. */
export class ChatService {
  readonly #store: Store;
  readonly #communities: CommunityService;
  readonly #activity: ActivityRecorder | undefined;

  /** `activity` counts messages per community for the trending ranking. */
  constructor(deps: { store: Store; communities: CommunityService; activity?: ActivityRecorder }) {
    this.#store = deps.store;
    this.#communities = deps.communities;
    this.#activity = deps.activity;
  }

  /**
   * Stores a message and resolves once it is committed. A repeated
   * (author, channel, nonce) returns the first message with `created: false`
   * and writes nothing. Throws `channel_not_found`, `not_a_member`, `forbidden`, `muted`.
   */
  async send(actor: Actor, input: SendMessage): Promise<{ message: ChatMessage; created: boolean }> {
    const channel = await this.#communities.requireTextChannel(actor.userId, input.conversationId, 'send_messages');
    const nonce = input.nonce ?? null;
    if (nonce) {
      const existing = await this.#store.repos.messages.getByNonce(channel.id, actor.userId, nonce);
      if (existing) return { message: toChatMessage(existing), created: false };
    }
    try {
      const row = await this.#store.transaction(async (repos) => {
        const seq = await repos.channels.nextSeq(channel.id);
        const inserted = await repos.messages.insertUnlessNonceExists({
          channelId: channel.id,
          seq,
          authorId: actor.userId,
          text: input.text,
          nonce,
        });
        if (!inserted) throw new NonceAlreadyUsed();
        return inserted;
      });
      const message = toChatMessage({ ...row, author_username: actor.username, author_display_name: actor.displayName });
      this.#activity?.recordMessage(channel.server_id);
      return { message, created: true };
    } catch (error) {
      if (!(error instanceof NonceAlreadyUsed) || !nonce) throw error;
      // A concurrent retry with the same nonce committed first.
      const existing = await this.#store.repos.messages.getByNonce(channel.id, actor.userId, nonce);
      if (!existing) throw error;
      return { message: toChatMessage(existing), created: false };
    }
  }

  /** A page of history before the cursor, oldest first. Throws `channel_not_found`, `not_a_member`, `forbidden`. */
  async fetch(actor: Actor, input: FetchHistory): Promise<ChatFetchResult> {
    const channel = await this.#communities.requireTextChannel(actor.userId, input.conversationId, 'view_channels');
    const limit = Math.min(input.limit ?? limits.fetchLimit.default, limits.fetchLimit.max);
    const rows = await this.#store.repos.messages.listBefore(channel.id, toCursor(input.before), limit + 1);
    const hasMore = rows.length > limit;
    return { items: rows.slice(0, limit).reverse().map(toChatMessage), hasMore };
  }
}

function toCursor(before: number | string | undefined): HistoryCursor {
  if (before === undefined) return undefined;
  return typeof before === 'number' ? { beforeSeq: before } : { beforeTime: new Date(before) };
}

function toChatMessage(row: MessageWithAuthor): ChatMessage {
  return {
    id: row.id,
    conversationId: row.channel_id,
    seq: row.seq,
    author:
      row.author_id && row.author_username
        ? { id: row.author_id, username: row.author_username, displayName: row.author_display_name ?? row.author_username }
        : null,
    text: row.text,
    nonce: row.nonce,
    replyToMessageId: row.reply_to_id,
    createdAt: row.created_at.toISOString(),
    editedAt: row.edited_at?.toISOString() ?? null,
  };
}
