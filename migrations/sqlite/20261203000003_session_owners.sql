-- Sessions know their admin and when they began.
--
-- admin_id: a password change ends the admin's other sessions by this column, and removing an
-- admin removes their sessions in the same statement (on delete cascade), so a removed admin is
-- signed out at their next request, and a later admin who gets the same id inherits nothing.
-- created_at: sessions end HOOKLINE_SESSION_MAX after sign-in, however active.
alter table sessions add column admin_id integer references admins (id) on delete cascade;
alter table sessions add column created_at integer not null default 0;

-- Existing sessions: the admin from the stored record (tower-sessions' JSON, `data.admin_id`),
-- and, their sign-in time being unknown, the upgrade as their start. A session whose admin is gone
-- (or that never had one) can only be stale: removed.
update sessions set
    admin_id = (
        select admins.id from admins
        where admins.id = case when json_valid(cast(sessions.data as text))
                               then json_extract(cast(sessions.data as text), '$.data.admin_id') end
    ),
    created_at = cast((julianday('now') - 2440587.5) * 86400000 as integer);
delete from sessions where admin_id is null;

create index sessions_admin_id on sessions (admin_id);
