-- Metrics count what delivery gave up on at every scrape; these keep that count to the few
-- rows concerned, as the pending ones already are (`outbox_emails_due`, `webhook_deliveries_line`).
CREATE INDEX outbox_emails_dead ON outbox_emails (created_at) WHERE status = 'dead';
CREATE INDEX webhook_deliveries_failed ON webhook_deliveries (created_at) WHERE status = 'failed';
