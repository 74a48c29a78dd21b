-- Admin accounts, their sessions (tower-sessions records) and API tokens.
-- Timestamps are unix milliseconds (integers compare and index cheaply, and port to bigint on PostgreSQL).

create table admins (
    id            integer primary key,
    email         text    not null unique collate nocase,
    password_hash text    not null,
    created_at    integer not null,
    updated_at    integer not null
);

create table sessions (
    id          text    primary key,
    data        blob    not null,
    expires_at  integer not null
);
create index sessions_expires_at on sessions (expires_at);

create table api_tokens (
    id           integer primary key,
    name         text    not null,
    -- sha256 of the token: tokens are long random strings, so a fast hash is enough and lets us look them up.
    token_hash   text    not null unique,
    -- the first characters, shown in lists so an admin can tell tokens apart.
    prefix       text    not null,
    created_by   text    not null,
    created_at   integer not null,
    last_used_at integer,
    revoked_at   integer
);
