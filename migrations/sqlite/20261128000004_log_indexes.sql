-- Indexes for the delivery log at scale (measured with 1,000,000 deliveries):
-- all webhooks filtered by state, newest first;
create index deliveries_state on deliveries (state, id desc);
-- the dashboard's last-24-hours figures, answered from the index alone.
drop index deliveries_created;
create index deliveries_created on deliveries (created_at, webhook_id, state);
