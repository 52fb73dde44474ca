//! Listing and searching SCIM resources (RFC 7644 §3.4.2): filter, `startIndex`/`count`
//! paging, and which attributes come back.
//!
//! Paging by `startIndex` is positional, but identity providers page forward one page at a
//! time; [`PageCursors`] remembers where each page served ended, so the next page is read
//! by keyset (`id > last`) whatever the directory's size. A jump elsewhere falls back to
//! an offset.

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::{json, Value};

use super::directory::Lookup;
use super::fault::ScimFault;
use super::filter::{CompValue, CompareOp, Filter};
use super::resource::Projection;
use crate::ids::OrgId;

pub const LIST_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
/// The page size when `count` is not given.
pub const DEFAULT_COUNT: u64 = 100;
/// The largest page served; a larger `count` is served this many (RFC 7644 §3.4.2.4).
pub const MAX_COUNT: u64 = 1000;

/// A list or search request, as sent.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    /// A SCIM filter expression, e.g. `userName eq "ada@example.com"`.
    pub filter: Option<String>,
    /// The 1-based index of the first result; 1 when absent.
    pub start_index: Option<i64>,
    /// How many results per page; the service's default when absent.
    pub count: Option<i64>,
    /// Attributes to return, comma-separated; the defaults when absent.
    pub attributes: Option<String>,
    /// Attributes to leave out, comma-separated.
    pub excluded_attributes: Option<String>,
}

/// A list or search request, validated.
#[derive(Debug, Clone)]
pub(super) struct Listing {
    pub filter: Option<Filter>,
    /// 1-based.
    pub start_index: u64,
    pub count: u64,
    pub projection: Projection,
}

impl ListQuery {
    pub(super) fn parse(&self) -> Result<Listing, ScimFault> {
        let filter = self.filter.as_deref().map(str::trim).filter(|f| !f.is_empty()).map(Filter::parse).transpose()?;
        Ok(Listing {
            filter,
            // RFC 7644 §3.4.2.4: below 1 reads as 1, a negative count as 0.
            start_index: self.start_index.map_or(1, |s| s.max(1).unsigned_abs()),
            count: self.count.map_or(DEFAULT_COUNT, |c| c.max(0).unsigned_abs().min(MAX_COUNT)),
            projection: Projection::parse(self.attributes.as_deref(), self.excluded_attributes.as_deref())?,
        })
    }
}

/// A page of resources.
#[derive(Debug, Clone, PartialEq)]
pub struct ListResponse {
    /// How many resources match, on every page.
    pub total_results: u64,
    /// The 1-based index of the page's first resource.
    pub start_index: u64,
    /// The page's resources, as SCIM JSON.
    pub resources: Vec<Value>,
}

impl ListResponse {
    /// The page as a SCIM `ListResponse` message.
    pub fn to_json(&self) -> Value {
        let mut out = json!({
            "schemas": [LIST_RESPONSE_SCHEMA],
            "totalResults": self.total_results,
            "startIndex": self.start_index,
            "itemsPerPage": self.resources.len(),
        });
        if !self.resources.is_empty() || self.total_results > 0 {
            out["Resources"] = Value::Array(self.resources.clone());
        }
        out
    }

    /// The page `listing` asks for out of every match.
    pub(super) fn slice(matches: Vec<Value>, listing: &Listing) -> Self {
        let total_results = matches.len() as u64;
        let skip = usize::try_from(listing.start_index - 1).unwrap_or(usize::MAX);
        let take = usize::try_from(listing.count).unwrap_or(usize::MAX);
        let resources = matches.into_iter().skip(skip).take(take).collect();
        Self { total_results, start_index: listing.start_index, resources }
    }
}

/// What an index can narrow `filter` to: an `eq` on an indexed attribute, alone or as one
/// term of an `and`. The filter itself still decides on every candidate.
pub(super) fn lookup_of(filter: &Filter, group: bool) -> Option<Lookup> {
    lookup_term(filter, group).filter(|lookup| {
        // No stored value holds a NUL (and PostgreSQL takes none in a query): the filter
        // alone then decides, and finds nothing.
        let (Lookup::UserName(v) | Lookup::ExternalId(v) | Lookup::Email(v) | Lookup::DisplayName(v)) = lookup;
        !v.contains('\0')
    })
}

fn lookup_term(filter: &Filter, group: bool) -> Option<Lookup> {
    let terms: Vec<&Filter> = match filter {
        Filter::And(parts) => parts.iter().collect(),
        other => vec![other],
    };
    terms.into_iter().find_map(|term| {
        let (path, value) = match term {
            Filter::Compare { path, op: CompareOp::Eq, value: CompValue::String(value) } => (path, value),
            Filter::ValuePath { path, filter } if path.name() == "emails" && !group => match filter.as_ref() {
                Filter::Compare { path: inner, op: CompareOp::Eq, value: CompValue::String(value) }
                    if inner.name() == "value" =>
                {
                    return Some(Lookup::Email(value.clone()))
                }
                _ => return None,
            },
            _ => return None,
        };
        if path.schema().is_some_and(|s| !s.starts_with("urn:ietf:params:scim:schemas:core:")) {
            return None;
        }
        match (path.name(), path.sub_attr(), group) {
            ("externalid", None, _) => Some(Lookup::ExternalId(value.clone())),
            ("username", None, false) => Some(Lookup::UserName(value.clone())),
            ("emails", None | Some("value"), false) => Some(Lookup::Email(value.clone())),
            ("displayname", None, true) => Some(Lookup::DisplayName(value.clone())),
            _ => None,
        }
    })
}

/// Where the pages served so far ended: `(org, next startIndex)` → the last id served.
#[derive(Debug, Default)]
pub(super) struct PageCursors(Mutex<HashMap<(OrgId, u64), uuid::Uuid>>);

impl PageCursors {
    const CAPACITY: usize = 10_000;

    pub fn get(&self, org: OrgId, start_index: u64) -> Option<uuid::Uuid> {
        self.0.lock().ok()?.get(&(org, start_index)).copied()
    }

    pub fn remember(&self, org: OrgId, next_start_index: u64, last: uuid::Uuid) {
        if let Ok(mut map) = self.0.lock() {
            if map.len() >= Self::CAPACITY {
                map.clear();
            }
            map.insert((org, next_start_index), last);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(filter: &str, group: bool) -> Option<Lookup> {
        lookup_of(&Filter::parse(filter).unwrap(), group)
    }

    #[test]
    fn equalities_on_indexed_attributes_narrow_the_search() {
        assert_eq!(lookup(r#"userName eq "Ada""#, false), Some(Lookup::UserName("Ada".into())));
        assert_eq!(
            lookup(r#"active eq true and externalId eq "00u1""#, false),
            Some(Lookup::ExternalId("00u1".into()))
        );
        assert_eq!(lookup(r#"emails[type eq "work" and value eq "a@x.com"]"#, false), None);
        assert_eq!(lookup(r#"emails[value eq "a@x.com"]"#, false), Some(Lookup::Email("a@x.com".into())));
        assert_eq!(lookup(r#"displayName eq "Ops""#, true), Some(Lookup::DisplayName("Ops".into())));
        assert_eq!(lookup(r#"userName eq "a" or userName eq "b""#, false), None);
        assert_eq!(lookup(r#"userName co "a""#, false), None);
        assert_eq!(lookup(r#"userName eq "a\u0000""#, false), None, "no index holds a NUL");
    }

    #[test]
    fn paging_parameters_are_clamped_as_the_rfc_says() {
        let q = ListQuery { start_index: Some(-5), count: Some(5000), ..Default::default() }.parse().unwrap();
        assert_eq!((q.start_index, q.count), (1, MAX_COUNT));
        let q = ListQuery { count: Some(-1), ..Default::default() }.parse().unwrap();
        assert_eq!(q.count, 0);
    }
}
