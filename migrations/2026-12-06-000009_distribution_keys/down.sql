CREATE UNIQUE INDEX org_domains_verified_once ON org_domains (domain) WHERE verified_at IS NOT NULL;
DROP TABLE verified_domains;

DROP INDEX scim_configs_token_hash;
ALTER TABLE scim_configs ADD CONSTRAINT scim_configs_token_hash_key UNIQUE (token_hash);
DROP INDEX invites_lookup_hash;
ALTER TABLE invites ADD CONSTRAINT invites_lookup_hash_key UNIQUE (lookup_hash);
DROP INDEX api_keys_lookup_hash;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_lookup_hash_key UNIQUE (lookup_hash);

ALTER TABLE webhook_deliveries DROP CONSTRAINT webhook_deliveries_webhook_fkey;
ALTER TABLE scim_group_roles DROP CONSTRAINT scim_group_roles_team_fkey;
ALTER TABLE scim_users DROP CONSTRAINT scim_users_member_fkey;
ALTER TABLE invite_redemptions DROP CONSTRAINT invite_redemptions_invite_fkey;
ALTER TABLE invites DROP CONSTRAINT invites_team_fkey;
DROP INDEX team_members_member;
CREATE INDEX team_members_member ON team_members (member_id);
ALTER TABLE team_members DROP CONSTRAINT team_members_member_fkey, DROP CONSTRAINT team_members_team_fkey;

CREATE INDEX events_org_seq ON events (org_id, seq);
ALTER TABLE events DROP CONSTRAINT events_org_id_key, ADD CONSTRAINT events_id_key UNIQUE (id);
ALTER TABLE events DROP CONSTRAINT events_pkey, ADD CONSTRAINT events_pkey PRIMARY KEY (seq);
ALTER TABLE webhook_deliveries DROP CONSTRAINT webhook_deliveries_pkey, ADD CONSTRAINT webhook_deliveries_pkey PRIMARY KEY (id);
CREATE INDEX webhooks_org ON webhooks (org_id);
ALTER TABLE webhooks DROP CONSTRAINT webhooks_pkey, ADD CONSTRAINT webhooks_pkey PRIMARY KEY (id);
ALTER TABLE usage_events DROP CONSTRAINT usage_events_pkey, ADD CONSTRAINT usage_events_pkey PRIMARY KEY (id);
ALTER TABLE scim_users DROP CONSTRAINT scim_users_pkey, ADD CONSTRAINT scim_users_pkey PRIMARY KEY (member_id);
ALTER TABLE join_requests DROP CONSTRAINT join_requests_pkey, ADD CONSTRAINT join_requests_pkey PRIMARY KEY (id);
ALTER TABLE org_domains DROP CONSTRAINT org_domains_pkey, ADD CONSTRAINT org_domains_pkey PRIMARY KEY (id);
ALTER TABLE invite_redemptions DROP CONSTRAINT invite_redemptions_pkey,
    ADD CONSTRAINT invite_redemptions_pkey PRIMARY KEY (invite_id, member_id);
CREATE INDEX invites_org_page ON invites (org_id, id DESC);
ALTER TABLE invites DROP CONSTRAINT invites_pkey, ADD CONSTRAINT invites_pkey PRIMARY KEY (id);
ALTER TABLE team_members DROP CONSTRAINT team_members_pkey, ADD CONSTRAINT team_members_pkey PRIMARY KEY (team_id, member_id);
CREATE INDEX teams_org_page ON teams (org_id, id);
ALTER TABLE teams DROP CONSTRAINT teams_pkey, ADD CONSTRAINT teams_pkey PRIMARY KEY (id);
CREATE INDEX api_keys_org_page ON api_keys (org_id, id DESC);
ALTER TABLE api_keys DROP CONSTRAINT api_keys_pkey, ADD CONSTRAINT api_keys_pkey PRIMARY KEY (id);
ALTER TABLE roles DROP CONSTRAINT roles_pkey, ADD CONSTRAINT roles_pkey PRIMARY KEY (id);
ALTER TABLE audit_events DROP CONSTRAINT audit_events_pkey, ADD CONSTRAINT audit_events_pkey PRIMARY KEY (id);
CREATE INDEX memberships_org_page ON memberships (org_id, id);
ALTER TABLE memberships DROP CONSTRAINT memberships_pkey, ADD CONSTRAINT memberships_pkey PRIMARY KEY (id);

ALTER TABLE webhook_deliveries ADD CONSTRAINT webhook_deliveries_webhook_id_fkey FOREIGN KEY (webhook_id)
    REFERENCES webhooks (id) ON DELETE CASCADE;
ALTER TABLE scim_group_roles ADD CONSTRAINT scim_group_roles_team_id_fkey FOREIGN KEY (team_id)
    REFERENCES teams (id) ON DELETE CASCADE;
ALTER TABLE scim_users ADD CONSTRAINT scim_users_member_id_fkey FOREIGN KEY (member_id)
    REFERENCES memberships (id) ON DELETE CASCADE;
ALTER TABLE invite_redemptions ADD CONSTRAINT invite_redemptions_invite_id_fkey FOREIGN KEY (invite_id)
    REFERENCES invites (id);
ALTER TABLE invites ADD CONSTRAINT invites_team_id_fkey FOREIGN KEY (team_id)
    REFERENCES teams (id) ON DELETE SET NULL;
ALTER TABLE team_members
    ADD CONSTRAINT team_members_team_id_fkey FOREIGN KEY (team_id) REFERENCES teams (id) ON DELETE CASCADE,
    ADD CONSTRAINT team_members_member_id_fkey FOREIGN KEY (member_id) REFERENCES memberships (id) ON DELETE CASCADE;

ALTER TABLE invite_redemptions DROP COLUMN org_id;
ALTER TABLE team_members DROP COLUMN org_id;
