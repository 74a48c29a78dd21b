-- Where the Unleash catch-up poller reads events, as an admin set it on the Connect page (one row;
-- none until set, deleted when cleared). HOOKLINE_UNLEASH_URL / HOOKLINE_UNLEASH_TOKEN, when set,
-- win over these, each on its own.
--
-- token: sealed like the webhooks' secrets (enc:v1:..., bound to unleash_settings.token of row 1;
-- see server/src/crypto.rs), never stored in plain text. updated_by: the admin's audit name.
create table unleash_settings (
    id         integer primary key check (id = 1),
    url        text,
    token      text,
    updated_by text    not null,
    created_at integer not null,
    updated_at integer not null
);

-- The Unleash the catch-up cursor belongs to (its URL as polled): event ids are per Unleash, so a
-- cursor of another one is not used (the next poll starts after the newest event, replaying
-- nothing). Null for a cursor written before this column: taken as the current Unleash's.
alter table unleash_catch_up add column cursor_url text;

-- The cursor's first value (Unleash's newest event when catch-up started reading that Unleash):
-- each poll also fetches again the ids just below the cursor, for events Unleash numbered earlier
-- but committed later; none at or below this start is taken in (no history replayed).
alter table unleash_catch_up add column cursor_start integer;
