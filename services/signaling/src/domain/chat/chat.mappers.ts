import type { ChatMessage, FileInfo, Reaction } from '@parley/protocol';
import { toFileInfo } from '../media/file.mappers.ts';
import type { Store } from '../store.ts';
import type { MessageWithAuthor } from './message.repository.ts';

export function toChatMessage(
  row: MessageWithAuthor,
  extras: { attachments?: FileInfo[]; reactions?: Reaction[] } = {},
): ChatMessage {
  return {
    id: row.id,
    conversationId: row.channel_id,
    seq: row.seq,
    author:
      row.author_id && row.author_username
        ? { id: row.author_id, username: row.author_username, displayName: row.author_display_name ?? row.author_username }
        : null,
    text: row.deleted_at ? '' : row.text,
    nonce: row.nonce,
    replyToMessageId: row.reply_to_id,
    attachments: extras.attachments ?? [],
    reactions: extras.reactions ?? [],
    createdAt: row.created_at.toISOString(),
    editedAt: row.edited_at?.toISOString() ?? null,
    deleted: row.deleted_at !== null,
  };
}

/** Rows as the viewer sees them: with their attachments and reactions (two queries for the whole list). */
export async function toChatMessages(store: Store, rows: readonly MessageWithAuthor[], viewerId: string): Promise<ChatMessage[]> {
  const ids = rows.map((row) => row.id);
  const [attachments, reactions] = await Promise.all([
    store.repos.messages.listAttachments(ids),
    store.repos.reactions.listFor(ids, viewerId),
  ]);
  return rows.map((row) =>
    toChatMessage(row, { attachments: attachments.get(row.id)?.map(toFileInfo), reactions: reactions.get(row.id) }),
  );
}
