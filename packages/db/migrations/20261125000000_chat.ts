import { sql, type Kysely } from 'kysely';

// Chat beyond plain text: attachments (files the uploads work fills in; for
// now a file is an id and its owner, so ownership can be checked), reactions,
// and an index for replaying a channel after a seq.

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table files (
      id uuid primary key default gen_random_uuid(),
      owner_id uuid not null references users (id) on delete cascade,
      created_at timestamptz not null default now()
    )`.execute(db);
  await sql`create index files_owner_id_idx on files (owner_id)`.execute(db);

  await sql`
    create table message_attachments (
      message_id uuid not null references messages (id) on delete cascade,
      file_id uuid not null references files (id) on delete cascade,
      position smallint not null,
      primary key (message_id, file_id)
    )`.execute(db);

  await sql`
    create table message_reactions (
      message_id uuid not null references messages (id) on delete cascade,
      user_id uuid not null references users (id) on delete cascade,
      emoji text not null,
      created_at timestamptz not null default now(),
      primary key (message_id, emoji, user_id)
    )`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['message_reactions', 'message_attachments', 'files']) {
    await sql`drop table ${sql.table(table)}`.execute(db);
  }
}
