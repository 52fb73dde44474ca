//! Request and response pieces shared by every capability: pagination, ids, ETags.

use actix_web::http::header::{self, HeaderValue};
use actix_web::HttpRequest;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use domain::org::OrgRef;
use domain::pagination::PageRequest;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use crate::error::ApiError;

/// How every `{org}` path parameter is documented.
pub const ORG_PARAM: &str = "Organization id (`org_…`), or `me` for the caller's default organization.";

/// Version byte of the cursor encoding, so the format can change without misreading old ones.
const CURSOR_V1: u8 = 1;

/// `limit` and `cursor` of a list request.
#[derive(Debug, Deserialize, IntoParams, Validate)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Page size, 1 to 100 (default 25).
    #[validate(range(min = 1, max = 100))]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl PageParams {
    pub fn page_request(&self) -> Result<PageRequest, ApiError> {
        self.validate()?;
        page_request(self.limit, self.cursor.as_deref())
    }
}

/// A page request from raw `limit` and `cursor` (list endpoints with more filters keep them
/// in one flat struct: query strings cannot be deserialized through `#[serde(flatten)]`).
pub fn page_request(limit: Option<u32>, cursor: Option<&str>) -> Result<PageRequest, ApiError> {
    let after = cursor.map(decode_cursor).transpose()?;
    PageRequest::new(limit, after).map_err(|e| ApiError::bad_request("invalid_limit", e.message))
}

pub fn encode_cursor(key: Uuid) -> String {
    let mut bytes = Vec::with_capacity(17);
    bytes.push(CURSOR_V1);
    bytes.extend_from_slice(key.as_bytes());
    URL_SAFE_NO_PAD.encode(bytes)
}

fn decode_cursor(cursor: &str) -> Result<Uuid, ApiError> {
    let invalid = || ApiError::bad_request("invalid_cursor", "the cursor is not one this API returned");
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    match bytes.split_first() {
        Some((&CURSOR_V1, key)) => Uuid::from_slice(key).map_err(|_| invalid()),
        _ => Err(invalid()),
    }
}

/// A page of results.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListResponse<T> {
    pub data: Vec<T>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

impl<T> ListResponse<T> {
    pub fn new<D>(page: domain::pagination::Page<D>, convert: impl FnMut(D) -> T) -> Self {
        let next_cursor = page.next_after.map(encode_cursor);
        Self { data: page.items.into_iter().map(convert).collect(), next_cursor }
    }
}

/// For `Option<Option<T>>` fields of partial updates: present-and-null is `Some(None)`,
/// absent is `None` (with `#[serde(default)]`).
pub fn nullable<'de, T: Deserialize<'de>, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

/// Parses a public id from a path segment. An id that cannot exist names nothing: 404.
pub fn path_id<T: std::str::FromStr>(raw: &str, what: &str) -> Result<T, ApiError> {
    raw.parse().map_err(|_| ApiError::not_found(what))
}

/// The organization and one of its resources, from a path's two segments.
pub fn org_and<T: std::str::FromStr>(org: &str, child: &str, what: &str) -> Result<(OrgRef, T), ApiError> {
    Ok((path_id(org, "organization")?, path_id(child, what)?))
}

/// A strong ETag for a resource version.
pub fn etag(version: i64) -> (header::HeaderName, HeaderValue) {
    let value = HeaderValue::from_str(&format!("\"{version}\"")).unwrap_or_else(|_| HeaderValue::from_static("\"0\""));
    (header::ETAG, value)
}

/// The version an `If-Match` header requires, `None` when absent or `*`. An entity tag
/// this API never issued cannot match: 412.
pub fn if_match(req: &HttpRequest) -> Result<Option<i64>, ApiError> {
    let Some(value) = req.headers().get(header::IF_MATCH) else {
        return Ok(None);
    };
    let mismatch =
        || ApiError::precondition_failed("If-Match does not name the current version; fetch the resource again");
    let value = value.to_str().map_err(|_| mismatch())?.trim();
    if value == "*" {
        return Ok(None);
    }
    value.trim_matches('"').parse::<i64>().map(Some).map_err(|_| mismatch())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let key = Uuid::now_v7();
        assert_eq!(decode_cursor(&encode_cursor(key)).ok(), Some(key));
        for bad in ["", "!!!", "AQ", &URL_SAFE_NO_PAD.encode([2u8; 17])] {
            assert_eq!(decode_cursor(bad).unwrap_err().code(), "invalid_cursor");
        }
    }
}
