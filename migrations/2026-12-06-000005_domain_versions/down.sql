DROP TRIGGER org_domains_bump_version ON org_domains;
ALTER TABLE org_domains DROP COLUMN version;
