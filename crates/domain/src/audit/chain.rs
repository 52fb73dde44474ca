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

use chrono::SecondsFormat;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::AuditEvent;

pub const CANONICAL_VERSION: &str = "orgd.audit.v1";
pub const ZERO_HASH: [u8; 32] = [0; 32];

/// `value` with every object's keys in sorted order, whatever map type serde_json uses.
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

/// The bytes a record's hash covers.
pub fn canonical(event: &AuditEvent) -> Vec<u8> {
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
    // Serialising a Value of strings, numbers and nulls cannot fail.
    serde_json::to_vec(&fields).unwrap_or_default()
}

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
    Gap { expected: i64 },
    /// The record does not point at its predecessor's hash.
    PrevHashMismatch,
    /// The record's content no longer matches its hash: it was altered.
    HashMismatch,
    /// The chain ends before its recorded head: records were removed from the end.
    Truncated { head_seq: i64 },
}

impl BreakKind {
    pub const fn code(&self) -> &'static str {
        match self {
            BreakKind::Gap { .. } => "gap",
            BreakKind::PrevHashMismatch => "prev_hash_mismatch",
            BreakKind::HashMismatch => "hash_mismatch",
            BreakKind::Truncated { .. } => "truncated",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainBreak {
    pub seq: i64,
    pub event_id: Option<String>,
    pub kind: BreakKind,
}

/// Walks records in `seq` order, checking each against the one before.
#[derive(Debug, Clone)]
pub struct ChainVerifier {
    next_seq: i64,
    prev_hash: Option<[u8; 32]>,
    verified: u64,
}

impl ChainVerifier {
    /// Starts after `seq` whose hash is `hash` (the chain's anchor for a full check).
    pub fn after(seq: i64, hash: [u8; 32]) -> Self {
        Self { next_seq: seq + 1, prev_hash: Some(hash), verified: 0 }
    }

    /// Starts at `seq`, trusting that record's `prev_hash` (for a range check).
    pub fn from(seq: i64) -> Self {
        Self { next_seq: seq, prev_hash: None, verified: 0 }
    }

    pub fn verified(&self) -> u64 {
        self.verified
    }

    /// The last hash accepted, and the sequence number expected next.
    pub fn position(&self) -> (i64, Option<[u8; 32]>) {
        (self.next_seq, self.prev_hash)
    }

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
        if chain_hash(&event.prev_hash, &canonical(event)) != event.hash {
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
    use serde_json::json;

    use super::*;
    use crate::ids::{EventId, OrgId};

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
