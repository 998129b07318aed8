import { sql, type Kysely } from 'kysely';

// Identity beyond local passwords: OIDC identities linked to users, push
// device tokens, and why a session was revoked.

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table oidc_identities (
      issuer text not null,
      subject text not null,
      user_id uuid not null references users (id) on delete cascade,
      created_at timestamptz not null default now(),
      primary key (issuer, subject)
    )`.execute(db);
  await sql`create index oidc_identities_user_id_idx on oidc_identities (user_id)`.execute(db);

  await sql`
    create table device_tokens (
      id uuid primary key default gen_random_uuid(),
      user_id uuid not null references users (id) on delete cascade,
      platform text not null check (platform in ('apns', 'fcm', 'web')),
      token text not null unique,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    )`.execute(db);
  await sql`create index device_tokens_user_id_idx on device_tokens (user_id)`.execute(db);

  await sql`
    alter table sessions add column revoked_reason text
      check (revoked_reason in ('logout', 'password_change', 'admin'))`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`alter table sessions drop column revoked_reason`.execute(db);
  await sql`drop table device_tokens`.execute(db);
  await sql`drop table oidc_identities`.execute(db);
}
