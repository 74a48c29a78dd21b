-- Each webhook's due deliveries in due order: the dispatcher reads every webhook's oldest due work
-- from its own range of this index, so a paused or hanging receiver's backlog is never scanned
-- (see `due_deliveries`).
create index deliveries_webhook_due on deliveries (webhook_id, next_attempt_at) where next_attempt_at is not null;
