//! Members and teams as SCIM resources.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Map, Value};

use super::directory::{DirectoryGroup, DirectoryUser};
use super::schema::{ResourceSchema, ENTERPRISE_USER_SCHEMA, GROUP_RESOURCE, USER_RESOURCE};

/// A resource's version, its weak `ETag`: when it last changed, to the microsecond.
pub(super) fn version(last_modified: DateTime<Utc>) -> String {
    format!("W/\"{}\"", last_modified.timestamp_micros())
}

pub(super) fn user_last_modified(user: &DirectoryUser) -> DateTime<Utc> {
    let membership = user.membership.updated_at;
    user.scim.as_ref().map_or(membership, |s| s.updated_at.max(membership))
}

/// The member's normalised attributes: as the identity provider set them, else from the
/// person's profile. `active` always tells the truth about a suspension.
pub(super) fn user_doc(user: &DirectoryUser) -> Map<String, Value> {
    let suspended = user.membership.is_suspended();
    match &user.scim {
        Some(record) => {
            let mut doc = record.attributes.clone();
            // `active` as sent, but never other than the membership's state.
            if suspended || doc.contains_key("active") {
                doc.insert("active".into(), Value::Bool(!suspended));
            }
            doc
        }
        None => {
            let mut doc = Map::new();
            let user_name =
                user.email.as_ref().map_or_else(|| user.membership.id.to_string(), |e| e.as_str().to_owned());
            doc.insert("userName".into(), Value::String(user_name));
            if let Some(name) = &user.name {
                doc.insert("displayName".into(), Value::String(name.clone()));
            }
            if let Some(email) = &user.email {
                doc.insert("emails".into(), json!([{ "value": email.as_str(), "primary": true }]));
            }
            doc.insert("active".into(), Value::Bool(!suspended));
            doc
        }
    }
}

pub(super) fn user_json(user: &DirectoryUser, base_url: &str) -> Value {
    let id = user.membership.id.to_string();
    let meta = meta(&USER_RESOURCE, base_url, &id, user.membership.joined_at, user_last_modified(user));
    resource_json(&USER_RESOURCE, id, user_doc(user), meta)
}

/// The team's normalised attributes.
pub(super) fn group_doc(group: &DirectoryGroup, base_url: &str) -> Map<String, Value> {
    let mut doc = Map::new();
    doc.insert("displayName".into(), Value::String(group.team.name.as_str().to_owned()));
    if let Some(external_id) = &group.team.external_id {
        doc.insert("externalId".into(), Value::String(external_id.clone()));
    }
    if !group.members.is_empty() {
        let members = group
            .members
            .iter()
            .map(|(id, _)| json!({ "value": id.to_string(), "$ref": format!("{base_url}/Users/{id}"), "type": "User" }))
            .collect();
        doc.insert("members".into(), Value::Array(members));
    }
    doc
}

pub(super) fn group_json(group: &DirectoryGroup, base_url: &str) -> Value {
    let id = group.team.id.to_string();
    let meta = meta(&GROUP_RESOURCE, base_url, &id, group.team.created_at, group.team.updated_at);
    resource_json(&GROUP_RESOURCE, id, group_doc(group, base_url), meta)
}

fn meta(schema: &ResourceSchema, base_url: &str, id: &str, created: DateTime<Utc>, modified: DateTime<Utc>) -> Value {
    json!({
        "resourceType": schema.name,
        "created": created.to_rfc3339_opts(SecondsFormat::Micros, true),
        "lastModified": modified.to_rfc3339_opts(SecondsFormat::Micros, true),
        "location": format!("{base_url}{}/{id}", schema.endpoint),
        "version": version(modified),
    })
}

fn resource_json(schema: &ResourceSchema, id: String, doc: Map<String, Value>, meta: Value) -> Value {
    let mut schemas = vec![Value::String(schema.core.id.into())];
    if doc.contains_key(ENTERPRISE_USER_SCHEMA) {
        schemas.push(Value::String(ENTERPRISE_USER_SCHEMA.into()));
    }
    let mut out = Map::new();
    out.insert("schemas".into(), Value::Array(schemas));
    out.insert("id".into(), Value::String(id));
    out.extend(doc);
    out.insert("meta".into(), meta);
    Value::Object(out)
}
