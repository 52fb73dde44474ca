//! The X.509 certificate an identity provider signs SAML responses with.

use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};
use x509_parser::pem::Pem;

use crate::error::ValueError;

/// How long before its expiry a certificate is flagged, so that it is replaced before
/// sign-ins start failing.
pub const EXPIRY_WARNING: Duration = Duration::days(30);

/// Largest PEM accepted; a signing certificate is a few kilobytes.
const MAX_PEM_BYTES: usize = 16 * 1024;

/// A parsed signing certificate and the facts people check about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningCertificate {
    /// The certificate as PEM, as stored and given to the SAML verifier.
    pub pem: String,
    /// The subject's distinguished name.
    pub subject: String,
    /// The issuer's distinguished name.
    pub issuer: String,
    /// The start of its validity.
    pub not_before: DateTime<Utc>,
    /// The end of its validity.
    pub not_after: DateTime<Utc>,
    /// SHA-256 of the DER, uppercase hex pairs joined by `:` (as `openssl x509
    /// -fingerprint -sha256` prints it), to compare with the identity provider's console.
    pub fingerprint_sha256: String,
}

impl SigningCertificate {
    /// Reads one PEM `CERTIFICATE`, whatever its dates: a stored certificate stays
    /// readable after it expires. [`Self::parse_current`] is for accepting a new one.
    pub fn parse(pem: &str) -> Result<Self, ValueError> {
        let pem = pem.trim();
        let unreadable = |why: &str| {
            ValueError::new(
                "invalid_certificate",
                format!("{why}; paste the X.509 certificate as PEM, from -----BEGIN CERTIFICATE----- to -----END CERTIFICATE-----"),
            )
        };
        if pem.len() > MAX_PEM_BYTES {
            return Err(unreadable("it is longer than a certificate"));
        }
        let mut blocks = Pem::iter_from_buffer(pem.as_bytes());
        let block = match (blocks.next(), blocks.next()) {
            (Some(Ok(block)), None) => block,
            (Some(Ok(_)), Some(_)) => return Err(unreadable("it holds more than one PEM block")),
            _ => return Err(unreadable("it is not PEM")),
        };
        if block.label != "CERTIFICATE" {
            return Err(unreadable(&format!("it is a PEM `{}`, not a `CERTIFICATE`", block.label)));
        }
        let cert = block.parse_x509().map_err(|_| unreadable("it is not a readable X.509 certificate"))?;
        let time = |t: &x509_parser::time::ASN1Time| {
            DateTime::from_timestamp(t.timestamp(), 0).ok_or_else(|| unreadable("its validity dates are out of range"))
        };
        let validity = cert.validity();
        let fingerprint = Sha256::digest(&block.contents).iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>();
        Ok(Self {
            subject: cert.subject().to_string(),
            issuer: cert.issuer().to_string(),
            not_before: time(&validity.not_before)?,
            not_after: time(&validity.not_after)?,
            fingerprint_sha256: fingerprint.join(":"),
            pem: pem.to_owned(),
        })
    }

    /// Reads a certificate to be trusted from now on: it must be valid at `now`.
    pub fn parse_current(pem: &str, now: DateTime<Utc>) -> Result<Self, ValueError> {
        let cert = Self::parse(pem)?;
        if cert.not_after <= now {
            return Err(ValueError::new(
                "certificate_expired",
                format!(
                    "the certificate expired at {}; ask the identity provider for its current one",
                    cert.not_after.to_rfc3339()
                ),
            ));
        }
        if cert.not_before > now {
            return Err(ValueError::new(
                "certificate_not_yet_valid",
                format!("the certificate is valid only from {}", cert.not_before.to_rfc3339()),
            ));
        }
        Ok(cert)
    }

    /// The certificate expires within [`EXPIRY_WARNING`] of `now` (or has expired).
    pub fn expires_soon(&self, now: DateTime<Utc>) -> bool {
        self.not_after - now <= EXPIRY_WARNING
    }
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// A self-signed certificate valid from `from` to `until`, as PEM.
    pub(crate) fn certificate(from: DateTime<Utc>, until: DateTime<Utc>) -> String {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["idp.example.com".to_owned()]).unwrap();
        params.distinguished_name.push(rcgen::DnType::CommonName, "Example IdP signing");
        let at =
            |t: DateTime<Utc>| rcgen::date_time_ymd(1970, 1, 1) + std::time::Duration::from_secs(t.timestamp() as u64);
        params.not_before = at(from);
        params.not_after = at(until);
        params.self_signed(&key).unwrap().pem()
    }

    #[test]
    fn a_current_certificate_is_read_with_its_facts() {
        let now = Utc::now();
        let pem = certificate(now - Duration::days(1), now + Duration::days(365));
        let cert = SigningCertificate::parse_current(&pem, now).unwrap();
        assert!(cert.subject.contains("CN=Example IdP signing"), "{}", cert.subject);
        assert_eq!(cert.subject, cert.issuer, "self-signed");
        assert_eq!((cert.not_after - now).num_days(), 364);
        assert_eq!(cert.fingerprint_sha256.len(), 32 * 3 - 1);
        assert!(!cert.expires_soon(now));
        assert!(cert.expires_soon(now + Duration::days(340)));
    }

    #[test]
    fn expired_future_and_unreadable_certificates_are_refused() {
        let now = Utc::now();
        let expired = certificate(now - Duration::days(30), now - Duration::days(1));
        assert_eq!(SigningCertificate::parse_current(&expired, now).unwrap_err().code, "certificate_expired");
        assert!(SigningCertificate::parse(&expired).is_ok(), "a stored certificate stays readable");
        let future = certificate(now + Duration::days(1), now + Duration::days(30));
        assert_eq!(SigningCertificate::parse_current(&future, now).unwrap_err().code, "certificate_not_yet_valid");
        let garbage = "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----";
        let key = "-----BEGIN PRIVATE KEY-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END PRIVATE KEY-----";
        let two = format!("{expired}\n{expired}");
        for bad in ["", "MIIB", garbage, key, two.as_str()] {
            assert_eq!(SigningCertificate::parse(bad).unwrap_err().code, "invalid_certificate", "{bad}");
        }
    }
}
