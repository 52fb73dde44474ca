-- Teams and their members.

CREATE TABLE teams (
    id           uuid PRIMARY KEY,
    org_id       uuid NOT NULL REFERENCES organizations (id),
    name         text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    description  text,
    -- The identity provider's group id when SCIM provisions the team.
    external_id  text,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL
);
CREATE UNIQUE INDEX teams_org_name_key ON teams (org_id, lower(name));
CREATE UNIQUE INDEX teams_org_external_id_key ON teams (org_id, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX teams_org_page ON teams (org_id, id);

CREATE TABLE team_members (
    team_id     uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    -- Leaving or being removed from the organization removes the team memberships in the
    -- same statement, so in the same transaction.
    member_id   uuid NOT NULL REFERENCES memberships (id) ON DELETE CASCADE,
    is_manager  boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (team_id, member_id)
);
CREATE INDEX team_members_member ON team_members (member_id);
