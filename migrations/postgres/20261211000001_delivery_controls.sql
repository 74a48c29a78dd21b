-- Per-webhook delivery controls that protect a receiver (see server/src/db/deliveries.rs and the README).
--
-- rate_limit: deliveries per second, at most (null: unlimited), across every instance. Every
-- attempt counts (first tries, retries, redeliveries and test sends alike): it is a promise to the
-- receiver.
-- rate_next_us: the rate limit's state (GCRA): the earliest time, in microseconds since the epoch,
-- the next delivery may be claimed (null: now). Advanced in the claim's transaction, under the
-- webhook's advisory lock; cleared when the limit changes.
-- ordered: deliveries leave in event order; one that is not finished (pending, retrying or in
-- flight) holds back every later one of the same webhook (head-of-line blocking), on every instance.
alter table webhooks add column rate_limit double precision
    check (rate_limit is null or (rate_limit > 0 and rate_limit <= 10000));
alter table webhooks add column rate_next_us bigint;
alter table webhooks add column ordered boolean not null default false;

-- The queued deliveries of a webhook in event order: an ordered webhook's head is the first.
create index deliveries_queued on deliveries (webhook_id, id) where next_attempt_at is not null;
