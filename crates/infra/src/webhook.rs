//! Sending webhook deliveries over HTTP, signed with the `standardwebhooks` crate, to
//! destinations the network guard admits.
//!
//! The guard resolves the endpoint's name and refuses it when any address is internal:
//! loopback, private, carrier-grade NAT, link-local (cloud metadata at 169.254.169.254),
//! unique-local, multicast, reserved, or IPv4 inside IPv6. The request then goes to the
//! address the guard checked (no second resolution a rebinding DNS could answer
//! differently), without following redirects.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use ipnet::IpNet;
use orgd_domain::webhooks::{DestinationGuard, Sent, WebhookTransport};

/// How long an attempt may take, connecting included.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// How much of an answer is kept, to show in the deliveries.
const KEPT_ANSWER_BYTES: usize = 512;

/// Ranges no webhook may reach unless the operator allows internal destinations.
const INTERNAL: [&str; 22] = [
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "224.0.0.0/3",
    "::/96",
    "::1/128",
    "::ffff:0:0/96",
    "64:ff9b::/96",
    "64:ff9b:1::/48",
    "2001::/32",
    "2002::/16",
    "100::/64",
    "2001:db8::/32",
    "fc00::/7",
    "fe80::/10",
    "ff00::/8",
];

/// Whether `ip` is inside the platform's network rather than on the public internet.
pub fn is_internal(ip: IpAddr) -> bool {
    INTERNAL.iter().filter_map(|net| net.parse::<IpNet>().ok()).any(|net| net.contains(&ip))
}

/// How long a name may take to resolve.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(5);

/// The addresses of `host`, through the system's resolver, which has no deadline of its
/// own: the lookup runs on a thread of its own, and a slow one is abandoned.
fn lookup(host: &str, port: u16) -> Result<Vec<SocketAddr>, String> {
    let (tx, rx) = std::sync::mpsc::channel();
    let name = host.to_owned();
    std::thread::Builder::new()
        .name("webhook-dns".into())
        .spawn(move || {
            let _ = tx.send((name.as_str(), port).to_socket_addrs().map(Iterator::collect::<Vec<_>>));
        })
        .map_err(|e| format!("cannot look {host} up: {e}"))?;
    match rx.recv_timeout(LOOKUP_TIMEOUT) {
        Ok(Ok(addrs)) => Ok(addrs),
        Ok(Err(e)) => Err(format!("{host} does not resolve: {e}")),
        Err(_) => Err(format!("{host} did not resolve within {} s", LOOKUP_TIMEOUT.as_secs())),
    }
}

/// `Retry-After` in seconds, or as an HTTP date (seconds from `now` until then).
fn retry_after_secs(value: &str, now: DateTime<Utc>) -> Option<u64> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(secs);
    }
    let at = DateTime::parse_from_rfc2822(value).ok()?;
    u64::try_from((at.with_timezone(&Utc) - now).num_seconds().max(0)).ok()
}

/// Admits destinations on the public internet, and internal ones too when allowed
/// (`ORGD_WEBHOOK_ALLOW_PRIVATE`, for development and tests that receive on loopback).
#[derive(Debug, Clone, Copy)]
pub struct NetworkGuard {
    pub allow_internal: bool,
}

impl NetworkGuard {
    /// The addresses to call `url` at, all admitted; `Err` says why not.
    pub fn resolve(&self, url: &url::Url) -> Result<Vec<SocketAddr>, String> {
        let host = url.host_str().ok_or("the URL has no host")?;
        let port = url.port_or_known_default().ok_or("the URL has no port")?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let addrs: Vec<SocketAddr> = lookup(host, port)?;
        if addrs.is_empty() {
            return Err(format!("{host} resolves to no address"));
        }
        if !self.allow_internal {
            // Which address it was is not said: that would map the internal network.
            if addrs.iter().any(|a| is_internal(a.ip())) {
                return Err(format!("{host} resolves to an internal address"));
            }
        }
        Ok(addrs)
    }
}

impl DestinationGuard for NetworkGuard {
    fn admit(&self, url: &url::Url) -> Result<(), String> {
        if url.scheme() == "http" && !self.allow_internal {
            return Err("use https: deliveries carry organization data".into());
        }
        self.resolve(url).map(|_| ())
    }
}

/// Sends deliveries with a blocking HTTP client, from the dispatcher's own thread.
pub struct HttpTransport {
    guard: NetworkGuard,
}

impl HttpTransport {
    pub fn new(guard: NetworkGuard) -> Self {
        Self { guard }
    }

    fn signature(secrets: &[String], message_id: &str, timestamp: i64, body: &[u8]) -> Result<String, String> {
        let signatures = secrets
            .iter()
            .map(|secret| {
                let signer = standardwebhooks::Webhook::new(secret).map_err(|e| format!("signing secret: {e}"))?;
                signer.sign(message_id, timestamp, body).map_err(|e| format!("signing: {e}"))
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(signatures.join(" "))
    }

    fn post(
        &self,
        url: &str,
        message_id: &str,
        timestamp: DateTime<Utc>,
        body: &[u8],
        secrets: &[String],
    ) -> Result<reqwest::blocking::Response, String> {
        let parsed = url::Url::parse(url).map_err(|e| format!("not a URL: {e}"))?;
        self.guard.admit(&parsed)?;
        let addrs = self.guard.resolve(&parsed)?;
        let host = parsed.host_str().ok_or("the URL has no host")?.to_owned();
        let client = reqwest::blocking::Client::builder()
            .timeout(ATTEMPT_TIMEOUT)
            .connect_timeout(ATTEMPT_TIMEOUT / 2)
            .redirect(reqwest::redirect::Policy::none())
            // A proxy would resolve the name itself, past the guard.
            .no_proxy()
            .resolve_to_addrs(&host, &addrs)
            .user_agent("orgd-webhooks")
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        let signature = Self::signature(secrets, message_id, timestamp.timestamp(), body)?;
        client
            .post(parsed)
            .header("content-type", "application/json")
            .header("webhook-id", message_id)
            .header("webhook-timestamp", timestamp.timestamp().to_string())
            .header("webhook-signature", signature)
            .body(body.to_vec())
            .send()
            .map_err(|e| format!("no answer: {e}"))
    }
}

impl WebhookTransport for HttpTransport {
    fn send(&self, url: &str, message_id: &str, timestamp: DateTime<Utc>, body: &[u8], secrets: &[String]) -> Sent {
        let started = Instant::now();
        let outcome = self.post(url, message_id, timestamp, body, secrets);
        let duration_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        match outcome {
            Err(detail) => Sent { status: None, retry_after_secs: None, detail, duration_ms },
            Ok(response) => {
                let status = response.status().as_u16();
                let retry_after_secs = response
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| retry_after_secs(v, Utc::now()));
                let mut kept = Vec::with_capacity(KEPT_ANSWER_BYTES);
                let _ =
                    std::io::Read::read_to_end(&mut std::io::Read::take(response, KEPT_ANSWER_BYTES as u64), &mut kept);
                let detail = String::from_utf8_lossy(&kept).into_owned();
                Sent { status: Some(status), retry_after_secs, detail, duration_ms }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_read_in_seconds_or_as_a_date() {
        let now = DateTime::parse_from_rfc3339("2015-10-21T07:28:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(retry_after_secs(" 120 ", now), Some(120));
        assert_eq!(retry_after_secs("Wed, 21 Oct 2015 07:30:00 GMT", now), Some(120));
        assert_eq!(retry_after_secs("Wed, 21 Oct 2015 07:00:00 GMT", now), Some(0));
        assert_eq!(retry_after_secs("soon", now), None);
    }

    #[test]
    fn internal_addresses_are_told_from_public_ones() {
        for internal in [
            "127.0.0.1",
            "10.1.2.3",
            "172.20.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "224.0.0.1",
        ] {
            assert!(is_internal(internal.parse().unwrap()), "{internal}");
        }
        for public in ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111"] {
            assert!(!is_internal(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn the_guard_refuses_internal_destinations_and_plain_http_unless_allowed() {
        let strict = NetworkGuard { allow_internal: false };
        for url in [
            "https://127.0.0.1/x",
            "https://[::1]/x",
            "https://169.254.169.254/latest/meta-data",
            "http://93.184.216.34/",
            "https://localhost/",
        ] {
            assert!(strict.admit(&url::Url::parse(url).unwrap()).is_err(), "{url}");
        }
        let open = NetworkGuard { allow_internal: true };
        assert!(open.admit(&url::Url::parse("http://127.0.0.1:9/x").unwrap()).is_ok());
    }

    #[test]
    fn each_secret_signs_the_message_as_standard_webhooks_verify_it() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_owned();
        let other = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD".to_owned();
        let signature =
            HttpTransport::signature(&[secret.clone(), other], "msg_1", 1_614_265_330, b"{\"a\":1}").unwrap();
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("webhook-id", "msg_1".parse().unwrap());
        headers.insert("webhook-timestamp", "1614265330".parse().unwrap());
        headers.insert("webhook-signature", signature.parse().unwrap());
        assert_eq!(signature.split(' ').count(), 2);
        // The crate also checks the timestamp is recent; signatures are what is tested here.
        let verifier = standardwebhooks::Webhook::new(&secret).unwrap();
        let now = chrono::Utc::now().timestamp();
        let fresh = HttpTransport::signature(&[secret], "msg_1", now, b"{\"a\":1}").unwrap();
        headers.insert("webhook-timestamp", now.to_string().parse().unwrap());
        headers.insert("webhook-signature", fresh.parse().unwrap());
        verifier.verify(b"{\"a\":1}", &headers).unwrap();
    }
}
