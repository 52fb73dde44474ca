DROP TABLE outbox_emails;
DROP TABLE invite_redemptions;
DROP TABLE invites;
