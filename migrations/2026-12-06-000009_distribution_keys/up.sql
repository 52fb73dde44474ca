-- Every tenant table can be distributed by `org_id` (Citus): its primary key and each of its
-- unique constraints and unique indexes include `org_id`, and a foreign key from one tenant
-- table to another carries `org_id` on both sides, so that a row and everything it points at
-- live on the same shard. Foreign keys to `organizations` and `users` stay as they are: both
-- become reference tables, copied to every node (docs/scaling.md).
--
-- Ids are UUIDv7, unique in practice on their own; a key of (org_id, id) keeps every lookup
-- the code makes, since each names the organization.

-- Team seats and invite redemptions belong to one organization's team and invite: they carry
-- its id now.
ALTER TABLE team_members ADD COLUMN org_id uuid;
UPDATE team_members tm SET org_id = t.org_id FROM teams t WHERE t.id = tm.team_id;
ALTER TABLE team_members ALTER COLUMN org_id SET NOT NULL;

ALTER TABLE invite_redemptions ADD COLUMN org_id uuid;
UPDATE invite_redemptions r SET org_id = i.org_id FROM invites i WHERE i.id = r.invite_id;
ALTER TABLE invite_redemptions ALTER COLUMN org_id SET NOT NULL;

-- Foreign keys between tenant tables go before the keys they reference change.
ALTER TABLE team_members DROP CONSTRAINT team_members_team_id_fkey;
ALTER TABLE team_members DROP CONSTRAINT team_members_member_id_fkey;
ALTER TABLE invites DROP CONSTRAINT invites_team_id_fkey;
ALTER TABLE invite_redemptions DROP CONSTRAINT invite_redemptions_invite_id_fkey;
ALTER TABLE scim_users DROP CONSTRAINT scim_users_member_id_fkey;
ALTER TABLE scim_group_roles DROP CONSTRAINT scim_group_roles_team_id_fkey;
ALTER TABLE webhook_deliveries DROP CONSTRAINT webhook_deliveries_webhook_id_fkey;

-- Primary keys. Each replaces an (org_id, id) index that only served keyset pages.
ALTER TABLE memberships DROP CONSTRAINT memberships_pkey, ADD CONSTRAINT memberships_pkey PRIMARY KEY (org_id, id);
DROP INDEX memberships_org_page;
ALTER TABLE audit_events DROP CONSTRAINT audit_events_pkey, ADD CONSTRAINT audit_events_pkey PRIMARY KEY (org_id, id);
ALTER TABLE roles DROP CONSTRAINT roles_pkey, ADD CONSTRAINT roles_pkey PRIMARY KEY (org_id, id);
ALTER TABLE api_keys DROP CONSTRAINT api_keys_pkey, ADD CONSTRAINT api_keys_pkey PRIMARY KEY (org_id, id);
DROP INDEX api_keys_org_page;
ALTER TABLE teams DROP CONSTRAINT teams_pkey, ADD CONSTRAINT teams_pkey PRIMARY KEY (org_id, id);
DROP INDEX teams_org_page;
ALTER TABLE team_members DROP CONSTRAINT team_members_pkey,
    ADD CONSTRAINT team_members_pkey PRIMARY KEY (org_id, team_id, member_id);
ALTER TABLE invites DROP CONSTRAINT invites_pkey, ADD CONSTRAINT invites_pkey PRIMARY KEY (org_id, id);
DROP INDEX invites_org_page;
ALTER TABLE invite_redemptions DROP CONSTRAINT invite_redemptions_pkey,
    ADD CONSTRAINT invite_redemptions_pkey PRIMARY KEY (org_id, invite_id, member_id);
ALTER TABLE org_domains DROP CONSTRAINT org_domains_pkey, ADD CONSTRAINT org_domains_pkey PRIMARY KEY (org_id, id);
ALTER TABLE join_requests DROP CONSTRAINT join_requests_pkey, ADD CONSTRAINT join_requests_pkey PRIMARY KEY (org_id, id);
ALTER TABLE scim_users DROP CONSTRAINT scim_users_pkey, ADD CONSTRAINT scim_users_pkey PRIMARY KEY (org_id, member_id);
ALTER TABLE usage_events DROP CONSTRAINT usage_events_pkey, ADD CONSTRAINT usage_events_pkey PRIMARY KEY (org_id, id);
ALTER TABLE webhooks DROP CONSTRAINT webhooks_pkey, ADD CONSTRAINT webhooks_pkey PRIMARY KEY (org_id, id);
DROP INDEX webhooks_org;
ALTER TABLE webhook_deliveries DROP CONSTRAINT webhook_deliveries_pkey,
    ADD CONSTRAINT webhook_deliveries_pkey PRIMARY KEY (org_id, id);
-- The feed is read by (org_id, seq) already; the event's id stays unique within its organization.
ALTER TABLE events DROP CONSTRAINT events_pkey, ADD CONSTRAINT events_pkey PRIMARY KEY (org_id, seq);
ALTER TABLE events DROP CONSTRAINT events_id_key, ADD CONSTRAINT events_org_id_key UNIQUE (org_id, id);
DROP INDEX events_org_seq;

-- Foreign keys between tenant tables, now within one organization.
ALTER TABLE team_members
    ADD CONSTRAINT team_members_team_fkey FOREIGN KEY (org_id, team_id)
        REFERENCES teams (org_id, id) ON DELETE CASCADE,
    -- Leaving or being removed from the organization still removes the team seats.
    ADD CONSTRAINT team_members_member_fkey FOREIGN KEY (org_id, member_id)
        REFERENCES memberships (org_id, id) ON DELETE CASCADE;
DROP INDEX team_members_member;
CREATE INDEX team_members_member ON team_members (org_id, member_id);
-- Deleting a team clears the invite's team, never its organization.
ALTER TABLE invites ADD CONSTRAINT invites_team_fkey FOREIGN KEY (org_id, team_id)
    REFERENCES teams (org_id, id) ON DELETE SET NULL (team_id);
ALTER TABLE invite_redemptions ADD CONSTRAINT invite_redemptions_invite_fkey FOREIGN KEY (org_id, invite_id)
    REFERENCES invites (org_id, id);
ALTER TABLE scim_users ADD CONSTRAINT scim_users_member_fkey FOREIGN KEY (org_id, member_id)
    REFERENCES memberships (org_id, id) ON DELETE CASCADE;
ALTER TABLE scim_group_roles ADD CONSTRAINT scim_group_roles_team_fkey FOREIGN KEY (org_id, team_id)
    REFERENCES teams (org_id, id) ON DELETE CASCADE;
ALTER TABLE webhook_deliveries ADD CONSTRAINT webhook_deliveries_webhook_fkey FOREIGN KEY (org_id, webhook_id)
    REFERENCES webhooks (org_id, id) ON DELETE CASCADE;

-- Secrets are found by their keyed hash before the organization is known (an API key, an
-- invite link, a SCIM token). A unique index on the hash alone cannot be kept on a table
-- distributed by org_id; the hash is an HMAC-SHA256 of a random secret of about 190 bits,
-- so two equal hashes do not happen, and a plain index keeps the lookup.
ALTER TABLE api_keys DROP CONSTRAINT api_keys_lookup_hash_key;
CREATE INDEX api_keys_lookup_hash ON api_keys (lookup_hash);
ALTER TABLE invites DROP CONSTRAINT invites_lookup_hash_key;
CREATE INDEX invites_lookup_hash ON invites (lookup_hash);
ALTER TABLE scim_configs DROP CONSTRAINT scim_configs_token_hash_key;
CREATE INDEX scim_configs_token_hash ON scim_configs (token_hash) WHERE token_hash IS NOT NULL;

-- Only one organization may hold a domain verified: a guarantee across tenants, so it moves
-- out of org_domains into a table of its own (a reference table under Citus), which also
-- answers "which organization verified this domain" without visiting every shard. The
-- domain repository writes it with the domain, in the same transaction.
CREATE TABLE verified_domains (
    domain     text PRIMARY KEY,
    org_id     uuid NOT NULL REFERENCES organizations (id),
    -- The org_domains row holding it (no foreign key: a reference table cannot point into a
    -- distributed one).
    domain_id  uuid NOT NULL
);
CREATE UNIQUE INDEX verified_domains_domain_id ON verified_domains (org_id, domain_id);
INSERT INTO verified_domains (domain, org_id, domain_id)
SELECT domain, org_id, id FROM org_domains WHERE verified_at IS NOT NULL;
DROP INDEX org_domains_verified_once;
