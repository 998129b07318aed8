import type { ChatMessage, ChatReactionEvent, ChatTypingEvent } from '@parley/protocol';
import { limits } from '@parley/protocol';
import type { Clock } from '../../clock.ts';
import { AppError } from '../../errors.ts';
import type { Actor } from '../accounts/actor.ts';
import type { ChannelAccess } from '../communities/access/channel-access.ts';
import { loadAccess } from '../communities/access/member-access.ts';
import type { Store } from '../store.ts';
import { toChatMessages } from './chat.mappers.ts';
import type { MessageWithAuthor } from './message.repository.ts';
import type { Realtime } from '../../realtime/realtime.ts';
import { rooms } from '../../realtime/rooms.ts';
import { channelExceptOrigin } from './chat-audience.ts';

interface MessageRef {
  conversationId: string;
  messageId: string;
}

/**
 * What members do to messages after sending them: edit, delete, react; and
 * typing indicators. Each is announced to the channel on every pod, but to
 * the connection it came through (which has the acknowledgement).
 */
export class MessageActions {
  readonly #store: Store;
  readonly #access: ChannelAccess;
  readonly #realtime: Realtime;
  readonly #clock: Clock;

  constructor(deps: { store: Store; access: ChannelAccess; realtime: Realtime; clock: Clock }) {
    this.#store = deps.store;
    this.#access = deps.access;
    this.#realtime = deps.realtime;
    this.#clock = deps.clock;
  }

  /**
   * Replaces the text of one's own message and records `editedAt`.
   * Throws `channel_not_found`, `not_a_member`, `forbidden` (also for
   * another's message), `muted`, `message_not_found`.
   */
  async edit(actor: Actor, input: MessageRef & { text: string }): Promise<ChatMessage> {
    const message = await this.#message(actor, input, 'send_messages');
    if (message.author_id !== actor.userId) throw new AppError('forbidden', 'Only the author can edit a message');
    const updated = await this.#store.repos.messages.updateText(message.id, input.text, this.#clock.now());
    if (!updated) throw new AppError('message_not_found');
    const [edited] = await toChatMessages(this.#store, [{ ...message, ...updated }], actor.userId);
    // Reactions are the viewer's own view; the broadcast carries none, as chat:new does.
    this.#realtime.emit(channelExceptOrigin(edited!.conversationId, actor), 'chat:edited', { ...edited!, reactions: [] });
    return edited!;
  }

  /**
   * Deletes one's own message, or anyone's with `manage_messages` in the
   * channel. Throws `channel_not_found`, `not_a_member`, `forbidden`, `message_not_found`.
   */
  async delete(actor: Actor, input: MessageRef): Promise<{ conversationId: string; messageId: string; seq: number }> {
    const channel = await this.#access.requireTextChannel(actor.userId, input.conversationId, 'view_channels');
    const message = await this.#store.repos.messages.getInChannel(channel.id, input.messageId);
    if (!message || message.deleted_at) throw new AppError('message_not_found');
    if (message.author_id !== actor.userId) {
      const [access, overrides] = await Promise.all([
        loadAccess(this.#store.repos, channel.server_id, actor.userId),
        this.#store.repos.channels.listOverrides([channel.id]),
      ]);
      if (!access.inChannel(overrides).has('manage_messages')) {
        throw new AppError('forbidden', "Deleting another member's message needs the manage_messages permission");
      }
    }
    if (!(await this.#store.repos.messages.softDelete(message.id, this.#clock.now()))) throw new AppError('message_not_found');
    const deleted = { conversationId: channel.id, messageId: message.id, seq: message.seq };
    this.#realtime.emit(channelExceptOrigin(channel.id, actor), 'chat:deleted', deleted);
    return deleted;
  }

  /**
   * Toggles the actor's reaction with `emoji`. A message carries at most
   * `limits.reactionsPerMessage` distinct emoji. Throws `channel_not_found`,
   * `not_a_member`, `forbidden`, `muted`, `message_not_found`, `limit_reached`.
   */
  async react(actor: Actor, input: MessageRef & { emoji: string }): Promise<ChatReactionEvent> {
    const message = await this.#message(actor, input, 'send_messages');
    const reactions = this.#store.repos.reactions;
    const present = await reactions.emojiOf(message.id);
    if (!present.includes(input.emoji) && present.length >= limits.reactionsPerMessage.max) {
      throw new AppError('limit_reached', `A message carries at most ${limits.reactionsPerMessage.max} different reactions`);
    }
    const added = await reactions.toggle(message.id, actor.userId, input.emoji);
    const count = await reactions.count(message.id, input.emoji);
    const reaction = { conversationId: message.channel_id, messageId: message.id, emoji: input.emoji, userId: actor.userId, added, count };
    this.#realtime.emit(channelExceptOrigin(message.channel_id, actor), 'chat:reaction', reaction);
    return reaction;
  }

  /**
   * Shows the channel that the actor types: ephemeral, at most once, and not
   * to the typist's own devices. Throws as `chat:send` would.
   */
  async typing(actor: Actor, conversationId: string): Promise<void> {
    const channel = await this.#access.requireTextChannel(actor.userId, conversationId, 'send_messages');
    const indicator: ChatTypingEvent = {
      conversationId: channel.id,
      userId: actor.userId,
      displayName: actor.displayName,
      expiresInMs: limits.typingIndicatorMs,
    };
    this.#realtime.emit({ to: rooms.channel(channel.id), except: rooms.user(actor.userId) }, 'chat:typing', indicator);
  }

  /** A live message of a channel where the actor holds `permission`. */
  async #message(actor: Actor, ref: MessageRef, permission: 'send_messages'): Promise<MessageWithAuthor> {
    const channel = await this.#access.requireTextChannel(actor.userId, ref.conversationId, permission);
    const message = await this.#store.repos.messages.getInChannel(channel.id, ref.messageId);
    if (!message || message.deleted_at) throw new AppError('message_not_found');
    return message;
  }
}
