//! Evaluating a [`Filter`] against a SCIM JSON resource, by the rules of RFC 7644
//! §3.4.2.2: attribute names match in any case, a multi-valued attribute matches when any
//! of its values does, and how strings compare depends on the attribute's schema.

use std::borrow::Cow;
use std::cmp::Ordering;

use chrono::DateTime;
use serde_json::{Number, Value};

use super::{AttrPath, CompValue, CompareOp, Filter};

/// An attribute's type (RFC 7643 §2.3), as far as comparing it is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttributeKind {
    /// Text; compared without case unless the attribute is case-exact.
    String,
    /// `true` or `false`.
    Boolean,
    /// A decimal number.
    Decimal,
    /// A whole number.
    Integer,
    /// Compared as instants (RFC 3339), not as text.
    DateTime,
    /// Compared exactly, and never ordered.
    Binary,
    /// A URI, compared exactly.
    Reference,
    /// An attribute with sub-attributes; never compared itself.
    Complex,
}

/// What the evaluator needs to know of the resource's schema.
///
/// `path` is absolute and normalised (see [`AttrPath`]): inside `emails[type eq "work"]`
/// the evaluator asks about `emails.type`. Its schema URN is the one the filter named,
/// if any.
pub trait AttributeSchema {
    /// RFC 7643 `caseExact`: whether `eq`, `co`, `sw`, `ew` and the orderings on this
    /// string attribute respect case.
    fn case_exact(&self, path: &AttrPath) -> bool;

    /// The attribute's type.
    fn kind(&self, path: &AttrPath) -> AttributeKind;
}

/// The RFC 7643 core User and Group schemas and the enterprise User extension, as far as
/// filtering needs them; any other attribute is a case-insensitive string.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CoreSchema;

impl AttributeSchema for CoreSchema {
    fn case_exact(&self, path: &AttrPath) -> bool {
        matches!(
            (path.name(), path.sub_attr()),
            ("id" | "externalid", None)
                | ("meta", Some("resourcetype" | "location" | "version"))
                | ("members" | "groups" | "manager", Some("value"))
                | (_, Some("$ref"))
        )
    }

    fn kind(&self, path: &AttrPath) -> AttributeKind {
        match (path.name(), path.sub_attr()) {
            ("active", None) | (_, Some("primary")) => AttributeKind::Boolean,
            ("meta", Some("created" | "lastmodified")) => AttributeKind::DateTime,
            ("x509certificates", Some("value")) => AttributeKind::Binary,
            ("profileurl", None) | ("meta", Some("location")) | (_, Some("$ref")) => AttributeKind::Reference,
            (
                "name" | "meta" | "emails" | "phonenumbers" | "ims" | "photos" | "addresses" | "groups"
                | "entitlements" | "roles" | "x509certificates" | "members" | "manager",
                None,
            ) => AttributeKind::Complex,
            _ => AttributeKind::String,
        }
    }
}

impl Filter {
    /// Whether `resource` (a SCIM resource as JSON) matches this filter.
    ///
    /// `ne` holds when no value is equal (so also when the attribute is absent);
    /// `eq null` holds when the attribute is absent or empty, `ne null` when it is present.
    /// A complex value compared without a sub-attribute (`emails co "@example.com"`) is
    /// compared by its `value` sub-attribute. Mismatched types (a number literal against a
    /// string) never match.
    pub fn matches(&self, resource: &Value, schema: &dyn AttributeSchema) -> bool {
        self.eval(resource, None, schema)
    }

    /// Whether one value of the multi-valued attribute `parent` matches this filter, the
    /// filter of `parent[…]` (a PATCH path's [`value_filter`](crate::scim::path::PatchPath::value_filter)).
    pub fn matches_value(&self, parent: &AttrPath, value: &Value, schema: &dyn AttributeSchema) -> bool {
        self.eval(value, Some(parent), schema)
    }

    fn eval(&self, node: &Value, parent: Option<&AttrPath>, schema: &dyn AttributeSchema) -> bool {
        match self {
            Filter::And(parts) => parts.iter().all(|f| f.eval(node, parent, schema)),
            Filter::Or(parts) => parts.iter().any(|f| f.eval(node, parent, schema)),
            Filter::Not(inner) => !inner.eval(node, parent, schema),
            Filter::Present(path) => values(node, path, parent).into_iter().any(is_present),
            Filter::Compare { path, op, value } => {
                let full = absolute(path, parent);
                let direct = Rules::of(schema, &full);
                let implied = match full.sub_attr() {
                    None => Rules::of(schema, &full.with_sub_attr("value")),
                    Some(_) => direct,
                };
                let vals: Vec<(&Value, Rules)> = values(node, path, parent)
                    .into_iter()
                    .flat_map(|v| match v {
                        Value::Object(_) => {
                            get(v, "value").map(as_slice).unwrap_or_default().iter().map(|s| (s, implied)).collect()
                        }
                        _ => vec![(v, direct)],
                    })
                    .collect();
                compare(&vals, *op, value)
            }
            Filter::ValuePath { path, filter } => {
                let full = absolute(path, parent);
                values(node, path, parent).into_iter().any(|v| filter.eval(v, Some(&full), schema))
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Rules {
    case_exact: bool,
    kind: AttributeKind,
}

impl Rules {
    fn of(schema: &dyn AttributeSchema, path: &AttrPath) -> Self {
        Self { case_exact: schema.case_exact(path), kind: schema.kind(path) }
    }
}

fn absolute(path: &AttrPath, parent: Option<&AttrPath>) -> AttrPath {
    match parent {
        Some(parent) => parent.with_sub_attr(path.name()),
        None => path.clone(),
    }
}

/// The values at `path`, arrays flattened. With a `parent`, `node` is one value of the
/// parent and `path` names its sub-attribute.
fn values<'a>(node: &'a Value, path: &AttrPath, parent: Option<&AttrPath>) -> Vec<&'a Value> {
    let base = match (path.schema(), parent) {
        (Some(urn), None) => match schema_base(node, urn) {
            Some(base) => base,
            None => return Vec::new(),
        },
        _ => node,
    };
    let Some(attr) = get(base, path.name()) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for v in as_slice(attr) {
        match path.sub_attr() {
            None => out.push(v),
            Some(sub) => out.extend(get(v, sub).map(as_slice).unwrap_or_default()),
        }
    }
    out
}

/// Where a URN-prefixed attribute lives: an extension's attributes under the URN's key,
/// a core schema's at the top level.
fn schema_base<'a>(resource: &'a Value, urn: &str) -> Option<&'a Value> {
    match get(resource, urn) {
        Some(extension @ Value::Object(_)) => Some(extension),
        _ => {
            let listed = get(resource, "schemas")
                .map(as_slice)
                .unwrap_or_default()
                .iter()
                .any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(urn)));
            (listed || urn.starts_with("urn:ietf:params:scim:schemas:core:")).then_some(resource)
        }
    }
}

fn get<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    let Value::Object(map) = v else {
        return None;
    };
    map.get(key).or_else(|| map.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v))
}

fn as_slice(v: &Value) -> &[Value] {
    match v {
        Value::Array(items) => items,
        other => std::slice::from_ref(other),
    }
}

/// `pr`: a non-empty value, or a complex value with a non-empty member.
fn is_present(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(items) => items.iter().any(is_present),
        Value::Object(map) => map.values().any(is_present),
        Value::Bool(_) | Value::Number(_) => true,
    }
}

fn compare(vals: &[(&Value, Rules)], op: CompareOp, literal: &CompValue) -> bool {
    let any_present = || vals.iter().any(|(v, _)| is_present(v));
    match (op, literal) {
        (CompareOp::Eq, CompValue::Null) => !any_present(),
        (CompareOp::Ne, CompValue::Null) => any_present(),
        (CompareOp::Ne, _) => !vals.iter().any(|(v, rules)| test(v, CompareOp::Eq, literal, *rules)),
        _ => vals.iter().any(|(v, rules)| test(v, op, literal, *rules)),
    }
}

fn test(v: &Value, op: CompareOp, literal: &CompValue, rules: Rules) -> bool {
    match (v, literal) {
        (Value::String(a), CompValue::String(b)) => compare_strings(a, b, op, rules),
        (Value::Number(a), CompValue::Number(b)) => cmp_numbers(a, b).is_some_and(|o| satisfies(op, o)),
        (Value::Bool(a), CompValue::Bool(b)) => op == CompareOp::Eq && a == b,
        _ => false,
    }
}

fn compare_strings(a: &str, b: &str, op: CompareOp, rules: Rules) -> bool {
    let textual = matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew);
    if rules.kind == AttributeKind::DateTime && !textual {
        match (DateTime::parse_from_rfc3339(a), DateTime::parse_from_rfc3339(b)) {
            (Ok(a), Ok(b)) => return satisfies(op, a.cmp(&b)),
            _ if op.is_ordering() => return false,
            _ => {}
        }
    }
    if op.is_ordering() && matches!(rules.kind, AttributeKind::Binary | AttributeKind::Boolean) {
        return false;
    }
    let exact = rules.case_exact || rules.kind == AttributeKind::Binary;
    let (a, b): (Cow<str>, Cow<str>) =
        if exact { (a.into(), b.into()) } else { (a.to_lowercase().into(), b.to_lowercase().into()) };
    match op {
        CompareOp::Co => a.contains(&*b),
        CompareOp::Sw => a.starts_with(&*b),
        CompareOp::Ew => a.ends_with(&*b),
        _ => satisfies(op, a.cmp(&b)),
    }
}

fn cmp_numbers(a: &Number, b: &Number) -> Option<Ordering> {
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
        return Some(x.cmp(&y));
    }
    if let (Some(x), Some(y)) = (a.as_u64(), b.as_u64()) {
        return Some(x.cmp(&y));
    }
    a.as_f64()?.partial_cmp(&b.as_f64()?)
}

fn satisfies(op: CompareOp, ordering: Ordering) -> bool {
    match op {
        CompareOp::Eq => ordering == Ordering::Equal,
        CompareOp::Ne => ordering != Ordering::Equal,
        CompareOp::Gt => ordering == Ordering::Greater,
        CompareOp::Ge => ordering != Ordering::Less,
        CompareOp::Lt => ordering == Ordering::Less,
        CompareOp::Le => ordering != Ordering::Greater,
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}
