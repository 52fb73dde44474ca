//! SCIM PATCH paths (RFC 7644 §3.5.2): `attrPath`, or `valuePath` with an optional
//! trailing sub-attribute, parsed by the same `peg` grammar as filters (see
//! [`filter`](super::filter)), so a path's value filter follows every filter rule.
//!
//! Only the path is modelled here; applying PATCH operations is the endpoint's job.

use std::fmt;

use serde_json::Value;

use super::filter::{grammar, AttrPath, AttributeSchema, Filter};

/// A parsed PATCH `path`, names normalised to lower case as in [`AttrPath`].
///
/// - `name.familyName`: attribute `name.familyname`, no value filter;
/// - `members[value eq "…"]`: attribute `members`, value filter `value eq "…"`;
/// - `emails[type eq "work"].value`: attribute `emails`, value filter, sub-attribute `value`;
/// - `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager`: attribute
///   `manager` of that schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatchPath {
    attr: AttrPath,
    value_filter: Option<Filter>,
    sub_attr: Option<String>,
}

impl PatchPath {
    /// Parses the `path` of a PATCH operation.
    pub fn parse(input: &str) -> Result<PatchPath, PathError> {
        let parts = grammar::parse_path(input).map_err(|e| PathError { column: e.column, message: e.message })?;
        Ok(PatchPath { attr: parts.attr, value_filter: parts.value_filter, sub_attr: parts.sub_attr })
    }

    /// The attribute named before any `[…]`: `name.familyname` for `name.familyName`,
    /// `emails` for `emails[type eq "work"].value`.
    pub fn attr(&self) -> &AttrPath {
        &self.attr
    }

    /// The filter between the brackets, whose paths are relative to [`attr`](Self::attr):
    /// `type eq "work"` for `emails[type eq "work"].value`. Test each value of the
    /// attribute with [`Filter::matches_value`], or with [`matches_value`](Self::matches_value).
    pub fn value_filter(&self) -> Option<&Filter> {
        self.value_filter.as_ref()
    }

    /// The sub-attribute after the brackets: `value` for `emails[type eq "work"].value`.
    pub fn sub_attr(&self) -> Option<&str> {
        self.sub_attr.as_deref()
    }

    /// The attribute finally addressed, brackets aside: `emails.value` for
    /// `emails[type eq "work"].value`, `name.familyname` for `name.familyName`.
    pub fn target(&self) -> AttrPath {
        match &self.sub_attr {
            Some(sub) => self.attr.with_sub_attr(sub),
            None => self.attr.clone(),
        }
    }

    /// Whether `value`, one value of the multi-valued [`attr`](Self::attr), is selected by
    /// the path: by its value filter, or always when there is none.
    pub fn matches_value(&self, value: &Value, schema: &dyn AttributeSchema) -> bool {
        self.value_filter.as_ref().is_none_or(|f| f.matches_value(&self.attr, value, schema))
    }
}

/// The path in canonical form; it parses back to the same [`PatchPath`].
impl fmt::Display for PatchPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.attr)?;
        if let Some(filter) = &self.value_filter {
            write!(f, "[{filter}]")?;
        }
        if let Some(sub) = &self.sub_attr {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

/// A PATCH path that does not parse. Answered as SCIM `400` with `scimType: invalidPath`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid path at column {column}: {message}")]
pub struct PathError {
    column: usize,
    message: String,
}

impl PathError {
    /// The SCIM `scimType` of this error.
    pub const SCIM_TYPE: &'static str = "invalidPath";

    /// Where the problem is: 1 for the first character.
    pub fn column(&self) -> usize {
        self.column
    }

    /// What is wrong there, for a person.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The SCIM `scimType` of this error: `invalidPath`.
    pub fn scim_type(&self) -> &'static str {
        Self::SCIM_TYPE
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::scim::filter::{CompValue, CompareOp, CoreSchema};

    const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user";

    fn path(input: &str) -> PatchPath {
        PatchPath::parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"))
    }

    fn error(input: &str) -> PathError {
        PatchPath::parse(input).expect_err(input)
    }

    #[test]
    fn a_plain_attribute_or_sub_attribute_has_no_value_filter() {
        let p = path("userName");
        assert_eq!((p.attr(), p.value_filter(), p.sub_attr()), (&AttrPath::new(None, "username", None), None, None));

        let p = path("name.familyName");
        assert_eq!(p.attr(), &AttrPath::new(None, "name", Some("familyname")));
        assert_eq!(p.target(), *p.attr());
        assert_eq!(p.to_string(), "name.familyname");
    }

    #[test]
    fn a_schema_urn_prefix_is_kept() {
        let p = path("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager");
        assert_eq!(p.attr(), &AttrPath::new(Some(ENTERPRISE), "manager", None));

        let p = path("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value");
        assert_eq!(p.target(), AttrPath::new(Some(ENTERPRISE), "manager", Some("value")));

        let p = path("urn:ietf:params:scim:schemas:core:2.0:User:name.givenName");
        assert_eq!(p.attr().schema(), Some("urn:ietf:params:scim:schemas:core:2.0:user"));
    }

    #[test]
    fn a_value_path_holds_its_filter_relative_to_the_attribute() {
        let p = path(r#"members[value eq "2819c223-7f76-453a-919d-413861904646"]"#);
        assert_eq!(p.attr(), &AttrPath::new(None, "members", None));
        assert_eq!(
            p.value_filter(),
            Some(&Filter::Compare {
                path: AttrPath::new(None, "value", None),
                op: CompareOp::Eq,
                value: CompValue::String("2819c223-7f76-453a-919d-413861904646".into()),
            })
        );
        assert_eq!(p.sub_attr(), None);
    }

    #[test]
    fn a_value_path_may_end_in_a_sub_attribute() {
        let p = path(r#"emails[type eq "work"].value"#);
        assert_eq!(p.attr(), &AttrPath::new(None, "emails", None));
        assert_eq!(p.sub_attr(), Some("value"));
        assert_eq!(p.target(), AttrPath::new(None, "emails", Some("value")));
        assert_eq!(p.to_string(), r#"emails[type eq "work"].value"#);

        let p = path(r#"Addresses[Type EQ "work" AND primary eq true].StreetAddress"#);
        assert_eq!(p.to_string(), r#"addresses[type eq "work" and primary eq true].streetaddress"#);
        assert_eq!(PatchPath::parse(&p.to_string()), Ok(p));
    }

    #[test]
    fn the_value_filter_selects_values_of_the_attribute() {
        let p = path(r#"emails[type eq "work" and value co "@EXAMPLE.com"]"#);
        let work = json!({"type": "work", "value": "bjensen@example.com"});
        let home = json!({"type": "home", "value": "babs@example.com"});
        assert!(p.matches_value(&work, &CoreSchema));
        assert!(!p.matches_value(&home, &CoreSchema));

        let member = path(r#"members[value eq "2819c223"]"#);
        assert!(member.matches_value(&json!({"value": "2819c223", "display": "Babs"}), &CoreSchema));
        // Ids are caseExact.
        assert!(!member.matches_value(&json!({"value": "2819C223"}), &CoreSchema));

        assert!(path("emails").matches_value(&home, &CoreSchema));
    }

    #[test]
    fn malformed_paths_are_refused_with_a_position() {
        let e = error("");
        assert_eq!((e.column(), e.scim_type()), (1, "invalidPath"));

        let e = error(r#"emails[type eq "work""#);
        assert_eq!(e.column(), 22);
        assert!(e.message().contains("`]`"), "{e}");

        let e = error(r#"emails[type eq "work"].value.extra"#);
        assert_eq!(e.column(), 29, "{e}");

        let e = error("name.");
        assert_eq!(e.column(), 6);
        assert!(e.message().contains("attribute name"), "{e}");

        // A path is an attribute, not a filter.
        let e = error(r#"userName eq "x""#);
        assert_eq!(e.column(), 10, "{e}");
        assert!(e.message().contains("expected end of input, found `eq`"), "{e}");

        let e = error("emails[]");
        assert_eq!(e.column(), 8, "{e}");

        let e = error(r#"emails[type[value eq "x"]]"#);
        assert!(e.message().contains("cannot contain another"), "{e}");

        assert!(error("9lives").to_string().starts_with("invalid path at column 1:"));
    }

    #[test]
    fn hostile_paths_are_refused_without_exhausting_the_stack() {
        let deep = format!("emails[{}type pr{}]", "(".repeat(200), ")".repeat(200));
        assert!(error(&deep).message().contains("32 levels"));

        let long = format!("emails[{}]", "value pr or ".repeat(400));
        assert!(error(&long).message().contains("longer than 4096 bytes"));
    }
}
