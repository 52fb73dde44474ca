use std::collections::HashMap;

use chrono::{DateTime, Utc};
use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use orgd_domain::platform::StaffRole;
use orgd_domain::policy::SignInMethod;
use orgd_domain::Identity;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::{missing_issuer_or_audience, ConfigError, JwtConfig, TOKEN_LEEWAY_SECS};

const MAX_SUBJECT_LEN: usize = 255;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("the token is malformed")]
    Malformed,
    #[error("the token has expired")]
    Expired,
    #[error("the token's signature, issuer, audience or algorithm is not accepted")]
    Rejected,
    #[error("the token's signing key is unknown")]
    UnknownKey,
    #[error("the token has no usable subject")]
    BadSubject,
}

#[derive(Debug, Deserialize)]
struct Claims {
    sub: String,
    email: Option<String>,
    email_verified: Option<bool>,
    name: Option<String>,
    #[serde(default)]
    amr: Vec<String>,
    auth_time: Option<i64>,
    exp: Option<i64>,
    #[serde(flatten)]
    other: HashMap<String, Value>,
}

struct PublicKey {
    kid: Option<String>,
    algorithm: Algorithm,
    key: DecodingKey,
}

/// Tokens verified lately, so that a client presenting the same token on every request
/// costs one lookup instead of decoding, a signature check and two JSON parses.
const VERIFIED_TOKENS: usize = 4_096;
/// Longer tokens are verified every time: the memory of the cache stays bounded by a few
/// megabytes.
const LONGEST_REMEMBERED_TOKEN: usize = 2_048;

/// What a token proved, until when (Unix seconds, the expiry plus the leeway).
#[derive(Clone)]
struct Verified {
    identity: Identity,
    until: i64,
}

/// Verifies bearer JWTs: signature, expiry, issuer and audience.
pub struct JwtVerifier {
    verified: quick_cache::sync::Cache<String, Verified>,
    hs256: Option<DecodingKey>,
    public_keys: Vec<PublicKey>,
    issuer: Option<String>,
    audience: Option<String>,
    /// `None` when the staff claim is not believed (see [`JwtConfig::trusts_staff_claim`]).
    staff_claim: Option<String>,
    sign_in_method_claim: Option<String>,
}

fn load_jwks(path: &std::path::Path) -> Result<Vec<PublicKey>, ConfigError> {
    let bad = |problem: String| ConfigError {
        var: "ORGD_JWKS_FILE",
        problem,
        fix: "point it at a JSON Web Key Set with RSA or EC public keys".to_owned(),
    };
    let text = std::fs::read_to_string(path).map_err(|e| bad(format!("cannot read `{}`: {e}", path.display())))?;
    let set: JwkSet =
        serde_json::from_str(&text).map_err(|e| bad(format!("`{}` is not a JWKS: {e}", path.display())))?;
    let mut keys = Vec::new();
    for jwk in &set.keys {
        let algorithm = match &jwk.algorithm {
            AlgorithmParameters::RSA(_) => Algorithm::RS256,
            AlgorithmParameters::EllipticCurve(_) => Algorithm::ES256,
            _ => continue,
        };
        let key = DecodingKey::from_jwk(jwk).map_err(|e| bad(format!("unusable key: {e}")))?;
        keys.push(PublicKey { kid: jwk.common.key_id.clone(), algorithm, key });
    }
    if keys.is_empty() {
        return Err(bad(format!("`{}` holds no RSA or EC public key", path.display())));
    }
    Ok(keys)
}

impl JwtVerifier {
    pub fn from_config(config: &JwtConfig) -> Result<Self, ConfigError> {
        let public_keys = match &config.jwks_file {
            Some(path) => {
                // Checked when the settings are read too; repeated here for configurations
                // built in code.
                let missing = missing_issuer_or_audience(config.issuer.is_some(), config.audience.is_some());
                if let Some(problem) = missing.into_iter().next() {
                    return Err(problem);
                }
                load_jwks(path)?
            }
            None => Vec::new(),
        };
        Ok(Self {
            verified: quick_cache::sync::Cache::new(VERIFIED_TOKENS),
            hs256: config.hs256_secret.as_ref().map(|s| DecodingKey::from_secret(s.expose_secret().as_bytes())),
            public_keys,
            issuer: config.issuer.clone(),
            audience: config.audience.clone(),
            staff_claim: config.trusts_staff_claim().then(|| config.staff_claim.clone()),
            sign_in_method_claim: config.sign_in_method_claim.clone(),
        })
    }

    /// The checks a token must pass. A configured issuer or audience is *required* in the
    /// token: the JWT library compares these claims only when present, so a token minted for
    /// another service without `aud` would otherwise be accepted.
    fn validation(&self, algorithm: Algorithm) -> Validation {
        let mut validation = Validation::new(algorithm);
        validation.leeway = TOKEN_LEEWAY_SECS;
        validation.validate_nbf = true;
        let mut required = vec!["exp", "sub"];
        match &self.audience {
            Some(aud) => {
                validation.set_audience(&[aud]);
                required.push("aud");
            }
            None => validation.validate_aud = false,
        }
        if let Some(iss) = &self.issuer {
            validation.set_issuer(&[iss]);
            required.push("iss");
        }
        validation.set_required_spec_claims(&required);
        validation
    }

    /// The key for this token. The algorithm comes from the configured key, never from
    /// the token alone, so a token cannot pick a weaker algorithm.
    fn key_for(&self, header: &Header) -> Result<(&DecodingKey, Algorithm), TokenError> {
        if header.alg == Algorithm::HS256 {
            return self.hs256.as_ref().map(|k| (k, Algorithm::HS256)).ok_or(TokenError::Rejected);
        }
        let candidates = self.public_keys.iter().filter(|k| k.algorithm == header.alg);
        let mut matching = candidates.filter(|k| header.kid.is_none() || k.kid == header.kid);
        matching.next().map(|k| (&k.key, k.algorithm)).ok_or(TokenError::UnknownKey)
    }

    /// The identity the token proves. A token verified before is not decoded again until
    /// it expires: the keys and settings it was checked against do not change while the
    /// server runs, and only the clock could change the answer.
    pub fn verify(&self, token: &str) -> Result<Identity, TokenError> {
        let now = Utc::now().timestamp();
        if let Some(verified) = self.verified.get(token).filter(|v| now <= v.until) {
            return Ok(verified.identity);
        }
        let (identity, expires_at) = self.decode(token)?;
        if let Some(expires_at) = expires_at.filter(|_| token.len() <= LONGEST_REMEMBERED_TOKEN) {
            let leeway = i64::try_from(TOKEN_LEEWAY_SECS).unwrap_or(0);
            let verified = Verified { identity: identity.clone(), until: expires_at.saturating_add(leeway) };
            self.verified.insert(token.to_owned(), verified);
        }
        Ok(identity)
    }

    /// Checks the token in full; answers its identity and its expiry.
    fn decode(&self, token: &str) -> Result<(Identity, Option<i64>), TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Malformed)?;
        let (key, algorithm) = self.key_for(&header)?;
        let data = jsonwebtoken::decode::<Claims>(token, key, &self.validation(algorithm)).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            match e.kind() {
                ErrorKind::ExpiredSignature => TokenError::Expired,
                ErrorKind::InvalidToken | ErrorKind::Base64(_) | ErrorKind::Json(_) | ErrorKind::Utf8(_) => {
                    TokenError::Malformed
                }
                ErrorKind::MissingRequiredClaim(claim) if claim == "sub" => TokenError::BadSubject,
                ErrorKind::ImmatureSignature => TokenError::Rejected,
                _ => TokenError::Rejected,
            }
        })?;
        let claims = data.claims;
        if claims.sub.trim().is_empty()
            || claims.sub.len() > MAX_SUBJECT_LEN
            || claims.sub.chars().any(char::is_control)
        {
            return Err(TokenError::BadSubject);
        }
        let staff = self.staff_claim.as_ref().and_then(|claim| staff_role(claims.other.get(claim)?));
        let named =
            self.sign_in_method_claim.as_ref().and_then(|claim| claims.other.get(claim)).and_then(Value::as_str);
        let sign_in_method = SignInMethod::from_claims(named, &claims.amr);
        let identity = Identity {
            subject: claims.sub,
            email_verified: claims.email_verified.unwrap_or(false),
            email: claims.email,
            name: claims.name,
            auth_methods: claims.amr,
            // A sign-in time in the future proves no freshness; unknown counts as old.
            auth_time: claims.auth_time.and_then(|t| DateTime::<Utc>::from_timestamp(t, 0)).filter(|at| {
                *at <= Utc::now() + chrono::Duration::seconds(i64::try_from(TOKEN_LEEWAY_SECS).unwrap_or(0))
            }),
            sign_in_method,
            staff,
        };
        Ok((identity, claims.exp))
    }
}

/// The staff role a staff claim's value gives: `"staff_read"` or `"staff_admin"`, or an
/// array of them (the highest counts); `true` means `staff_read`, as it did before staff
/// had roles. Anything else gives none.
fn staff_role(value: &Value) -> Option<StaffRole> {
    match value {
        Value::Bool(true) => Some(StaffRole::Read),
        Value::String(name) => StaffRole::parse(name),
        Value::Array(names) => names.iter().filter_map(Value::as_str).filter_map(StaffRole::parse).max(),
        _ => None,
    }
}

/// What a development token says about its bearer.
#[derive(Debug, Clone)]
pub struct DevToken {
    pub subject: String,
    pub email: Option<String>,
    pub name: Option<String>,
    pub mfa: bool,
    /// The staff role the token's staff claim names.
    pub staff: Option<StaffRole>,
    pub ttl: std::time::Duration,
}

#[derive(Serialize)]
struct MintedClaims<'a> {
    sub: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<&'a str>,
    email_verified: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    amr: Vec<&'static str>,
    iat: i64,
    auth_time: i64,
    exp: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    iss: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    aud: Option<&'a str>,
    #[serde(flatten)]
    staff: HashMap<&'a str, &'static str>,
}

/// Signs an HS256 token with the configured secret, for development and tests.
pub fn mint_dev_token(config: &JwtConfig, token: &DevToken) -> Result<String, ConfigError> {
    let secret = config.hs256_secret.as_ref().ok_or_else(|| ConfigError {
        var: "ORGD_JWT_SECRET",
        problem: "not set; development tokens are signed with it (public keys cannot sign)".to_owned(),
        fix: "set ORGD_JWT_SECRET to the server's key, or run `make -s token SUB=alice EMAIL=alice@example.com`"
            .to_owned(),
    })?;
    let now = Utc::now().timestamp();
    let ttl = i64::try_from(token.ttl.as_secs()).unwrap_or(i64::MAX / 2);
    let mut staff = HashMap::new();
    if let Some(role) = token.staff {
        staff.insert(config.staff_claim.as_str(), role.as_str());
    }
    let claims = MintedClaims {
        sub: &token.subject,
        email: token.email.as_deref(),
        email_verified: token.email.is_some(),
        name: token.name.as_deref(),
        amr: if token.mfa { vec!["pwd", "otp", "mfa"] } else { vec!["pwd"] },
        iat: now,
        auth_time: now,
        exp: now.saturating_add(ttl),
        iss: config.issuer.as_deref(),
        aud: config.audience.as_deref(),
        staff,
    };
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.expose_secret().as_bytes()),
    )
    .map_err(|e| ConfigError {
        var: "ORGD_JWT_SECRET",
        problem: format!("cannot sign: {e}"),
        fix: "use a different key".to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use secrecy::SecretString;

    use super::*;

    fn config(secret: &str) -> JwtConfig {
        JwtConfig {
            hs256_secret: Some(SecretString::from(secret.to_owned())),
            jwks_file: None,
            issuer: Some("https://idp.test".into()),
            audience: Some("orgd".into()),
            staff_claim: "orgd_staff".into(),
            sign_in_method_claim: Some("login_method".into()),
        }
    }

    fn dev(ttl_secs: u64) -> DevToken {
        DevToken {
            subject: "u1".into(),
            email: Some("u1@example.com".into()),
            name: None,
            mfa: true,
            staff: Some(StaffRole::Admin),
            ttl: Duration::from_secs(ttl_secs),
        }
    }

    const KEY: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn a_minted_token_verifies_with_its_claims() {
        let config = config(KEY);
        let token = mint_dev_token(&config, &dev(60)).unwrap();
        let identity = JwtVerifier::from_config(&config).unwrap().verify(&token).unwrap();
        assert_eq!(identity.subject, "u1");
        assert!(identity.email_verified && identity.used_mfa());
        assert_eq!(identity.staff, Some(StaffRole::Admin));
    }

    #[test]
    fn wrong_key_issuer_or_audience_is_rejected() {
        let token = mint_dev_token(&config(KEY), &dev(60)).unwrap();
        let other_key = JwtVerifier::from_config(&config("fedcba9876543210fedcba9876543210")).unwrap();
        assert_eq!(other_key.verify(&token).unwrap_err(), TokenError::Rejected);
        let mut other_aud = config(KEY);
        other_aud.audience = Some("another-service".into());
        assert_eq!(JwtVerifier::from_config(&other_aud).unwrap().verify(&token).unwrap_err(), TokenError::Rejected);
        let mut other_iss = config(KEY);
        other_iss.issuer = Some("https://evil.test".into());
        assert_eq!(JwtVerifier::from_config(&other_iss).unwrap().verify(&token).unwrap_err(), TokenError::Rejected);
    }

    #[test]
    fn expired_and_garbage_tokens_are_told_apart() {
        let config = config(KEY);
        let verifier = JwtVerifier::from_config(&config).unwrap();
        let mut expired = dev(0);
        expired.ttl = Duration::from_secs(0);
        let claims_past = mint_dev_token(&config, &expired).unwrap();
        // exp = now, within leeway: still valid; a token minted long ago is tested over HTTP.
        assert!(verifier.verify(&claims_past).is_ok());
        assert_eq!(verifier.verify("not.a.token").unwrap_err(), TokenError::Malformed);
        assert_eq!(verifier.verify("").unwrap_err(), TokenError::Malformed);
    }

    const JWKS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/jwks-test.json");

    #[test]
    fn public_keys_are_refused_without_issuer_and_audience() {
        let mut jwks = config(KEY);
        jwks.jwks_file = Some(JWKS.into());
        assert!(JwtVerifier::from_config(&jwks).is_ok());
        for (issuer, audience, var) in
            [(None, Some("orgd"), "ORGD_JWT_ISSUER"), (Some("https://idp.test"), None, "ORGD_JWT_AUDIENCE")]
        {
            jwks.issuer = issuer.map(Into::into);
            jwks.audience = audience.map(Into::into);
            assert_eq!(JwtVerifier::from_config(&jwks).err().map(|e| e.var), Some(var));
        }
    }

    #[test]
    fn the_staff_claim_counts_only_from_tokens_bound_by_issuer_and_audience() {
        let mut unbound = config(KEY);
        unbound.issuer = None;
        unbound.audience = None;
        let token = mint_dev_token(&unbound, &dev(60)).unwrap();
        let identity = JwtVerifier::from_config(&unbound).unwrap().verify(&token).unwrap();
        assert_eq!(identity.subject, "u1");
        assert_eq!(identity.staff, None, "another application's token must not make its bearer staff");
        for (issuer, audience) in [(Some("https://idp.test"), None), (None, Some("orgd"))] {
            let mut partly = unbound.clone();
            partly.issuer = issuer.map(Into::into);
            partly.audience = audience.map(Into::into);
            let token = mint_dev_token(&partly, &dev(60)).unwrap();
            assert_eq!(JwtVerifier::from_config(&partly).unwrap().verify(&token).unwrap().staff, None);
        }
    }

    #[test]
    fn the_staff_claim_names_a_role_and_true_still_means_staff_read() {
        let cases = [
            (serde_json::json!(true), Some(StaffRole::Read)),
            (serde_json::json!("staff_read"), Some(StaffRole::Read)),
            (serde_json::json!("staff_admin"), Some(StaffRole::Admin)),
            (serde_json::json!(["staff_read", "staff_admin"]), Some(StaffRole::Admin)),
            (serde_json::json!(["staff_read", "owner"]), Some(StaffRole::Read)),
            (serde_json::json!(false), None),
            (serde_json::json!("admin"), None),
            (serde_json::json!(1), None),
            (serde_json::json!([]), None),
        ];
        for (value, expected) in cases {
            assert_eq!(staff_role(&value), expected, "{value}");
        }
    }

    #[test]
    fn a_remembered_token_is_refused_once_it_expires() {
        let verifier = JwtVerifier::from_config(&config(KEY)).unwrap();
        // Valid for one more second, the leeway included.
        let exp = Utc::now().timestamp() - i64::try_from(TOKEN_LEEWAY_SECS).unwrap() + 1;
        let claims = serde_json::json!({ "sub": "u1", "iss": "https://idp.test", "aud": "orgd", "exp": exp });
        let key = EncodingKey::from_secret(KEY.as_bytes());
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &key).unwrap();
        assert_eq!(verifier.verify(&token).unwrap().subject, "u1");
        assert_eq!(verifier.verify(&token).unwrap().subject, "u1");
        std::thread::sleep(Duration::from_millis(2_100));
        assert_eq!(verifier.verify(&token).unwrap_err(), TokenError::Expired);
    }

    #[test]
    fn a_token_cannot_choose_an_algorithm_without_a_key() {
        let header = Header::new(Algorithm::RS256);
        let verifier = JwtVerifier::from_config(&config(KEY)).unwrap();
        assert!(matches!(verifier.key_for(&header), Err(TokenError::UnknownKey)));
    }
}
