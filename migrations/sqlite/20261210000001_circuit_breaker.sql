-- The circuit breaker of each webhook (see server/src/db/deliveries.rs and the README).
--
-- consecutive_failures: failed attempts in a row (any success resets it to 0).
-- paused_until: set when the breaker is open: the webhook's deliveries are not claimed before this
-- time (they wait, their retries untouched); once it passes, one claim is let through (the probe)
-- and moves it forward by the lease; the probe's success clears it, its failure re-opens it.
-- last_failure: what the last failed attempt reported (e.g. `HTTP 503`), shown with "paused until".
-- All three are written in the transaction that records the attempts.
alter table webhooks add column consecutive_failures integer not null default 0;
alter table webhooks add column paused_until integer;
alter table webhooks add column last_failure text;
