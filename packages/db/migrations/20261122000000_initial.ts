import { sql, type Kysely } from 'kysely';

// Accounts and sessions, communities with channels and members, and chat
// messages with their per-channel sequence. One statement per `sql` call:
// PGlite runs each query through the extended protocol, which takes one.

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table users (
      id uuid primary key default gen_random_uuid(),
      username text not null,
      display_name text not null,
      password_hash text,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    )`.execute(db);
  await sql`create unique index users_username_key on users (lower(username))`.execute(db);

  await sql`
    create table sessions (
      id uuid primary key default gen_random_uuid(),
      user_id uuid not null references users (id) on delete cascade,
      token_hash text not null unique check (token_hash ~ '^[0-9a-f]{64}$'),
      created_at timestamptz not null default now(),
      expires_at timestamptz not null,
      revoked_at timestamptz
    )`.execute(db);
  await sql`create index sessions_user_id_idx on sessions (user_id)`.execute(db);

  await sql`
    create table servers (
      id uuid primary key default gen_random_uuid(),
      name text not null,
      description text,
      owner_id uuid references users (id) on delete set null,
      join_policy text not null default 'invite'
        check (join_policy in ('open', 'invite', 'request', 'password')),
      discoverable boolean not null default false,
      max_members integer check (max_members > 0),
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    )`.execute(db);

  await sql`
    create table channels (
      id uuid primary key default gen_random_uuid(),
      server_id uuid not null references servers (id) on delete cascade,
      name text not null,
      type text not null check (type in ('text', 'voice')),
      position integer not null default 0,
      last_seq bigint not null default 0,
      created_at timestamptz not null default now()
    )`.execute(db);
  await sql`create index channels_server_id_idx on channels (server_id, position)`.execute(db);

  await sql`
    create table members (
      server_id uuid not null references servers (id) on delete cascade,
      user_id uuid not null references users (id) on delete cascade,
      nickname text,
      active boolean not null default true,
      joined_at timestamptz not null default now(),
      primary key (server_id, user_id)
    )`.execute(db);
  await sql`create index members_user_id_idx on members (user_id) where active`.execute(db);

  await sql`
    create table messages (
      id uuid primary key default gen_random_uuid(),
      channel_id uuid not null references channels (id) on delete cascade,
      seq bigint not null,
      author_id uuid references users (id) on delete set null,
      text text not null,
      nonce text,
      reply_to_id uuid references messages (id) on delete set null,
      created_at timestamptz not null default now(),
      edited_at timestamptz,
      deleted_at timestamptz,
      constraint messages_channel_seq_key unique (channel_id, seq),
      constraint messages_nonce_key unique (channel_id, author_id, nonce)
    )`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['messages', 'members', 'channels', 'servers', 'sessions', 'users']) {
    await sql`drop table ${sql.table(table)}`.execute(db);
  }
}
