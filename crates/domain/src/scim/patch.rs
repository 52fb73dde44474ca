//! Applying a SCIM PATCH request (RFC 7644 §3.5.2) to a normalised resource.
//!
//! Besides the RFC's shapes it takes what identity providers really send: operation names
//! in any case (`"Replace"`), booleans as strings (`"False"`), an operation without `path`
//! whose value maps attribute paths (`"name.givenName"`) or extension URNs to values, and
//! `remove` of `members` carrying the values to remove. Removing what is not there is no
//! error, so an identity provider's retry does not fail.

use serde_json::{Map, Value};

use super::fault::ScimFault;
use super::filter::{AttrPath, CompValue, CompareOp, Filter};
use super::path::PatchPath;
use super::resource::{attribute_value, keep_one_primary};
use super::schema::{AttrDef, Mutability, Resolved, ResourceSchema};

/// The URN every SCIM PATCH request names in `schemas`.
pub const PATCH_OP_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// The most operations one PATCH request may carry.
pub const MAX_OPERATIONS: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Add,
    Replace,
    Remove,
}

/// Applies the PATCH request `body` to `doc`, a normalised resource of type `schema`.
/// The result still has to be validated as a whole (required attributes).
pub fn apply(doc: &mut Map<String, Value>, body: &Value, schema: &ResourceSchema) -> Result<(), ScimFault> {
    let Some(body) = body.as_object() else {
        return Err(ScimFault::InvalidSyntax("a PATCH request is a JSON object".into()));
    };
    let operations = field(body, "Operations")
        .and_then(Value::as_array)
        .ok_or_else(|| ScimFault::InvalidSyntax("a PATCH request carries `Operations`, a list".into()))?;
    if operations.len() > MAX_OPERATIONS {
        return Err(ScimFault::TooMany(format!("a PATCH request carries at most {MAX_OPERATIONS} operations")));
    }
    for operation in operations {
        let operation =
            operation.as_object().ok_or_else(|| ScimFault::InvalidSyntax("each operation is a JSON object".into()))?;
        let op = match field(operation, "op").and_then(Value::as_str).map(str::to_ascii_lowercase).as_deref() {
            Some("add") => Op::Add,
            Some("replace") => Op::Replace,
            Some("remove") => Op::Remove,
            _ => return Err(ScimFault::InvalidSyntax("`op` is `add`, `replace` or `remove`".into())),
        };
        let value = field(operation, "value").unwrap_or(&Value::Null);
        match field(operation, "path").and_then(Value::as_str).map(str::trim).filter(|p| !p.is_empty()) {
            Some(path) => match schema.extension(path) {
                Some(ext) => apply_extension(doc, op, ext.id, value, schema)?,
                None => {
                    let path = PatchPath::parse(path)?;
                    if !unimplemented(&path, schema) {
                        apply_at(doc, op, &path, value, schema)?;
                    }
                }
            },
            None if op == Op::Remove => {
                return Err(ScimFault::NoTarget("a `remove` operation names the attribute to remove in `path`".into()))
            }
            None => {
                let Value::Object(values) = value else {
                    return Err(ScimFault::InvalidValue(
                        "an operation without `path` carries an object of attributes in `value`".into(),
                    ));
                };
                for (key, v) in values {
                    match schema.extension(key) {
                        Some(ext) => apply_extension(doc, Op::Add, ext.id, v, schema)?,
                        None => apply_known(doc, op, &PatchPath::parse(key)?, v, schema)?,
                    }
                }
            }
        }
    }
    doc.retain(|_, v| !is_empty(v));
    Ok(())
}

/// An operation on a whole extension (`path` is its URN): `add` merges its attributes,
/// `replace` sets exactly them, `remove` drops them all.
fn apply_extension(
    doc: &mut Map<String, Value>,
    op: Op,
    urn: &'static str,
    value: &Value,
    schema: &ResourceSchema,
) -> Result<(), ScimFault> {
    if op != Op::Add {
        doc.remove(urn);
    }
    if op == Op::Remove || value.is_null() {
        return Ok(());
    }
    let Value::Object(fields) = value else {
        return Err(ScimFault::InvalidValue(format!("`{urn}` holds the extension's attributes: an object")));
    };
    for (name, v) in fields.iter().filter(|(name, _)| !name.eq_ignore_ascii_case("schemas")) {
        apply_known(doc, Op::Replace, &PatchPath::parse(&format!("{urn}:{name}"))?, v, schema)?;
    }
    Ok(())
}

/// [`apply_at`] for an attribute named inside a value rather than by `path`: one this
/// service does not implement is ignored, as in a POST or PUT body, and so are `id`,
/// `meta` and `schemas`, which identity providers echo back (Okta renames a group with
/// `{"id": …, "displayName": …}`).
fn apply_known(
    doc: &mut Map<String, Value>,
    op: Op,
    path: &PatchPath,
    value: &Value,
    schema: &ResourceSchema,
) -> Result<(), ScimFault> {
    match schema.resolve(path.attr()) {
        None | Some(Resolved::Common { name: "id" | "meta", .. }) => Ok(()),
        Some(_) => apply_at(doc, op, path, value, schema),
    }
}

/// Whether a `path` names an attribute this service does not implement, such as the
/// `addresses` of Microsoft Entra ID's default mapping: such an operation is ignored, as
/// the attribute would be in a POST or PUT body, rather than failing the identity
/// provider's whole update.
fn unimplemented(path: &PatchPath, schema: &ResourceSchema) -> bool {
    schema.resolve(&AttrPath::new(path.attr().schema(), path.attr().name(), None)).is_none()
}

fn field<'a>(map: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    map.get(name).or_else(|| map.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v))
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(items) => items.is_empty(),
        Value::Object(map) => map.is_empty(),
        _ => false,
    }
}

fn apply_at(
    doc: &mut Map<String, Value>,
    op: Op,
    path: &PatchPath,
    value: &Value,
    schema: &ResourceSchema,
) -> Result<(), ScimFault> {
    let no_attr = || ScimFault::NoTarget(format!("`{path}` is no attribute of a {}", schema.name));
    let attr_path = if path.value_filter().is_some() { path.attr().clone() } else { path.target() };
    let (extension, attr, sub) = match schema.resolve(&attr_path).ok_or_else(no_attr)? {
        Resolved::Common { name: "externalId", .. } => return external_id(doc, op, value),
        Resolved::Common { name, .. } => {
            return Err(ScimFault::Mutability(format!("`{name}` is set by the service and cannot be changed")))
        }
        Resolved::Attr { extension, attr, sub } => (extension, attr, sub),
    };
    let sub = sub.or(match path.sub_attr() {
        Some(name) => Some(attr.sub_attr(name).ok_or_else(no_attr)?),
        None => None,
    });
    if attr.mutability == Mutability::ReadOnly || sub.is_some_and(|s| s.mutability == Mutability::ReadOnly) {
        return Err(ScimFault::Mutability(format!("`{path}` is read-only")));
    }
    let container = match extension {
        None => &mut *doc,
        Some(urn) => {
            let entry = doc.entry(urn.to_owned()).or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(Map::new());
            }
            entry.as_object_mut().ok_or_else(|| ScimFault::InvalidValue("corrupt extension".into()))?
        }
    };
    match path.value_filter() {
        Some(filter) => apply_filtered(container, op, attr, &attr_path, filter, sub, value, schema)?,
        None => match sub {
            Some(sub) => apply_sub(container, op, attr, sub, value)?,
            None => apply_whole(container, op, attr, value)?,
        },
    }
    container.retain(|_, v| !is_empty(v));
    Ok(())
}

fn external_id(doc: &mut Map<String, Value>, op: Op, value: &Value) -> Result<(), ScimFault> {
    match (op, value) {
        (Op::Remove, _) | (_, Value::Null) => {
            doc.remove("externalId");
        }
        (_, Value::String(s)) => {
            doc.insert("externalId".into(), Value::String(s.clone()));
        }
        _ => return Err(ScimFault::InvalidValue("`externalId` is a string".into())),
    }
    Ok(())
}

/// An operation on a whole attribute: `emails`, `name`, `userName`.
fn apply_whole(container: &mut Map<String, Value>, op: Op, attr: &AttrDef, value: &Value) -> Result<(), ScimFault> {
    let new = match op {
        Op::Remove if attr.multi && !value.is_null() => {
            // `{"op": "remove", "path": "members", "value": [{"value": "…"}]}`: those values.
            let doomed = attribute_value(attr, value)?.unwrap_or(Value::Array(Vec::new()));
            let doomed: std::collections::HashSet<String> =
                doomed.as_array().map(|a| a.iter().map(identity).collect()).unwrap_or_default();
            if let Some(Value::Array(items)) = container.get_mut(attr.name) {
                items.retain(|item| !doomed.contains(&identity(item)));
            }
            return Ok(());
        }
        Op::Remove => {
            container.remove(attr.name);
            return Ok(());
        }
        _ => attribute_value(attr, value)?,
    };
    let Some(new) = new else {
        if op == Op::Replace {
            container.remove(attr.name);
        }
        return Ok(());
    };
    let merged = match (op, container.remove(attr.name), new) {
        (Op::Add, Some(Value::Array(mut old)), Value::Array(added)) => {
            let mut at: std::collections::HashMap<String, usize> =
                old.iter().enumerate().map(|(i, o)| (identity(o), i)).collect();
            for v in added {
                match at.get(&identity(&v)) {
                    Some(i) => old[*i] = v,
                    None => {
                        at.insert(identity(&v), old.len());
                        old.push(v);
                    }
                }
            }
            Value::Array(old)
        }
        (_, Some(Value::Object(mut old)), Value::Object(new)) if !attr.multi => {
            old.extend(new);
            Value::Object(old)
        }
        (_, _, new) => new,
    };
    container.insert(attr.name.into(), fix_primary(merged));
    Ok(())
}

/// An operation on a sub-attribute without a filter: `name.givenName`, or every value's
/// `emails.type`.
fn apply_sub(
    container: &mut Map<String, Value>,
    op: Op,
    attr: &AttrDef,
    sub: &AttrDef,
    value: &Value,
) -> Result<(), ScimFault> {
    let new = if op == Op::Remove { None } else { attribute_value(sub, value)? };
    if attr.multi {
        if let Some(Value::Array(items)) = container.get_mut(attr.name) {
            for item in items.iter_mut() {
                set_sub(item, sub, new.clone());
            }
        }
        return Ok(());
    }
    let entry = container.entry(attr.name.to_owned()).or_insert_with(|| Value::Object(Map::new()));
    set_sub(entry, sub, new);
    Ok(())
}

fn set_sub(item: &mut Value, sub: &AttrDef, new: Option<Value>) {
    let Value::Object(fields) = item else { return };
    match new {
        Some(v) => {
            fields.insert(sub.name.into(), v);
        }
        None => {
            fields.remove(sub.name);
        }
    }
}

/// An operation through a value filter: `emails[type eq "work"]`,
/// `emails[type eq "work"].value`, `members[value eq "mem_…"]`.
#[allow(clippy::too_many_arguments)]
fn apply_filtered(
    container: &mut Map<String, Value>,
    op: Op,
    attr: &AttrDef,
    attr_path: &AttrPath,
    filter: &Filter,
    sub: Option<&AttrDef>,
    value: &Value,
    schema: &ResourceSchema,
) -> Result<(), ScimFault> {
    if !attr.multi {
        return Err(ScimFault::InvalidPath(format!("`{}` has a single value: it takes no filter", attr.name)));
    }
    let items = match container.entry(attr.name.to_owned()).or_insert_with(|| Value::Array(Vec::new())) {
        Value::Array(items) => items,
        other => {
            *other = Value::Array(Vec::new());
            other.as_array_mut().ok_or_else(|| ScimFault::InvalidValue("corrupt attribute".into()))?
        }
    };
    let matching: Vec<usize> =
        (0..items.len()).filter(|i| filter.matches_value(attr_path, &items[*i], schema)).collect();
    if op == Op::Remove {
        match sub {
            Some(sub) => matching.iter().for_each(|i| set_sub(&mut items[*i], sub, None)),
            None => {
                let mut i = 0;
                items.retain(|_| {
                    i += 1;
                    !matching.contains(&(i - 1))
                });
            }
        }
        items.retain(|v| !is_empty(v));
        return Ok(());
    }
    let new = match sub {
        Some(sub) => attribute_value(sub, value)?,
        None => attribute_value(&AttrDef { multi: false, ..*attr }, value)?,
    };
    let Some(new) = new else { return Ok(()) };
    if matching.is_empty() {
        // The value the filter describes does not exist yet: create it from the filter's
        // `eq` terms, as identity providers expect of `emails[type eq "work"].value`.
        let mut created = equalities(filter).ok_or_else(|| {
            ScimFault::NoTarget(format!("no value of `{}` matches the filter, and it does not describe one", attr.name))
        })?;
        match (sub, new.clone()) {
            (Some(sub), v) => {
                created.insert(sub.name.into(), v);
            }
            (None, Value::Object(fields)) => created.extend(fields),
            (None, _) => return Err(ScimFault::InvalidValue(format!("a value of `{}` is an object", attr.name))),
        }
        let created = attribute_value(&AttrDef { multi: false, ..*attr }, &Value::Object(created))?;
        items.extend(created);
    }
    for i in matching {
        match (sub, &new) {
            (Some(sub), v) => set_sub(&mut items[i], sub, Some(v.clone())),
            (None, Value::Object(fields)) if op == Op::Add => {
                if let Value::Object(existing) = &mut items[i] {
                    existing.extend(fields.clone());
                }
            }
            (None, v) => items[i] = v.clone(),
        }
    }
    let fixed = fix_primary(Value::Array(std::mem::take(items)));
    container.insert(attr.name.into(), fixed);
    Ok(())
}

/// The sub-attribute values an `eq`-only filter pins down: `type eq "work"` →
/// `{"type": "work"}`.
fn equalities(filter: &Filter) -> Option<Map<String, Value>> {
    let terms: Vec<&Filter> = match filter {
        Filter::And(parts) => parts.iter().collect(),
        other => vec![other],
    };
    let mut out = Map::new();
    for term in terms {
        let Filter::Compare { path, op: CompareOp::Eq, value } = term else { return None };
        let v = match value {
            CompValue::String(s) => Value::String(s.clone()),
            CompValue::Bool(b) => Value::Bool(*b),
            CompValue::Number(n) => Value::Number(n.clone()),
            CompValue::Null => return None,
        };
        out.insert(path.name().to_owned(), v);
    }
    Some(out)
}

/// What makes two values of a multi-valued attribute the same value: their `value`s
/// (compared exactly), or, without one, the whole value.
fn identity(v: &Value) -> String {
    match v.get("value") {
        Some(value) => format!("value:{value}"),
        None => format!("whole:{v}"),
    }
}

fn fix_primary(v: Value) -> Value {
    let Value::Array(mut items) = v else { return v };
    keep_one_primary(&mut items);
    Value::Array(items)
}
