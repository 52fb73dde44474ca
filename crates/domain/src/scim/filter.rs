//! SCIM 2.0 filters (RFC 7644 §3.4.2.2): the syntax tree, its parser and its evaluation
//! against a SCIM JSON resource.
//!
//! The grammar is a `peg` grammar (`filter/grammar.rs`) rather than a wrapper around
//! kanidm's `scim_proto`: that crate rejects schema-URN attribute paths and upper-case
//! operators, has no PATCH path, overflows the stack on a few thousand `(` (its depth check
//! runs after the recursion), and would bring utoipa, time, url and serde_with into this
//! crate, whereas `peg` adds only a small runtime.
//!
//! Names are normalised to ASCII lower case (`userName` → `username`, the schema URN
//! included); string literals are JSON strings; `and`/`or` are n-ary and flattened, so
//! `a and (b and c)` and `a and b and c` are the same [`Filter`].

mod eval;
pub(super) mod grammar;

#[cfg(test)]
mod eval_tests;
#[cfg(test)]
mod parse_tests;

use std::fmt;

pub use eval::{AttributeKind, AttributeSchema, CoreSchema};

/// The longest filter or PATCH path accepted, in bytes.
pub const MAX_LEN: usize = 4096;

/// How deeply `( … )`, `not ( … )` and `attr[ … ]` may nest.
pub const MAX_DEPTH: usize = 32;

/// An attribute reference: `[schema-URN ":"] name ["." subAttr]`, normalised to lower case.
///
/// Inside a value filter (`emails[type eq "work"]`) the path is relative to the
/// multi-valued attribute: just the sub-attribute's name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AttrPath {
    schema: Option<String>,
    name: String,
    sub_attr: Option<String>,
}

impl AttrPath {
    /// A path from its parts, normalised; `schema` is the URN without the final `:`.
    /// The parts are not checked against the grammar: use [`Filter::parse`] for input.
    pub fn new(schema: Option<&str>, name: &str, sub_attr: Option<&str>) -> Self {
        Self {
            schema: schema.map(str::to_ascii_lowercase),
            name: name.to_ascii_lowercase(),
            sub_attr: sub_attr.map(str::to_ascii_lowercase),
        }
    }

    /// The schema URN the path was prefixed with, lower-cased, without the final `:`.
    pub fn schema(&self) -> Option<&str> {
        self.schema.as_deref()
    }

    /// The attribute's name, lower-cased.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The sub-attribute's name, lower-cased.
    pub fn sub_attr(&self) -> Option<&str> {
        self.sub_attr.as_deref()
    }

    /// The same attribute with `sub_attr` as its sub-attribute.
    pub fn with_sub_attr(&self, sub_attr: &str) -> Self {
        Self { schema: self.schema.clone(), name: self.name.clone(), sub_attr: Some(sub_attr.to_ascii_lowercase()) }
    }
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(schema) = &self.schema {
            write!(f, "{schema}:")?;
        }
        f.write_str(&self.name)?;
        if let Some(sub) = &self.sub_attr {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

/// The comparison operators of RFC 7644 table 3 (`pr` is [`Filter::Present`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompareOp {
    /// `eq`: equal.
    Eq,
    /// `ne`: not equal.
    Ne,
    /// `co`: contains.
    Co,
    /// `sw`: starts with.
    Sw,
    /// `ew`: ends with.
    Ew,
    /// `gt`: greater than.
    Gt,
    /// `ge`: greater than or equal.
    Ge,
    /// `lt`: less than.
    Lt,
    /// `le`: less than or equal.
    Le,
}

impl CompareOp {
    const ALL: [CompareOp; 9] =
        [Self::Eq, Self::Ne, Self::Co, Self::Sw, Self::Ew, Self::Gt, Self::Ge, Self::Lt, Self::Le];

    /// The operator's keyword, in lower case.
    pub fn keyword(self) -> &'static str {
        match self {
            Self::Eq => "eq",
            Self::Ne => "ne",
            Self::Co => "co",
            Self::Sw => "sw",
            Self::Ew => "ew",
            Self::Gt => "gt",
            Self::Ge => "ge",
            Self::Lt => "lt",
            Self::Le => "le",
        }
    }

    /// The operator for a keyword, in any case.
    pub fn from_keyword(word: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|op| op.keyword().eq_ignore_ascii_case(word))
    }

    /// `gt`, `ge`, `lt`, `le`: these order values, so they take no boolean or null.
    pub fn is_ordering(self) -> bool {
        matches!(self, Self::Gt | Self::Ge | Self::Lt | Self::Le)
    }
}

/// A literal compared with (`compValue`): JSON `null`, a boolean, a number or a string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompValue {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A JSON number.
    Number(serde_json::Number),
    /// A JSON string.
    String(String),
}

impl fmt::Display for CompValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Null => f.write_str("null"),
            Self::Bool(b) => write!(f, "{b}"),
            Self::Number(n) => write!(f, "{n}"),
            // `Value`'s Display writes JSON, escapes included.
            Self::String(s) => write!(f, "{}", serde_json::Value::String(s.clone())),
        }
    }
}

/// A parsed SCIM filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    /// Every one holds; at least two, none of them itself an `And`.
    And(Vec<Filter>),
    /// Any one holds; at least two, none of them itself an `Or`.
    Or(Vec<Filter>),
    /// `not (filter)`: the filter does not hold.
    Not(Box<Filter>),
    /// `attr pr`
    Present(AttrPath),
    /// `attr op value`
    Compare {
        /// The attribute compared.
        path: AttrPath,
        /// The operator.
        op: CompareOp,
        /// The literal compared with.
        value: CompValue,
    },
    /// `attr[filter]`: some value of the multi-valued `path` matches `filter`, whose paths
    /// are relative to that value.
    ValuePath {
        /// The multi-valued attribute.
        path: AttrPath,
        /// The filter some value of it must match.
        filter: Box<Filter>,
    },
}

impl Filter {
    /// Parses a filter expression, as given in `?filter=` (already URL-decoded) or in the
    /// `filter` of a `.search` request.
    pub fn parse(input: &str) -> Result<Filter, FilterError> {
        grammar::parse_filter(input).map_err(|e| FilterError { column: e.column, message: e.message })
    }

    /// `filters` joined by `and`, nested `and`s flattened.
    pub(crate) fn all_of(filters: Vec<Filter>) -> Filter {
        Self::join(filters, true)
    }

    /// `filters` joined by `or`, nested `or`s flattened.
    pub(crate) fn any_of(filters: Vec<Filter>) -> Filter {
        Self::join(filters, false)
    }

    fn join(filters: Vec<Filter>, and: bool) -> Filter {
        let mut flat = Vec::with_capacity(filters.len());
        for f in filters {
            match f {
                Filter::And(inner) if and => flat.extend(inner),
                Filter::Or(inner) if !and => flat.extend(inner),
                other => flat.push(other),
            }
        }
        if flat.len() == 1 {
            if let Some(only) = flat.pop() {
                return only;
            }
        }
        if and {
            Filter::And(flat)
        } else {
            Filter::Or(flat)
        }
    }
}

/// Writes the filter back in canonical form (lower-case names and keywords, single spaces,
/// parentheses only where needed); it parses back to the same [`Filter`].
impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::And(parts) => {
                for (i, part) in parts.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" and ")?;
                    }
                    if matches!(part, Self::Or(_)) {
                        write!(f, "({part})")?;
                    } else {
                        write!(f, "{part}")?;
                    }
                }
                Ok(())
            }
            Self::Or(parts) => {
                for (i, part) in parts.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" or ")?;
                    }
                    write!(f, "{part}")?;
                }
                Ok(())
            }
            Self::Not(inner) => write!(f, "not ({inner})"),
            Self::Present(path) => write!(f, "{path} pr"),
            Self::Compare { path, op, value } => write!(f, "{path} {} {value}", op.keyword()),
            Self::ValuePath { path, filter } => write!(f, "{path}[{filter}]"),
        }
    }
}

/// A filter that does not parse. Answered as SCIM `400` with `scimType: invalidFilter`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid filter at column {column}: {message}")]
pub struct FilterError {
    column: usize,
    message: String,
}

impl FilterError {
    /// The SCIM `scimType` of this error.
    pub const SCIM_TYPE: &'static str = "invalidFilter";

    /// Where the problem is: 1 for the first character.
    pub fn column(&self) -> usize {
        self.column
    }

    /// What is wrong there, for a person.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The SCIM `scimType` of this error: `invalidFilter`.
    pub fn scim_type(&self) -> &'static str {
        Self::SCIM_TYPE
    }
}
