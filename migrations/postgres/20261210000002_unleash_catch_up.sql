-- The Unleash catch-up poller's state (see server/src/unleash): one row, created by the first poll.
--
-- cursor_event_id: the highest Unleash event id the poller has taken in (not the webhook's: an event the
-- webhook brought says nothing about the ones below it that it may have missed). Only ever moves
-- forward. last_success_at / last_error / last_error_at: what the Connect page shows; any instance
-- may have polled last, so this lives here rather than in one process. caught_up: how many events
-- the poller stored that the webhook had not brought (duplicates not counted).
create table unleash_catch_up (
    id              smallint primary key check (id = 1),
    cursor_event_id bigint,
    last_success_at bigint,
    last_error      text,
    last_error_at   bigint,
    caught_up       bigint  not null default 0,
    created_at      bigint  not null,
    updated_at      bigint  not null
);
