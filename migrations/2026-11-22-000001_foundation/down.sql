DROP TABLE audit_chain_heads;
DROP TABLE audit_events;
DROP FUNCTION audit_events_refuse_change();
DROP TABLE memberships;
DROP TABLE organizations;
DROP TABLE users;
DROP EXTENSION IF EXISTS pg_trgm;
