-- The audit log: one row per admin action (see server/src/db/audit.rs).
--
-- actor_kind/actor_id/actor_name: who (an admin and their email, an API token and `token:<name>`,
-- `cli`, the system, or an anonymous sign-in attempt and the email it tried); address: from where.
-- action: a word of hookline-core's `AuditAction`. It has no CHECK on purpose: new features bring
-- new actions, and SQLite can only change a CHECK by rebuilding the table; the enum is the one
-- spelling. object_*: what it was done to, with the name it had then (the object may be gone).
-- detail: a JSON object of facts (changed field names, counts), never a secret value.
-- Rows are only ever inserted, and deleted by the retention job (HOOKLINE_AUDIT_RETENTION).
create table audit_log (
    id          integer primary key autoincrement,
    created_at  integer not null,
    actor_kind  text    not null check (actor_kind in ('admin', 'token', 'cli', 'system', 'anonymous')),
    actor_id    integer,
    actor_name  text    not null,
    action      text    not null,
    object_kind text,
    object_id   integer,
    object_name text,
    detail      text    not null default '{}' check (json_valid(detail) and json_type(detail) = 'object'),
    address     text
);

-- Newest first (the primary key), by actor, by action; the retention job by age.
create index audit_log_actor on audit_log (actor_name, id desc);
create index audit_log_action on audit_log (action, id desc);
create index audit_log_created on audit_log (created_at);
