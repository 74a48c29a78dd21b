-- Encryption at rest: which key the database's secrets are encrypted with. One row, written
-- at the first start with encryption (and by `hookline keys rotate`): the key's id and a known
-- text encrypted with it, so a start with another key stops with a clear message instead of
-- sending garbage. The secrets themselves stay in their columns, as `enc:v1:<key-id>:...`
-- (a SQL migration cannot encrypt; the server seals plain values right after migrating).
create table encryption_key (
    id          integer primary key check (id = 1),
    key_id      text    not null,
    check_value text    not null,
    created_at  integer not null,
    updated_at  integer not null
);
