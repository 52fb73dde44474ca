-- SCIM provisioning: people an identity provider provisioned before they ever signed in,
-- suspended memberships, and the SCIM attributes of provisioned members.

-- A provisioned person has no subject until they first sign in with a verified email
-- equal to the one provisioned; several such rows are allowed (NULLs are distinct).
ALTER TABLE users ALTER COLUMN subject DROP NOT NULL;
-- Finds who to link at sign-in, and who holds an address in SCIM lookups.
CREATE INDEX users_email ON users (email);

-- A suspended member keeps role and team seats and is refused at the gate.
ALTER TABLE memberships ADD COLUMN suspended_at timestamptz;
-- `scim_group` when a group-to-role mapping gave the role, so leaving the group takes it back.
ALTER TABLE memberships ADD COLUMN role_source text CHECK (role_source IN ('scim_group'));
-- Owners still holding the org: the last-owner rule counts these.
CREATE INDEX memberships_org_active_owner ON memberships (org_id) WHERE role = 'owner' AND suspended_at IS NULL;

-- The SCIM User attributes of a provisioned member; the member id is the SCIM id.
CREATE TABLE scim_users (
    member_id    uuid PRIMARY KEY REFERENCES memberships (id) ON DELETE CASCADE,
    org_id       uuid NOT NULL REFERENCES organizations (id),
    user_name    text NOT NULL CHECK (char_length(user_name) BETWEEN 1 AND 256),
    external_id  text,
    -- The stored attributes (name, displayName, emails, enterprise extension…), already
    -- validated against the published schema.
    attributes   jsonb NOT NULL,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL
);
CREATE UNIQUE INDEX scim_users_org_user_name_key ON scim_users (org_id, lower(user_name));
CREATE INDEX scim_users_org_external_id ON scim_users (org_id, external_id) WHERE external_id IS NOT NULL;

-- Which role the members of a group (team) get, in the order the mappings apply; a
-- mapping gives its role only while the person who set it could still set it.
CREATE TABLE scim_group_roles (
    org_id     uuid NOT NULL REFERENCES organizations (id),
    team_id    uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    role       text NOT NULL CHECK (role ~ '^[a-z][a-z0-9_-]{0,39}$' AND role <> 'owner'),
    set_by     uuid NOT NULL REFERENCES users (id),
    position   integer NOT NULL CHECK (position >= 0),
    PRIMARY KEY (org_id, team_id),
    CONSTRAINT scim_group_roles_position_key UNIQUE (org_id, position) DEFERRABLE INITIALLY DEFERRED
);
