-- Events received through the intake API, their deliveries (one per matching webhook) and every
-- delivery attempt. The dispatcher's queue is the deliveries table itself: a delivery is due when
-- next_attempt_at has passed and no live lease holds it.

create table events (
    -- Unleash's event id: the client's when it sent one (the idempotency key), else assigned.
    id          integer primary key autoincrement,
    type        text    not null,
    -- the event in Unleash's format (its id is this row's id, set when it is read back)
    payload     text    not null,
    feature_name text,
    project     text,
    environment text,
    created_by  text    not null default '',
    -- 'api' for the intake, 'test' for test sends from the UI
    source      text    not null default 'api',
    created_at  integer not null,
    received_at integer not null
);
create index events_received_at on events (received_at desc, id desc);

create table deliveries (
    id               integer primary key,
    -- the webhook-id header: stable across retries, the receiver's idempotency key
    uid              text    not null unique,
    webhook_id       integer not null references webhooks (id) on delete cascade,
    event_id         integer not null references events (id) on delete cascade,
    event_type       text    not null,
    -- pending | retrying | succeeded | failed
    state            text    not null default 'pending',
    -- Unleash's view: success | failed | successWithErrors, and its stateDetails text
    unleash_state    text,
    state_details    text,
    attempts         integer not null default 0,
    last_status      integer,
    last_error_class text,
    last_duration_ms integer,
    -- set while a dispatcher works on it; expired leases make crashed work due again
    lease_until      integer,
    -- when the next attempt is due; null once the delivery is final
    next_attempt_at  integer,
    -- the trigger of the next attempt: scheduled | manual | test
    next_trigger     text    not null default 'scheduled',
    -- manual redeliveries and test sends get exactly one attempt, never a retry chain
    single_attempt   integer not null default 0,
    created_at       integer not null,
    updated_at       integer not null
);
create index deliveries_due on deliveries (next_attempt_at) where next_attempt_at is not null;
create index deliveries_webhook on deliveries (webhook_id, id desc);
create index deliveries_webhook_state on deliveries (webhook_id, state, id desc);
create index deliveries_event on deliveries (event_id);
create index deliveries_created on deliveries (created_at);

create table attempts (
    id                     integer primary key,
    delivery_id            integer not null references deliveries (id) on delete cascade,
    number                 integer not null,
    -- scheduled | manual | test
    trigger                text    not null,
    url                    text    not null,
    -- JSON [[name, value], ...], secrets redacted
    request_headers        text    not null,
    request_body           text    not null,
    -- 0 when no response arrived
    status                 integer not null,
    response_headers       text,
    response_body          text,
    response_body_encoding text    not null default 'utf-8',
    duration_ms            integer not null,
    -- dns | connect | timeout | tls | blocked | redirect | http | render
    error_class            text,
    error_message          text,
    started_at             integer not null,
    next_attempt_at        integer
);
create index attempts_delivery on attempts (delivery_id, number);
