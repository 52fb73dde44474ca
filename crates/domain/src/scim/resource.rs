//! SCIM resources as JSON: validating and normalising what an identity provider sends
//! against the published schema, and choosing what a response returns
//! (`attributes` / `excludedAttributes`).
//!
//! A normalised resource holds each attribute once, under its schema's spelling, at the
//! top level for the core schema and under the extension's URN for an extension; values
//! have their schema's type; `null`s, empty lists and read-only attributes are gone.

use serde_json::{Map, Value};

use super::fault::ScimFault;
use super::filter::{AttrPath, AttributeKind};
use super::schema::{AttrDef, Mutability, ResourceSchema, Returned};

/// The longest string value accepted, in characters.
pub const MAX_STRING_CHARS: usize = 2048;
/// The most values a multi-valued attribute other than `members` holds.
pub const MAX_VALUES: usize = 100;
/// The most members a group holds.
pub const MAX_MEMBERS: usize = 50_000;
/// The longest `externalId` kept, in characters.
pub const MAX_EXTERNAL_ID_CHARS: usize = 256;

/// Normalises a whole resource (the body of POST or PUT, or a resource after PATCH).
/// Read-only and common attributes (`id`, `meta`, `schemas`) are ignored, `externalId` is
/// kept; an attribute this service does not implement is ignored, as RFC 7644 §3.3 allows.
pub fn normalize(body: &Value, schema: &ResourceSchema) -> Result<Map<String, Value>, ScimFault> {
    let Value::Object(input) = body else {
        return Err(ScimFault::InvalidSyntax("a resource is a JSON object".into()));
    };
    let mut out = Map::new();
    for (key, value) in input {
        if key.eq_ignore_ascii_case("externalId") {
            if let Some(v) = string_value("externalId", value, false)? {
                if v.chars().count() > MAX_EXTERNAL_ID_CHARS {
                    return Err(ScimFault::invalid_value(format!(
                        "`externalId` has at most {MAX_EXTERNAL_ID_CHARS} characters"
                    )));
                }
                out.insert("externalId".into(), Value::String(v));
            }
            continue;
        }
        if let Some(ext) = schema.extension(key) {
            let Value::Object(fields) = value else {
                if value.is_null() {
                    continue;
                }
                return Err(ScimFault::invalid_value(format!("`{key}` holds the extension's attributes: an object")));
            };
            let mut ext_out = Map::new();
            for (name, v) in fields {
                if let Some(def) = ext.attr(name) {
                    if let Some(v) = attribute_value(def, v)? {
                        ext_out.insert(def.name.into(), v);
                    }
                }
            }
            if !ext_out.is_empty() {
                out.insert(ext.id.into(), Value::Object(ext_out));
            }
            continue;
        }
        if let Some(def) = schema.core.attr(key) {
            if let Some(v) = attribute_value(def, value)? {
                out.insert(def.name.into(), v);
            }
        }
    }
    for def in schema.core.attributes.iter().filter(|d| d.required) {
        if !out.contains_key(def.name) {
            return Err(ScimFault::invalid_value(format!("`{}` is required", def.name)));
        }
    }
    Ok(out)
}

/// One attribute's value, normalised; `None` when it is empty or read-only.
pub(crate) fn attribute_value(def: &AttrDef, value: &Value) -> Result<Option<Value>, ScimFault> {
    if def.mutability == Mutability::ReadOnly || value.is_null() {
        return Ok(None);
    }
    if !def.multi {
        return single_value(def, def.name, value);
    }
    let items = match value {
        Value::Array(items) => items.as_slice(),
        other => std::slice::from_ref(other),
    };
    let limit = if def.name == "members" { MAX_MEMBERS } else { MAX_VALUES };
    if items.len() > limit {
        return Err(ScimFault::invalid_value(format!("`{}` holds at most {limit} values", def.name)));
    }
    let mut out: Vec<Value> = Vec::with_capacity(items.len());
    let mut seen = std::collections::HashSet::with_capacity(items.len());
    for item in items {
        if let Some(v) = single_value(def, def.name, item)? {
            if seen.insert(v.to_string()) {
                out.push(v);
            }
        }
    }
    keep_one_primary(&mut out);
    Ok((!out.is_empty()).then_some(Value::Array(out)))
}

/// RFC 7644 §3.5.2: at most one value is primary; the last one marked wins.
pub(crate) fn keep_one_primary(values: &mut [Value]) {
    let last = values.iter().rposition(|v| v.get("primary") == Some(&Value::Bool(true)));
    for (i, v) in values.iter_mut().enumerate() {
        if let (Some(last), Some(Value::Bool(primary))) = (last, v.get_mut("primary")) {
            *primary = i == last;
        }
    }
}

fn single_value(def: &AttrDef, name: &str, value: &Value) -> Result<Option<Value>, ScimFault> {
    if value.is_null() {
        return Ok(None);
    }
    match def.kind {
        AttributeKind::Complex => {
            let Value::Object(fields) = value else {
                return Err(ScimFault::invalid_value(format!("`{name}` is a complex attribute: an object")));
            };
            let mut out = Map::new();
            for (key, v) in fields {
                let Some(sub) = def.sub_attr(key) else { continue };
                if let Some(v) = attribute_value(sub, v)? {
                    out.insert(sub.name.into(), v);
                }
            }
            Ok((!out.is_empty()).then_some(Value::Object(out)))
        }
        AttributeKind::Boolean => boolean(name, value).map(|b| Some(Value::Bool(b))),
        _ => Ok(string_value(name, value, true)?.map(Value::String)),
    }
}

/// A boolean, also as the strings `"True"` and `"False"` in any case, as Microsoft Entra
/// ID sends them.
pub(crate) fn boolean(name: &str, value: &Value) -> Result<bool, ScimFault> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        _ => Err(ScimFault::invalid_value(format!("`{name}` is a boolean"))),
    }
}

/// A string; numbers are taken as their decimal text (some identity providers send
/// employee numbers as numbers). An empty string is no value.
fn string_value(name: &str, value: &Value, numbers: bool) -> Result<Option<String>, ScimFault> {
    let text = match value {
        Value::Null => return Ok(None),
        Value::String(s) => s.clone(),
        Value::Number(n) if numbers => n.to_string(),
        _ => return Err(ScimFault::invalid_value(format!("`{name}` is a string"))),
    };
    if text.chars().count() > MAX_STRING_CHARS {
        return Err(ScimFault::invalid_value(format!("`{name}` has at most {MAX_STRING_CHARS} characters")));
    }
    if text.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(ScimFault::invalid_value(format!("`{name}` must not contain control characters")));
    }
    Ok((!text.is_empty()).then_some(text))
}

/// Which attributes a response carries (RFC 7644 §3.9).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Projection {
    /// `attributes`: only these, with those always returned.
    pub attributes: Vec<AttrPath>,
    /// `excludedAttributes`: all but these (never those always returned).
    pub excluded: Vec<AttrPath>,
}

impl Projection {
    /// Parses the comma-separated lists of the query.
    pub fn parse(attributes: Option<&str>, excluded: Option<&str>) -> Result<Self, ScimFault> {
        let list = |raw: Option<&str>| -> Result<Vec<AttrPath>, ScimFault> {
            raw.unwrap_or("")
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|p| super::path::PatchPath::parse(p).map(|p| p.target()).map_err(ScimFault::from))
                .collect()
        };
        Ok(Self { attributes: list(attributes)?, excluded: list(excluded)? })
    }

    /// `resource` (a full resource in its response form) cut down to what was asked for.
    pub fn apply(&self, resource: Value, schema: &ResourceSchema) -> Value {
        let Value::Object(map) = resource else { return resource };
        let mut out = Map::new();
        for (key, value) in map {
            if let Some(ext) = schema.extension(&key) {
                let Value::Object(fields) = value else { continue };
                let kept: Map<String, Value> = fields
                    .into_iter()
                    .filter_map(|(name, v)| {
                        let path = AttrPath::new(Some(ext.id), &name, None);
                        self.keep(&path, ext.attr(&name).map(|d| d.returned)).then(|| (name.clone(), v))
                    })
                    .filter_map(|(name, v)| Some((name.clone(), self.sub_project(Some(ext.id), &name, v)?)))
                    .collect();
                if !kept.is_empty() {
                    out.insert(key, Value::Object(kept));
                }
                continue;
            }
            let returned = match key.as_str() {
                "schemas" | "id" => Some(Returned::Always),
                _ => schema.core.attr(&key).map(|d| d.returned),
            };
            let path = AttrPath::new(None, &key, None);
            if self.keep(&path, returned) {
                if let Some(v) = self.sub_project(None, &key, value) {
                    out.insert(key, v);
                }
            }
        }
        Value::Object(out)
    }

    fn keep(&self, path: &AttrPath, returned: Option<Returned>) -> bool {
        if returned == Some(Returned::Always) {
            return true;
        }
        if returned == Some(Returned::Never) {
            return false;
        }
        let same = |p: &AttrPath| same_attr(p, path);
        if !self.attributes.is_empty() {
            return self.attributes.iter().any(same);
        }
        !self.excluded.iter().any(|p| same(p) && p.sub_attr().is_none())
    }

    /// A kept attribute's sub-attributes, when the lists name some of them.
    fn sub_project(&self, schema: Option<&str>, name: &str, value: Value) -> Option<Value> {
        let path = AttrPath::new(schema, name, None);
        let named_subs = |list: &[AttrPath]| -> Vec<String> {
            list.iter().filter(|p| same_attr(p, &path)).filter_map(|p| p.sub_attr().map(str::to_owned)).collect()
        };
        let only = named_subs(&self.attributes);
        let whole_asked = self.attributes.iter().any(|p| same_attr(p, &path) && p.sub_attr().is_none());
        let drop = named_subs(&self.excluded);
        let cut = |v: Value| -> Value {
            let Value::Object(fields) = v else { return v };
            Value::Object(
                fields
                    .into_iter()
                    .filter(|(k, _)| {
                        let k = k.to_ascii_lowercase();
                        (whole_asked || only.is_empty() || only.contains(&k)) && !drop.contains(&k)
                    })
                    .collect(),
            )
        };
        match value {
            Value::Array(items) => {
                let items: Vec<Value> =
                    items.into_iter().map(cut).filter(|v| !v.as_object().is_some_and(Map::is_empty)).collect();
                (!items.is_empty()).then_some(Value::Array(items))
            }
            other => {
                let v = cut(other);
                (!v.as_object().is_some_and(Map::is_empty)).then_some(v)
            }
        }
    }
}

/// Whether two paths name the same attribute (sub-attributes aside), a missing schema URN
/// matching any schema.
fn same_attr(a: &AttrPath, b: &AttrPath) -> bool {
    a.name() == b.name() && (a.schema().is_none() || b.schema().is_none() || a.schema() == b.schema())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::scim::schema::{ENTERPRISE_USER_SCHEMA, USER_RESOURCE};

    #[test]
    fn attributes_are_recognised_in_any_case_and_typed() {
        let body = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "USERNAME": "ada@example.com",
            "id": "ignored",
            "active": "False",
            "externalid": "00u1",
            "emails": {"value": "ada@example.com", "TYPE": "work", "primary": "true"},
            "password": "never stored",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"EmployeeNumber": 42, "manager": {"value": "m", "displayName": "ro"}},
        });
        let out = normalize(&body, &USER_RESOURCE).unwrap();
        assert_eq!(
            Value::Object(out),
            json!({
                "userName": "ada@example.com",
                "active": false,
                "externalId": "00u1",
                "emails": [{"value": "ada@example.com", "type": "work", "primary": true}],
                ENTERPRISE_USER_SCHEMA: {"employeeNumber": "42", "manager": {"value": "m"}},
            })
        );
    }

    #[test]
    fn a_missing_required_attribute_or_a_wrong_type_is_an_invalid_value() {
        assert!(matches!(normalize(&json!({"displayName": "x"}), &USER_RESOURCE), Err(ScimFault::InvalidValue(_))));
        assert!(matches!(
            normalize(&json!({"userName": "x", "active": "maybe"}), &USER_RESOURCE),
            Err(ScimFault::InvalidValue(_))
        ));
        assert!(matches!(normalize(&json!({"userName": ["x"]}), &USER_RESOURCE), Err(ScimFault::InvalidValue(_))));
        assert!(matches!(normalize(&json!([]), &USER_RESOURCE), Err(ScimFault::InvalidSyntax(_))));
    }

    #[test]
    fn only_one_value_stays_primary() {
        let body = json!({"userName": "x", "emails": [
            {"value": "a@x.com", "primary": true}, {"value": "b@x.com", "primary": true}, {"value": "b@x.com", "primary": true}
        ]});
        let out = normalize(&body, &USER_RESOURCE).unwrap();
        assert_eq!(
            out["emails"],
            json!([{"value": "a@x.com", "primary": false}, {"value": "b@x.com", "primary": true}])
        );
    }

    #[test]
    fn projections_keep_what_is_always_returned() {
        let full = json!({
            "schemas": ["s"], "id": "mem_1", "userName": "u", "displayName": "d",
            "name": {"givenName": "g", "familyName": "f"},
            ENTERPRISE_USER_SCHEMA: {"department": "x", "costCenter": "c"},
        });
        let only = Projection::parse(
            Some("userName,name.givenName,urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"),
            None,
        )
        .unwrap();
        assert_eq!(
            only.apply(full.clone(), &USER_RESOURCE),
            json!({"schemas": ["s"], "id": "mem_1", "userName": "u", "name": {"givenName": "g"}, ENTERPRISE_USER_SCHEMA: {"department": "x"}})
        );
        let without = Projection::parse(None, Some("displayName,id,name")).unwrap();
        assert_eq!(
            without.apply(full, &USER_RESOURCE),
            json!({"schemas": ["s"], "id": "mem_1", "userName": "u", ENTERPRISE_USER_SCHEMA: {"department": "x", "costCenter": "c"}})
        );
    }
}
