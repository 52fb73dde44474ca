DROP TABLE join_requests;
DROP TABLE org_domains;
