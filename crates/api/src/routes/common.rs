//! Request and response pieces shared by every capability: pagination, ids, ETags.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, FromRequest, HttpRequest};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use orgd_domain::ids::NotificationId;
use orgd_domain::notification::NotificationCursor;
use orgd_domain::org::OrgRef;
use orgd_domain::pagination::PageRequest;
use serde::Deserialize;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::{ObjectBuilder, Required, Type};
use utoipa::IntoParams;
use uuid::Uuid;

use crate::error::{ApiError, FieldProblem};

/// How every `{org}` path parameter is documented.
pub const ORG_PARAM: &str = "Organization id (`org_…`), or `me` for the caller's default organization.";

/// The key a list continues from. Every list's cursor has one encoding: URL-safe base64 of
/// a kind byte and the key, so that a cursor of one kind of list is refused by another.
pub trait CursorKey: Sized {
    const KIND: u8;
    /// Every cursor of this kind and nothing else, for the OpenAPI document: a client (or a
    /// fuzzer) that sends anything matching it gets a page, never an error.
    const PATTERN: &'static str;
    fn write(&self, out: &mut Vec<u8>);
    fn read(bytes: &[u8]) -> Option<Self>;
}

/// Lists in id order continue after an id (a UUIDv7).
impl CursorKey for Uuid {
    const KIND: u8 = 1;
    // 17 bytes: `A` and one of `Q`–`f` spell the kind byte 1; the last character carries 4
    // bits and 2 zero bits.
    const PATTERN: &'static str = "^A[Q-Za-f][A-Za-z0-9_-]{20}[AEIMQUYcgkosw048]$";

    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.as_bytes());
    }

    fn read(bytes: &[u8]) -> Option<Self> {
        Uuid::from_slice(bytes).ok()
    }
}

/// A position in an organization's audit chain: the audit log continues before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seq(pub i64);

impl CursorKey for Seq {
    const KIND: u8 = 2;
    // 9 bytes: `A` and one of `g`–`v` spell the kind byte 2.
    const PATTERN: &'static str = "^A[g-v][A-Za-z0-9_-]{10}$";

    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0.to_be_bytes());
    }

    fn read(bytes: &[u8]) -> Option<Self> {
        bytes.try_into().ok().map(|b| Seq(i64::from_be_bytes(b)))
    }
}

/// A position in the platform audit log: a sequence of its own, so a cursor of an
/// organization's audit log is refused there and the other way round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlatformSeq(pub i64);

impl CursorKey for PlatformSeq {
    const KIND: u8 = 4;
    // 9 bytes: `B` and one of `A`–`P` spell the kind byte 4.
    const PATTERN: &'static str = "^B[A-P][A-Za-z0-9_-]{10}$";

    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0.to_be_bytes());
    }

    fn read(bytes: &[u8]) -> Option<Self> {
        bytes.try_into().ok().map(|b| PlatformSeq(i64::from_be_bytes(b)))
    }
}

/// A person's notifications list unread ones first, so their cursor carries the phase (a
/// byte, 0 unread or 1 read) before the id.
impl CursorKey for NotificationCursor {
    const KIND: u8 = 3;
    // 18 bytes: `Aw` spells the kind byte 3 and the phase byte's zero high bits; the third
    // character holds the phase bit and two bits of the id.
    const PATTERN: &'static str = "^Aw[A-H][A-Za-z0-9_-]{21}$";

    fn write(&self, out: &mut Vec<u8>) {
        out.push(u8::from(self.read));
        out.extend_from_slice(self.id.as_uuid().as_bytes());
    }

    fn read(bytes: &[u8]) -> Option<Self> {
        let (&phase, id) = bytes.split_first()?;
        let read = match phase {
            0 => false,
            1 => true,
            _ => return None,
        };
        Some(Self { read, id: NotificationId::from_uuid(Uuid::from_slice(id).ok()?) })
    }
}

pub fn encode_cursor<K: CursorKey>(key: &K) -> String {
    let mut bytes = vec![K::KIND];
    key.write(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn decode_cursor<K: CursorKey>(cursor: &str) -> Result<K, ApiError> {
    let invalid = || ApiError::bad_request("invalid_cursor", "the cursor is not one this list returned");
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    match bytes.split_first() {
        Some((&kind, key)) if kind == K::KIND => K::read(key).ok_or_else(invalid),
        _ => Err(invalid()),
    }
}

/// `limit` and `cursor` as the query string holds them.
#[derive(Debug, Deserialize)]
struct RawPage {
    limit: Option<i64>,
    cursor: Option<String>,
}

/// The page a list request asks for: its `limit` and `cursor`. Every list reads them with
/// this one extractor, so bounds, defaults and problems are the same everywhere: a limit
/// out of range is 422 `validation_failed` on `limit`, a bad cursor 400 `invalid_cursor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageParams<K = Uuid> {
    pub limit: u32,
    /// Where the previous page ended.
    pub from: Option<K>,
}

impl<K: CursorKey> PageParams<K> {
    fn parse(query: &str) -> Result<Self, ApiError> {
        let raw = web::Query::<RawPage>::from_query(query)
            .map_err(|e| ApiError::bad_request("invalid_query", format!("the query string cannot be read: {e}")))?
            .into_inner();
        let out_of_range = |message: String| {
            ApiError::validation([FieldProblem { field: "limit".to_owned(), code: "out_of_range".to_owned(), message }])
        };
        // A limit beyond `u32` is as far out of range as 0.
        let limit = raw.limit.map(|n| u32::try_from(n).unwrap_or(0));
        let limit = PageRequest::new(limit, None).map_err(|e| out_of_range(e.message))?.limit;
        let from = raw.cursor.as_deref().map(decode_cursor).transpose()?;
        Ok(Self { limit, from })
    }
}

impl<K: CursorKey + Copy> PageParams<K> {
    pub fn request(&self) -> PageRequest<K> {
        PageRequest { limit: self.limit, after: self.from }
    }
}

impl<K: CursorKey> FromRequest for PageParams<K> {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        std::future::ready(Self::parse(req.query_string()))
    }
}

impl<K: CursorKey> IntoParams for PageParams<K> {
    fn into_params(parameter_in: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let limit = ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(1))
            .maximum(Some(PageRequest::MAX_LIMIT))
            .default(Some(PageRequest::DEFAULT_LIMIT.into()));
        let cursor = ObjectBuilder::new().schema_type(Type::String).pattern(Some(K::PATTERN));
        let parameter = |name: &str, description: String, schema: ObjectBuilder| {
            ParameterBuilder::new()
                .name(name)
                .parameter_in(parameter_in().unwrap_or(ParameterIn::Query))
                .required(Required::False)
                .description(Some(description))
                .schema(Some(schema.build()))
                .build()
        };
        vec![
            parameter(
                "limit",
                format!("Page size, 1 to {} (default {}).", PageRequest::MAX_LIMIT, PageRequest::DEFAULT_LIMIT),
                limit,
            ),
            parameter("cursor", "`next_cursor` of the previous page.".to_owned(), cursor),
        ]
    }
}

/// Declares the page type of one list: its items, by reference to their own schema, and
/// the cursor of the next page.
macro_rules! page {
    ($(#[$doc:meta])* $name:ident of $item:ty) => {
        $(#[$doc])*
        #[derive(Debug, serde::Serialize, utoipa::ToSchema)]
        pub struct $name {
            pub data: Vec<$item>,
            /// Pass as `cursor` to get the next page; `null` on the last page.
            pub next_cursor: Option<String>,
        }

        impl $name {
            pub fn new<K: $crate::routes::common::CursorKey>(data: Vec<$item>, next: Option<K>) -> Self {
                Self { data, next_cursor: next.as_ref().map($crate::routes::common::encode_cursor) }
            }

            pub fn of<D, K: $crate::routes::common::CursorKey>(
                page: orgd_domain::pagination::Page<D, K>,
                convert: impl FnMut(D) -> $item,
            ) -> Self {
                Self::new(page.items.into_iter().map(convert).collect(), page.next_after)
            }
        }
    };
}
pub(crate) use page;

/// A JSON request body, which must be an object: serde would also read a struct from an
/// array of its fields in order (`[null, "x"]`), which no client means and no schema here
/// allows. Problems are those of `web::Json`, through the same configuration.
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T> Json<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for Json<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: serde::de::DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = actix_web::Error;
    type Future = futures_util::future::LocalBoxFuture<'static, Result<Self, actix_web::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let body = web::Json::<Object<T>>::from_request(req, payload);
        Box::pin(async move { body.await.map(|json| Json(json.into_inner().0)) })
    }
}

/// `T` read only from a JSON object.
struct Object<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Fields<T>(std::marker::PhantomData<T>);

        impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for Fields<T> {
            type Value = T;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(serde::de::value::MapAccessDeserializer::new(map))
            }
        }

        deserializer.deserialize_map(Fields(std::marker::PhantomData)).map(Object)
    }
}

/// For `Option<Option<T>>` fields of partial updates: present-and-null is `Some(None)`,
/// absent is `None` (with `#[serde(default)]`).
pub fn nullable<'de, T: Deserialize<'de>, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

/// For `Option` integer fields of a body: a JSON number without a fractional part however
/// it is spelled (`5`, `5.0` or `5e0`), as JSON Schema's `integer` means.
pub fn whole_number<'de, T: TryFrom<i64>, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<T>, D::Error> {
    use serde::de::{Error, Unexpected, Visitor};

    struct Whole(i64);

    impl<'de> Deserialize<'de> for Whole {
        fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            struct Number;

            impl Visitor<'_> for Number {
                type Value = Whole;

                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("an integer")
                }

                fn visit_i64<E: Error>(self, v: i64) -> Result<Whole, E> {
                    Ok(Whole(v))
                }

                fn visit_u64<E: Error>(self, v: u64) -> Result<Whole, E> {
                    i64::try_from(v).map(Whole).map_err(|_| E::invalid_value(Unexpected::Unsigned(v), &self))
                }

                fn visit_f64<E: Error>(self, v: f64) -> Result<Whole, E> {
                    // -2^63 and 2^63 are exact as floats: the range of `i64` is [-2^63, 2^63).
                    const BOUND: f64 = 9_223_372_036_854_775_808.0;
                    if v.fract() == 0.0 && (-BOUND..BOUND).contains(&v) {
                        // Whole and in range: the cast is exact.
                        Ok(Whole(v as i64))
                    } else {
                        Err(E::invalid_type(Unexpected::Float(v), &self))
                    }
                }
            }

            deserializer.deserialize_any(Number)
        }
    }

    match Option::<Whole>::deserialize(deserializer)? {
        None => Ok(None),
        Some(Whole(v)) => {
            T::try_from(v).map(Some).map_err(|_| D::Error::invalid_value(Unexpected::Signed(v), &"a smaller integer"))
        }
    }
}

/// Parses a public id from a path segment. An id that cannot exist names nothing: 404.
pub fn path_id<T: std::str::FromStr>(raw: &str, what: &str) -> Result<T, ApiError> {
    raw.parse().map_err(|_| ApiError::not_found(what))
}

/// A list's `status` filter: absent, or one of `all` by its name.
pub fn status_filter<T: Copy>(
    raw: Option<&str>,
    all: &[T],
    name: impl Fn(T) -> &'static str,
) -> Result<Option<T>, orgd_domain::Invalid> {
    let Some(raw) = raw else { return Ok(None) };
    all.iter().copied().find(|s| name(*s) == raw).map(Some).ok_or_else(|| {
        let names: Vec<_> = all.iter().map(|s| name(*s)).collect();
        orgd_domain::Invalid::field("status", "unknown_status", format!("one of {}", names.join(", ")))
    })
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

/// What a policy write must send: a lost update there weakens security, so the write names
/// the version it read (`If-Match: "3"`), or says `*` to replace whatever is there.
pub const IF_MATCH_REQUIRED: &str =
    "The `ETag` the change is based on (or `*` to replace whatever is there); without it the write is refused (428).";

/// [`if_match`] for policies, where it is required: absent, 428 `if_match_required`.
pub fn required_if_match(req: &HttpRequest) -> Result<Option<i64>, ApiError> {
    if !req.headers().contains_key(header::IF_MATCH) {
        return Err(ApiError::precondition_required(
            "send If-Match with the ETag you read (or * to replace whatever is there): a policy is never overwritten blind",
        ));
    }
    if_match(req)
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
    use proptest::prelude::*;

    use super::*;
    use crate::routes::events::FeedSeq;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

        /// Any text, and any bytes in the cursor alphabet, is a cursor or a clean refusal.
        #[test]
        fn no_cursor_panics(text in any::<String>(), bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            for cursor in [text, URL_SAFE_NO_PAD.encode(&bytes)] {
                let _ = decode_cursor::<Uuid>(&cursor);
                let _ = decode_cursor::<Seq>(&cursor);
                let _ = decode_cursor::<PlatformSeq>(&cursor);
                let _ = decode_cursor::<NotificationCursor>(&cursor);
                let _ = decode_cursor::<FeedSeq>(&cursor);
            }
        }
    }

    /// Each kind's schema pattern admits what its encoder writes, and not another kind's.
    #[test]
    fn cursor_patterns_match_what_is_encoded() {
        let pattern = |p: &str| regex::Regex::new(p).unwrap();
        let (seq, platform, uuid) =
            (pattern(Seq::PATTERN), pattern(PlatformSeq::PATTERN), pattern(<Uuid as CursorKey>::PATTERN));
        let feed = pattern(FeedSeq::PATTERN);
        for _ in 0..2000 {
            let (n, id) = (rand::random::<i64>(), rand::random::<u128>());
            assert!(seq.is_match(&encode_cursor(&Seq(n))));
            assert!(platform.is_match(&encode_cursor(&PlatformSeq(n))));
            assert!(!platform.is_match(&encode_cursor(&Seq(n))) && !seq.is_match(&encode_cursor(&PlatformSeq(n))));
            assert!(uuid.is_match(&encode_cursor(&Uuid::from_u128(id))));
            assert!(feed.is_match(&encode_cursor(&FeedSeq(n))));
            assert!(!feed.is_match(&encode_cursor(&Seq(n))) && !feed.is_match(&encode_cursor(&PlatformSeq(n))));
        }
    }

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let key = Uuid::now_v7();
        assert_eq!(decode_cursor::<Uuid>(&encode_cursor(&key)).ok(), Some(key));
        assert_eq!(decode_cursor::<Seq>(&encode_cursor(&Seq(-7))).ok(), Some(Seq(-7)));
        for bad in ["", "!!!", "AQ", &URL_SAFE_NO_PAD.encode([2u8; 17]), &encode_cursor(&Seq(1))] {
            assert_eq!(decode_cursor::<Uuid>(bad).unwrap_err().code(), "invalid_cursor", "{bad}");
        }
        assert_eq!(decode_cursor::<Seq>(&encode_cursor(&key)).unwrap_err().code(), "invalid_cursor");
        for read in [false, true] {
            let position = NotificationCursor { read, id: NotificationId::generate() };
            let cursor = encode_cursor(&position);
            assert_eq!(decode_cursor::<NotificationCursor>(&cursor).ok(), Some(position));
            assert!(cursor.len() == 24 && cursor.starts_with("Aw"), "{cursor}");
        }
        let bad_phase = URL_SAFE_NO_PAD.encode([[3u8, 2].as_slice(), key.as_bytes()].concat());
        assert_eq!(decode_cursor::<NotificationCursor>(&bad_phase).unwrap_err().code(), "invalid_cursor");
        assert_eq!(decode_cursor::<NotificationCursor>(&encode_cursor(&key)).unwrap_err().code(), "invalid_cursor");
    }

    #[test]
    fn cursors_have_the_shape_the_document_states() {
        // The extremes of every character class of the patterns decode.
        for (first, last) in [("AQ", "A"), ("Af", "8"), ("AZ", "w"), ("Aa", "0")] {
            for fill in ["A", "_", "-", "z", "9"] {
                let cursor = format!("{first}{}{last}", fill.repeat(20));
                assert!(decode_cursor::<Uuid>(&cursor).is_ok(), "{cursor}");
            }
        }
        for second in ["g", "v", "q"] {
            for fill in ["A", "_", "-", "z", "9"] {
                let cursor = format!("A{second}{}", fill.repeat(10));
                assert!(decode_cursor::<Seq>(&cursor).is_ok(), "{cursor}");
            }
        }
        for third in ["A", "D", "E", "H"] {
            for fill in ["A", "_", "-", "z", "9"] {
                let cursor = format!("Aw{third}{}", fill.repeat(21));
                assert!(decode_cursor::<NotificationCursor>(&cursor).is_ok(), "{cursor}");
            }
        }
        let key = encode_cursor(&Uuid::now_v7());
        assert!(key.len() == 23 && key.starts_with('A'));
        assert_eq!(encode_cursor(&Seq(i64::MAX)).len(), 12);
    }

    #[test]
    fn bodies_are_objects() {
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Body {
            name: Option<String>,
        }
        let read = |json: &str| serde_json::from_str::<Object<Body>>(json).map(|b| b.0.name);
        assert_eq!(read(r#"{"name": "x"}"#).ok(), Some(Some("x".to_owned())));
        assert_eq!(read(r#"{"name": null}"#).ok(), Some(None));
        assert!(read(r#"["x"]"#).is_err());
        assert!(read(r#"{"other": 1}"#).is_err());
    }

    #[test]
    fn limits_out_of_range_name_the_field() {
        for query in ["limit=0", "limit=101", "limit=-1", "limit=99999999999"] {
            let err = PageParams::<Uuid>::parse(query).unwrap_err();
            assert_eq!((err.status().as_u16(), err.code()), (422, "validation_failed"), "{query}");
        }
        assert_eq!(PageParams::<Uuid>::parse("limit=ten").unwrap_err().code(), "invalid_query");
        assert_eq!(PageParams::<Uuid>::parse("cursor=").unwrap_err().code(), "invalid_cursor");
        let page = PageParams::<Uuid>::parse("").unwrap();
        assert_eq!((page.limit, page.from), (PageRequest::DEFAULT_LIMIT, None));
    }
}
