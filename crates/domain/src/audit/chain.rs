//! The hash chain that makes an organization's audit log tamper-evident.
//!
//! Each record stores `hash = SHA-256(prev_hash ‖ canonical(record))`, where `prev_hash` is
//! the previous record's hash (the chain's anchor for the first: 32 zero bytes). Changing,
//! removing or reordering any record breaks every hash after it.
//!
//! `canonical(record)` is the compact JSON (no spaces, UTF-8, object keys sorted) of the
//! array `["orgd.audit.v1", seq, id, org_id, occurred_at, actor_type, actor_id, action,
//! target_type, target_id, changes, request_id, client_ip, user_agent]`, with
//! `occurred_at` in RFC 3339 UTC with microseconds and absent values as `null`. Anyone can
//! recompute it from an export; `docs/audit-log.md` shows how.

use std::io::Write;

use chrono::{DateTime, Datelike, SecondsFormat, Timelike, Utc};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::AuditEvent;

/// The first element of every canonical form; a new format would change it.
pub const CANONICAL_VERSION: &str = "orgd.audit.v1";
/// The anchor the first record of a chain hashes onto: 32 zero bytes.
pub const ZERO_HASH: [u8; 32] = [0; 32];

/// The bytes a record's hash covers.
pub fn canonical(event: &AuditEvent) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    write_canonical(event, &mut out);
    out
}

/// Appends the bytes a record's hash covers to `out`, without building a JSON tree: a
/// chain of millions is encoded into one reused buffer.
pub fn write_canonical(event: &AuditEvent, out: &mut Vec<u8>) {
    let start = out.len();
    if encode(event, out).is_err() {
        // Writing into memory cannot fail; were it to, the record would fail its check
        // rather than pass on a partial encoding.
        out.truncate(start);
    }
}

/// What every canonical form starts with, up to its `seq`.
const BEFORE_SEQ: &[u8] = b"[\"orgd.audit.v1\",";

/// The canonical form of `event` split where its `seq` goes: `canonical(event)` is
/// `before ‖ seq in decimal ‖ after` whatever `event.seq` is. A store that numbers a record
/// in the very statement that takes the chain's next place hashes
/// `prev_hash ‖ before ‖ seq ‖ after` there, without a round trip to learn `seq` first.
pub fn canonical_around_seq(event: &AuditEvent) -> (&'static [u8], Vec<u8>) {
    let mut after = Vec::with_capacity(512);
    if encode_after_seq(event, &mut after).is_err() {
        // As in write_canonical: a record that cannot be encoded fails its check.
        after.clear();
    }
    (BEFORE_SEQ, after)
}

fn encode(event: &AuditEvent, out: &mut Vec<u8>) -> serde_json::Result<()> {
    out.extend_from_slice(BEFORE_SEQ);
    serde_json::to_writer(&mut *out, &event.seq)?;
    encode_after_seq(event, out)
}

fn encode_after_seq(event: &AuditEvent, out: &mut Vec<u8>) -> serde_json::Result<()> {
    out.push(b',');
    write_id(out, crate::ids::EventId::PREFIX, event.id.as_uuid());
    out.push(b',');
    write_id(out, crate::ids::OrgId::PREFIX, event.org_id.as_uuid());
    out.push(b',');
    write_timestamp(out, &event.occurred_at);
    for text in [&event.actor_type, &event.actor_id, &event.action, &event.target_type, &event.target_id] {
        out.push(b',');
        serde_json::to_writer(&mut *out, text)?;
    }
    out.push(b',');
    write_sorted(out, &event.changes)?;
    out.push(b',');
    serde_json::to_writer(&mut *out, &event.request_id)?;
    out.push(b',');
    match event.client_ip {
        // An address prints as digits, dots, colons and hex letters: nothing to escape.
        Some(ip) => write!(out, "\"{ip}\"").map_err(serde_json::Error::io)?,
        None => out.extend_from_slice(b"null"),
    }
    out.push(b',');
    serde_json::to_writer(&mut *out, &event.user_agent)?;
    out.push(b']');
    Ok(())
}

/// A public id (`evt_…`, `org_…`) as a JSON string, the way the id prints.
fn write_id(out: &mut Vec<u8>, prefix: &str, uuid: uuid::Uuid) {
    let mut hex = [0; uuid::fmt::Simple::LENGTH];
    out.push(b'"');
    out.extend_from_slice(prefix.as_bytes());
    out.push(b'_');
    out.extend_from_slice(uuid.simple().encode_lower(&mut hex).as_bytes());
    out.push(b'"');
}

/// `at` in RFC 3339 UTC with microseconds, as a JSON string: what
/// `to_rfc3339_opts(Micros, true)` prints, without its allocation.
fn write_timestamp(out: &mut Vec<u8>, at: &DateTime<Utc>) {
    let (year, nanos) = (at.year(), at.nanosecond());
    out.push(b'"');
    if (0..=9999).contains(&year) && nanos < 1_000_000_000 {
        let mut digits = |value: u32, width: u32, then: u8| {
            for place in (0..width).rev() {
                out.push(b'0' + (value / 10u32.pow(place) % 10) as u8);
            }
            out.push(then);
        };
        digits(year.unsigned_abs(), 4, b'-');
        digits(at.month(), 2, b'-');
        digits(at.day(), 2, b'T');
        digits(at.hour(), 2, b':');
        digits(at.minute(), 2, b':');
        digits(at.second(), 2, b'.');
        digits(nanos / 1_000, 6, b'Z');
    } else {
        // Years beyond four digits and leap seconds, which chrono spells its own way.
        out.extend_from_slice(at.to_rfc3339_opts(SecondsFormat::Micros, true).as_bytes());
    }
    out.push(b'"');
}

/// `value` as compact JSON with every object's keys in sorted order, whatever map type
/// serde_json uses.
fn write_sorted(out: &mut Vec<u8>, value: &Value) -> serde_json::Result<()> {
    match value {
        Value::Object(map) => {
            out.push(b'{');
            let mut write_entry = |index: usize, key: &String, value: &Value| {
                if index > 0 {
                    out.push(b',');
                }
                serde_json::to_writer(&mut *out, key)?;
                out.push(b':');
                write_sorted(out, value)
            };
            if map.keys().is_sorted() {
                for (index, (key, value)) in map.iter().enumerate() {
                    write_entry(index, key, value)?;
                }
            } else {
                let mut entries: Vec<(&String, &Value)> = map.iter().collect();
                entries.sort_unstable_by_key(|(key, _)| *key);
                for (index, (key, value)) in entries.into_iter().enumerate() {
                    write_entry(index, key, value)?;
                }
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                write_sorted(out, item)?;
            }
            out.push(b']');
        }
        scalar => serde_json::to_writer(&mut *out, scalar)?,
    }
    Ok(())
}

/// `SHA-256(prev_hash ‖ canonical)`: the hash of a record whose canonical form is
/// `canonical` and whose predecessor's hash is `prev_hash`.
pub fn chain_hash(prev_hash: &[u8; 32], canonical: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(prev_hash);
    hasher.update(canonical);
    hasher.finalize().into()
}

/// Where verification found the chain broken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BreakKind {
    /// A record is missing (or the sequence was rewritten): `expected` did not follow.
    Gap {
        /// The `seq` that should have come next.
        expected: i64,
    },
    /// The record does not point at its predecessor's hash.
    PrevHashMismatch,
    /// The record's content no longer matches its hash: it was altered.
    HashMismatch,
    /// The chain ends before its recorded head: records were removed from the end.
    Truncated {
        /// The `seq` the head says the chain reaches.
        head_seq: i64,
    },
}

impl BreakKind {
    /// The stable name of the break, e.g. `hash_mismatch`.
    pub const fn code(&self) -> &'static str {
        match self {
            BreakKind::Gap { .. } => "gap",
            BreakKind::PrevHashMismatch => "prev_hash_mismatch",
            BreakKind::HashMismatch => "hash_mismatch",
            BreakKind::Truncated { .. } => "truncated",
        }
    }
}

/// The first place verification found the chain broken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainBreak {
    /// The `seq` where it broke.
    pub seq: i64,
    /// The id of the record there, when one was found.
    pub event_id: Option<String>,
    /// How it broke.
    pub kind: BreakKind,
}

/// Walks records in `seq` order, checking each against the one before.
#[derive(Debug, Clone)]
pub struct ChainVerifier {
    next_seq: i64,
    prev_hash: Option<[u8; 32]>,
    verified: u64,
    /// The canonical form of the record being checked, reused from one record to the next.
    scratch: Vec<u8>,
}

impl ChainVerifier {
    /// Starts after `seq` whose hash is `hash` (the chain's anchor for a full check).
    pub fn after(seq: i64, hash: [u8; 32]) -> Self {
        Self { next_seq: seq + 1, prev_hash: Some(hash), verified: 0, scratch: Vec::new() }
    }

    /// Starts at `seq`, trusting that record's `prev_hash` (for a range check).
    pub fn from(seq: i64) -> Self {
        Self { next_seq: seq, prev_hash: None, verified: 0, scratch: Vec::new() }
    }

    /// How many records were accepted so far.
    pub fn verified(&self) -> u64 {
        self.verified
    }

    /// The last hash accepted, and the sequence number expected next.
    pub fn position(&self) -> (i64, Option<[u8; 32]>) {
        (self.next_seq, self.prev_hash)
    }

    /// Accepts `event` as the next link, or says how the chain breaks there.
    pub fn check(&mut self, event: &AuditEvent) -> Result<(), ChainBreak> {
        let fail = |kind| ChainBreak { seq: event.seq, event_id: Some(event.id.to_string()), kind };
        if event.seq != self.next_seq {
            return Err(ChainBreak {
                seq: self.next_seq,
                event_id: None,
                kind: BreakKind::Gap { expected: self.next_seq },
            });
        }
        if self.prev_hash.is_some_and(|prev| prev != event.prev_hash) {
            return Err(fail(BreakKind::PrevHashMismatch));
        }
        self.scratch.clear();
        write_canonical(event, &mut self.scratch);
        if chain_hash(&event.prev_hash, &self.scratch) != event.hash {
            return Err(fail(BreakKind::HashMismatch));
        }
        self.next_seq += 1;
        self.prev_hash = Some(event.hash);
        self.verified += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use proptest::prelude::*;
    use serde_json::{json, Map};

    use super::*;
    use crate::ids::{EventId, OrgId};

    /// The canonical form as specified: the fields as one JSON tree, every object's keys
    /// sorted, serialised compactly. The encoder must write exactly these bytes.
    fn specified_canonical(event: &AuditEvent) -> Vec<u8> {
        fn sorted(value: &Value) -> Value {
            match value {
                Value::Object(map) => {
                    let mut keys: Vec<&String> = map.keys().collect();
                    keys.sort();
                    let mut out = Map::new();
                    for key in keys {
                        out.insert(key.clone(), sorted(&map[key]));
                    }
                    Value::Object(out)
                }
                Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
                other => other.clone(),
            }
        }
        let fields = Value::Array(vec![
            Value::from(CANONICAL_VERSION),
            Value::from(event.seq),
            Value::from(event.id.to_string()),
            Value::from(event.org_id.to_string()),
            Value::from(event.occurred_at.to_rfc3339_opts(SecondsFormat::Micros, true)),
            Value::from(event.actor_type.as_str()),
            Value::from(event.actor_id.as_str()),
            Value::from(event.action.as_str()),
            Value::from(event.target_type.as_str()),
            Value::from(event.target_id.as_str()),
            sorted(&event.changes),
            event.request_id.as_deref().map_or(Value::Null, Value::from),
            event.client_ip.map_or(Value::Null, |ip| Value::from(ip.to_string())),
            event.user_agent.as_deref().map_or(Value::Null, Value::from),
        ]);
        serde_json::to_vec(&fields).unwrap()
    }

    fn any_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_filter("JSON numbers are finite", |f| f.is_finite()).prop_map(Value::from),
            any::<String>().prop_map(Value::from),
            "[\\\\\"\\x00-\\x1f\u{7f}\u{2028}\u{e9}\u{1f600}a]{0,8}".prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                proptest::collection::vec((any::<String>(), inner), 0..6)
                    .prop_map(|entries| Value::Object(entries.into_iter().collect())),
            ]
        })
    }

    fn any_event() -> impl Strategy<Value = AuditEvent> {
        let times = (-80_000_000_000i64..300_000_000_000, 0u32..2_000_000_000)
            .prop_filter_map("a representable instant", |(secs, nanos)| DateTime::from_timestamp(secs, nanos));
        let ips = proptest::option::of(prop_oneof![
            any::<[u8; 4]>().prop_map(std::net::IpAddr::from),
            any::<[u16; 8]>().prop_map(std::net::IpAddr::from),
        ]);
        (
            (any::<i64>(), any::<u128>(), any::<u128>(), times, ips),
            proptest::collection::vec(any::<String>(), 5),
            any_json(),
            (proptest::option::of(any::<String>()), proptest::option::of(any::<String>())),
        )
            .prop_map(|((seq, id, org, occurred_at, client_ip), texts, changes, (request_id, user_agent))| {
                AuditEvent {
                    seq,
                    id: EventId::from_uuid(uuid::Uuid::from_u128(id)),
                    org_id: OrgId::from_uuid(uuid::Uuid::from_u128(org)),
                    actor_type: texts[0].clone(),
                    actor_id: texts[1].clone(),
                    action: texts[2].clone(),
                    target_type: texts[3].clone(),
                    target_id: texts[4].clone(),
                    changes,
                    request_id,
                    client_ip,
                    user_agent,
                    occurred_at,
                    prev_hash: ZERO_HASH,
                    hash: ZERO_HASH,
                }
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

        #[test]
        fn the_encoder_writes_the_specified_form(event in any_event()) {
            let specified = specified_canonical(&event);
            let written = canonical(&event);
            prop_assert_eq!(String::from_utf8_lossy(&written), String::from_utf8_lossy(&specified));
            let mut reused = b"left over".to_vec();
            reused.clear();
            write_canonical(&event, &mut reused);
            prop_assert_eq!(reused, specified);
        }

        #[test]
        fn the_form_split_around_seq_joins_into_the_specified_form(event in any_event(), other_seq in any::<i64>()) {
            let (before, after) = canonical_around_seq(&AuditEvent { seq: other_seq, ..event.clone() });
            let seq = event.seq.to_string();
            let joined = [before, seq.as_bytes(), &after].concat();
            let specified = specified_canonical(&event);
            prop_assert_eq!(String::from_utf8_lossy(&joined), String::from_utf8_lossy(&specified));
        }
    }

    fn event(seq: i64, prev: [u8; 32]) -> AuditEvent {
        let mut e = AuditEvent {
            seq,
            id: EventId::generate(),
            org_id: OrgId::from_uuid(uuid::Uuid::nil()),
            actor_type: "user".into(),
            actor_id: "usr_1".into(),
            action: "org.updated".into(),
            target_type: "organization".into(),
            target_id: "org_1".into(),
            changes: json!({ "z": 1, "a": { "y": true, "b": null } }),
            request_id: Some("req".into()),
            client_ip: Some("2001:db8::1".parse().unwrap()),
            user_agent: None,
            occurred_at: Utc.with_ymd_and_hms(2026, 11, 22, 10, 0, 0).unwrap(),
            prev_hash: prev,
            hash: ZERO_HASH,
        };
        e.hash = chain_hash(&prev, &canonical(&e));
        e
    }

    fn chain(n: i64) -> Vec<AuditEvent> {
        let mut out: Vec<AuditEvent> = Vec::new();
        for seq in 1..=n {
            let prev = out.last().map_or(ZERO_HASH, |e| e.hash);
            out.push(event(seq, prev));
        }
        out
    }

    #[test]
    fn canonical_form_sorts_keys_and_is_compact() {
        let text = String::from_utf8(canonical(&event(1, ZERO_HASH))).unwrap();
        assert!(text.starts_with(r#"["orgd.audit.v1",1,"evt_"#), "{text}");
        assert!(text.contains(r#"{"a":{"b":null,"y":true},"z":1}"#), "{text}");
        assert!(text.ends_with(r#""2001:db8::1",null]"#), "{text}");
        assert!(text.contains("\"2026-11-22T10:00:00.000000Z\""));
    }

    #[test]
    fn an_intact_chain_verifies() {
        let mut verifier = ChainVerifier::after(0, ZERO_HASH);
        for e in chain(5) {
            verifier.check(&e).unwrap();
        }
        assert_eq!(verifier.verified(), 5);
    }

    #[test]
    fn alterations_removals_and_reorderings_are_found() {
        let mut altered = chain(4);
        altered[2].changes = json!({ "forged": true });
        let mut v = ChainVerifier::after(0, ZERO_HASH);
        let found = altered.iter().find_map(|e| v.check(e).err()).unwrap();
        assert_eq!((found.seq, found.kind), (3, BreakKind::HashMismatch));

        let mut removed = chain(4);
        removed.remove(1);
        let mut v = ChainVerifier::after(0, ZERO_HASH);
        let found = removed.iter().find_map(|e| v.check(e).err()).unwrap();
        assert_eq!(found.kind, BreakKind::Gap { expected: 2 });

        let mut renumbered = chain(4);
        renumbered.remove(1);
        for (i, e) in renumbered.iter_mut().enumerate() {
            e.seq = i as i64 + 1;
        }
        let mut v = ChainVerifier::after(0, ZERO_HASH);
        let found = renumbered.iter().find_map(|e| v.check(e).err()).unwrap();
        assert_eq!(found.seq, 2, "renumbering after a removal still breaks the chain");
    }

    #[test]
    fn a_range_check_trusts_only_its_first_link() {
        let events = chain(6);
        let mut v = ChainVerifier::from(3);
        for e in &events[2..] {
            v.check(e).unwrap();
        }
        assert_eq!(v.verified(), 4);
    }
}
