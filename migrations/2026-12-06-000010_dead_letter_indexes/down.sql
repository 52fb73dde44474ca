DROP INDEX webhook_deliveries_failed;
DROP INDEX outbox_emails_dead;
