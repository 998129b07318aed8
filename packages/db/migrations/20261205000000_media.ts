import { sql, type Kysely } from 'kysely';

// Media: what a file is (name, size, the type sniffed from its bytes, what it
// is for), where its upload and thumbnails stand, and the avatars and
// community icons that point at one.

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    alter table files
      add column name text not null default '',
      add column size bigint not null default 0,
      add column content_type text not null default 'application/octet-stream',
      add column purpose text not null default 'attachment' check (purpose in ('attachment', 'avatar', 'icon')),
      add column status text not null default 'ready' check (status in ('pending', 'processing', 'ready', 'failed')),
      add column declared_size bigint,
      add column failure_reason text,
      add column width integer,
      add column height integer,
      add column placeholder text,
      add column thumbnails boolean not null default false`.execute(db);
  // Sweeping old unattached files walks by age.
  await sql`create index files_created_at_idx on files (created_at)`.execute(db);
  await sql`create index message_attachments_file_id_idx on message_attachments (file_id)`.execute(db);
  await sql`alter table users add column avatar_file_id uuid references files (id) on delete set null`.execute(db);
  await sql`alter table servers add column icon_file_id uuid references files (id) on delete set null`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`alter table servers drop column icon_file_id`.execute(db);
  await sql`alter table users drop column avatar_file_id`.execute(db);
  await sql`drop index message_attachments_file_id_idx`.execute(db);
  await sql`drop index files_created_at_idx`.execute(db);
  await sql`
    alter table files
      drop column name, drop column size, drop column content_type, drop column purpose, drop column status,
      drop column declared_size, drop column failure_reason, drop column width, drop column height,
      drop column placeholder, drop column thumbnails`.execute(db);
}
