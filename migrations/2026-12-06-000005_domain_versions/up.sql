-- The version of a domain, its ETag: bumped by every change a client sees (its join policy,
-- its verification), not by the daily re-check finding it unchanged, so that an `If-Match`
-- read before a change of the policy is refused.
ALTER TABLE org_domains ADD COLUMN version BIGINT NOT NULL DEFAULT 1;

CREATE TRIGGER org_domains_bump_version BEFORE UPDATE ON org_domains FOR EACH ROW
    WHEN (OLD.join_policy IS DISTINCT FROM NEW.join_policy OR OLD.join_role IS DISTINCT FROM NEW.join_role
          OR OLD.join_role_set_by IS DISTINCT FROM NEW.join_role_set_by
          OR OLD.verified_at IS DISTINCT FROM NEW.verified_at OR OLD.challenge IS DISTINCT FROM NEW.challenge)
    EXECUTE FUNCTION bump_version();
