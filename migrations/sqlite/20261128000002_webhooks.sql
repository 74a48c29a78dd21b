-- Webhook integrations. List-valued settings are JSON arrays/objects in text columns: they are
-- always read and written whole, and matching happens in the application.
create table webhooks (
    id                         integer primary key,
    description                text    not null default '',
    url                        text    not null,
    enabled                    integer not null default 1,
    content_type               text    not null default 'application/json',
    authorization              text,
    headers                    text    not null default '{}',
    body_template              text,
    events                     text    not null default '[]',
    projects                   text    not null default '[]',
    environments               text    not null default '[]',
    retry_policy               text    not null default 'standard',
    secret                     text    not null,
    previous_secret            text,
    previous_secret_expires_at integer,
    -- bumped on every change; compiled templates are cached by (id, version).
    version                    integer not null default 1,
    -- set when the dispatcher disables a webhook that kept failing; cleared on re-enable.
    disabled_reason            text,
    disabled_at                integer,
    -- first failure since the last success (auto-disable clock).
    failing_since              integer,
    created_at                 integer not null,
    updated_at                 integer not null,
    updated_by                 text    not null default ''
);
