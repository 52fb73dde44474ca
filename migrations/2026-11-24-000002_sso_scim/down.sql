DROP TABLE scim_configs;
DROP TABLE sso_configs;
