import { sql, type Kysely } from 'kysely';

// Communities in full: ranked roles with permissions and per-channel
// overrides, invites, bans, join requests, server mutes, the audit log,
// hourly activity for discovery, and the deployment's bootstrap community.

const builtinRoles = sql`(values
  ('admin', 'Admin', 900, array['view_channels', 'send_messages', 'connect_voice', 'speak', 'change_nickname',
    'manage_messages', 'manage_nicknames', 'create_invites', 'kick_members', 'ban_members', 'mute_members',
    'manage_requests', 'view_audit_log', 'manage_invites', 'manage_channels', 'manage_roles', 'manage_server']),
  ('moderator', 'Moderator', 500, array['view_channels', 'send_messages', 'connect_voice', 'speak', 'change_nickname',
    'manage_messages', 'manage_nicknames', 'create_invites', 'kick_members', 'ban_members', 'mute_members',
    'manage_requests', 'view_audit_log']),
  ('member', 'Member', 100, array['view_channels', 'send_messages', 'connect_voice', 'speak', 'change_nickname']),
  ('guest', 'Guest', 10, array['view_channels'])
) as builtin (key, name, rank, permissions)`;

export async function up(db: Kysely<unknown>): Promise<void> {
  // The community SERVER_NAME runs: at most one, created by whichever pod starts first.
  await sql`alter table servers add column is_default boolean not null default false`.execute(db);
  await sql`create unique index servers_default_key on servers (is_default) where is_default`.execute(db);
  // argon2id of the join password of a `password` community.
  await sql`alter table servers add column password_hash text`.execute(db);
  await sql`alter table servers add column featured_at timestamptz`.execute(db);
  // An https URL; uploaded icons (S3) will be referenced the same way.
  await sql`alter table servers add column icon_url text`.execute(db);
  // Kept in the join and leave transactions: the capacity check and discovery read it.
  await sql`alter table servers add column member_count integer not null default 0 check (member_count >= 0)`.execute(db);
  await sql`
    update servers set member_count = (select count(*) from members where members.server_id = servers.id and active)
  `.execute(db);
  await sql`create index servers_discoverable_idx on servers (created_at desc, id) where discoverable`.execute(db);

  await sql`alter table members add column muted boolean not null default false`.execute(db);
  await sql`alter table members add column muted_until timestamptz`.execute(db);
  await sql`create index members_server_joined_idx on members (server_id, joined_at, user_id) where active`.execute(db);

  await sql`
    create table roles (
      id uuid primary key default gen_random_uuid(),
      server_id uuid not null references servers (id) on delete cascade,
      name text not null,
      builtin text check (builtin in ('admin', 'moderator', 'member', 'guest')),
      rank integer not null check (rank between 1 and 999),
      permissions text[] not null default '{}',
      created_at timestamptz not null default now()
    )`.execute(db);
  await sql`create unique index roles_server_name_key on roles (server_id, lower(name))`.execute(db);
  await sql`create unique index roles_server_builtin_key on roles (server_id, builtin) where builtin is not null`.execute(db);

  await sql`
    create table member_roles (
      server_id uuid not null,
      user_id uuid not null,
      role_id uuid not null references roles (id) on delete cascade,
      primary key (server_id, user_id, role_id),
      foreign key (server_id, user_id) references members (server_id, user_id) on delete cascade
    )`.execute(db);
  await sql`create index member_roles_role_id_idx on member_roles (role_id)`.execute(db);

  await sql`
    create table channel_overrides (
      channel_id uuid not null references channels (id) on delete cascade,
      role_id uuid not null references roles (id) on delete cascade,
      allow text[] not null default '{}',
      deny text[] not null default '{}',
      primary key (channel_id, role_id)
    )`.execute(db);
  await sql`create index channel_overrides_role_id_idx on channel_overrides (role_id)`.execute(db);

  await sql`
    create table invites (
      code text primary key,
      server_id uuid not null references servers (id) on delete cascade,
      created_by uuid references users (id) on delete set null,
      max_uses integer check (max_uses > 0),
      uses integer not null default 0 check (uses >= 0 and (max_uses is null or uses <= max_uses)),
      expires_at timestamptz,
      revoked_at timestamptz,
      note text,
      created_at timestamptz not null default now()
    )`.execute(db);
  await sql`create index invites_server_id_idx on invites (server_id, created_at desc)`.execute(db);

  await sql`
    create table bans (
      server_id uuid not null references servers (id) on delete cascade,
      user_id uuid not null references users (id) on delete cascade,
      reason text,
      banned_by uuid references users (id) on delete set null,
      created_at timestamptz not null default now(),
      expires_at timestamptz,
      primary key (server_id, user_id)
    )`.execute(db);

  await sql`
    create table join_requests (
      id uuid primary key default gen_random_uuid(),
      server_id uuid not null references servers (id) on delete cascade,
      user_id uuid not null references users (id) on delete cascade,
      message text,
      status text not null default 'pending' check (status in ('pending', 'approved', 'rejected')),
      decided_by uuid references users (id) on delete set null,
      decided_at timestamptz,
      created_at timestamptz not null default now()
    )`.execute(db);
  await sql`
    create unique index join_requests_pending_key on join_requests (server_id, user_id) where status = 'pending'
  `.execute(db);
  await sql`create index join_requests_server_idx on join_requests (server_id, status, created_at)`.execute(db);
  await sql`create index join_requests_user_idx on join_requests (user_id, server_id, created_at desc)`.execute(db);

  await sql`
    create table audit_log (
      id bigint generated always as identity primary key,
      server_id uuid references servers (id) on delete cascade,
      actor_id uuid references users (id) on delete set null,
      action text not null,
      target_user_id uuid,
      target_id text,
      details jsonb not null default '{}',
      created_at timestamptz not null default now()
    )`.execute(db);
  await sql`create index audit_log_server_idx on audit_log (server_id, id desc)`.execute(db);

  // Joins and messages per community per hour: what trending ranks by.
  await sql`
    create table server_activity (
      server_id uuid not null references servers (id) on delete cascade,
      hour timestamptz not null,
      joins integer not null default 0,
      messages integer not null default 0,
      primary key (server_id, hour)
    )`.execute(db);
  await sql`create index server_activity_hour_idx on server_activity (hour)`.execute(db);

  // Communities created before roles existed get the built-ins; their members hold `member`.
  await sql`
    insert into roles (server_id, builtin, name, rank, permissions)
    select servers.id, builtin.key, builtin.name, builtin.rank, builtin.permissions
    from servers cross join ${builtinRoles}
  `.execute(db);
  await sql`
    insert into member_roles (server_id, user_id, role_id)
    select members.server_id, members.user_id, roles.id
    from members join roles on roles.server_id = members.server_id and roles.builtin = 'member'
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of [
    'server_activity',
    'audit_log',
    'join_requests',
    'bans',
    'invites',
    'channel_overrides',
    'member_roles',
    'roles',
  ]) {
    await sql`drop table ${sql.table(table)}`.execute(db);
  }
  await sql`drop index members_server_joined_idx`.execute(db);
  await sql`alter table members drop column muted_until`.execute(db);
  await sql`alter table members drop column muted`.execute(db);
  await sql`drop index servers_discoverable_idx`.execute(db);
  for (const column of ['member_count', 'icon_url', 'featured_at', 'password_hash', 'is_default']) {
    await sql`alter table servers drop column ${sql.ref(column)}`.execute(db);
  }
}
