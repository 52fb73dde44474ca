//! Examples of `/scim/v2` bodies for the OpenAPI document: what an identity provider sends
//! (RFC 7643 resources, RFC 7644 messages) and what it gets back. The discovery answers are
//! the real ones, rendered for an example address.

use orgd_domain::scim::schema::{ALL, ENTERPRISE_USER_SCHEMA};
use serde_json::{json, Value};

use super::discovery;

/// Where an organization's SCIM endpoints answer, in the examples.
const BASE_URL: &str = "https://orgd.example.com/scim/v2";
const USER_ID: &str = "mem_0192f0c1a4e37b6c9d5e8f10a2b3c4d5";
const GROUP_ID: &str = "team_0192f0c1a4e37b6c9d5e8f10a2b3c4d5";
const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

/// A User as an identity provider creates or replaces it.
pub fn user_request() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE_USER_SCHEMA],
        "externalId": "00u1a2b3c4d5e6f7g8h9",
        "userName": "ada@acme.com",
        "name": { "givenName": "Ada", "familyName": "Lovelace", "formatted": "Ada Lovelace" },
        "displayName": "Ada Lovelace",
        "title": "Staff engineer",
        "emails": [{ "value": "ada@acme.com", "type": "work", "primary": true }],
        "active": true,
        ENTERPRISE_USER_SCHEMA: { "employeeNumber": "1815", "department": "Engineering" },
    })
}

/// A User as the service returns it: the request's attributes, with its id and `meta`.
pub fn user() -> Value {
    let mut user = user_request();
    user["id"] = json!(USER_ID);
    user["meta"] = meta("User", "Users", USER_ID);
    user
}

/// A Group as an identity provider creates or replaces it.
pub fn group_request() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "externalId": "00g9h8g7f6e5d4c3b2a1",
        "displayName": "Platform",
        "members": [{ "value": USER_ID }],
    })
}

/// A Group as the service returns it.
pub fn group() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "id": GROUP_ID,
        "externalId": "00g9h8g7f6e5d4c3b2a1",
        "displayName": "Platform",
        "members": [{ "value": USER_ID, "$ref": format!("{BASE_URL}/Users/{USER_ID}"), "type": "User" }],
        "meta": meta("Group", "Groups", GROUP_ID),
    })
}

fn meta(resource_type: &str, endpoint: &str, id: &str) -> Value {
    json!({
        "resourceType": resource_type,
        "created": "2026-03-02T09:30:00.000000Z",
        "lastModified": "2026-03-02T09:30:00.000000Z",
        "location": format!("{BASE_URL}/{endpoint}/{id}"),
        "version": "W/\"1772443800000000\"",
    })
}

fn list(resources: Vec<Value>) -> Value {
    json!({
        "schemas": [LIST_RESPONSE],
        "totalResults": resources.len(),
        "startIndex": 1,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

pub fn user_list() -> Value {
    list(vec![user()])
}

pub fn group_list() -> Value {
    list(vec![group()])
}

/// What `/.search` finds: Users, then Groups.
pub fn search_results() -> Value {
    list(vec![user(), group()])
}

/// A SearchRequest: the Users of a domain, a page of ten, with the attributes a sync needs.
pub fn search_request() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "filter": "userName ew \"@acme.com\" and active eq true",
        "startIndex": 1,
        "count": 10,
        "attributes": ["userName", "emails", "active"],
    })
}

/// A PatchOp as Microsoft Entra ID sends it to deactivate a User and change their title.
pub fn user_patch() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            { "op": "replace", "path": "active", "value": false },
            { "op": "replace", "path": "title", "value": "Principal engineer" },
        ],
    })
}

/// A PatchOp adding one member to a Group and removing another.
pub fn group_patch() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            { "op": "add", "path": "members", "value": [{ "value": USER_ID }] },
            { "op": "remove", "path": "members[value eq \"mem_0192f0c1a4e37b6c9d5e8f10a2b3c4d6\"]" },
        ],
    })
}

pub fn service_provider_config() -> Value {
    discovery::service_provider_config(BASE_URL)
}

pub fn resource_types() -> Value {
    discovery::resource_types(BASE_URL)
}

pub fn resource_type() -> Value {
    discovery::resource_type(&orgd_domain::scim::schema::USER_RESOURCE, BASE_URL)
}

pub fn schemas() -> Value {
    discovery::schemas(BASE_URL)
}

pub fn schema() -> Value {
    ALL[0].to_json(BASE_URL)
}
