DROP TABLE platform_audit_events;
DROP FUNCTION platform_audit_events_refuse_change();
DROP INDEX organizations_admin_search_trgm;
ALTER TABLE organizations DROP COLUMN feature_overrides;
