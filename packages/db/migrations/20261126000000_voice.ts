import { sql, type Kysely } from 'kysely';

// Voice: the keys that sign SFU join tokens, and users' blocks.
//
// A signing key belongs to one time slot (`slot` = floor(now / rotation));
// the unique slot lets every pod race to create the same slot's key and end
// with exactly one. The private half lives here too: the database is already
// the root of trust for sessions and accounts, and every pod must sign with
// the same key.

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table signing_keys (
      kid text primary key,
      slot bigint not null unique,
      algorithm text not null,
      public_jwk jsonb not null,
      private_jwk jsonb not null,
      created_at timestamptz not null default now(),
      not_before timestamptz not null,
      retires_at timestamptz not null
    )`.execute(db);
  await sql`create index signing_keys_retires_at_idx on signing_keys (retires_at)`.execute(db);

  await sql`
    create table user_blocks (
      blocker_id uuid not null references users (id) on delete cascade,
      blocked_id uuid not null references users (id) on delete cascade,
      created_at timestamptz not null default now(),
      primary key (blocker_id, blocked_id),
      check (blocker_id <> blocked_id)
    )`.execute(db);
  // The primary key serves the blocker's lookups; this one serves the cascade when a blocked user is deleted.
  await sql`create index user_blocks_blocked_id_idx on user_blocks (blocked_id)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table user_blocks`.execute(db);
  await sql`drop table signing_keys`.execute(db);
}
