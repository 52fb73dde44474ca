//! TXT lookups through hickory-resolver, for proving that an organization owns a domain.
//!
//! The port is synchronous, but hickory is async and needs a tokio runtime. Callers sit on
//! `spawn_blocking` threads inside the server's runtime as well as on plain threads, and
//! starting or blocking on a runtime from some of those panics. So one helper thread owns
//! a current-thread runtime and the resolver, and callers hand it names over a channel and
//! wait for the answer on a plain std channel, which blocks safely anywhere.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::sync::mpsc::{self, RecvTimeoutError, SyncSender};
use std::thread::JoinHandle;
use std::time::Duration;

use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig};
use hickory_resolver::lookup::Lookup;
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError as ResponseError, NetError};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{Name, RData, RecordType};
use hickory_resolver::{ResolverBuilder, TokioResolver};
use orgd_domain::verified_domain::{DnsError, TxtResolver};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

/// Which resolver answers our queries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DnsResolverSetting {
    /// Whatever the host uses (`/etc/resolv.conf` on Unix), so deployments need no setting.
    System,
    /// One recursive resolver, over UDP and over TCP when an answer is truncated; for
    /// hosts whose own resolver filters or rewrites answers, and for tests.
    Server(SocketAddr),
}

impl DnsResolverSetting {
    /// `system`, `ip:port` (`[v6]:port` for IPv6) or a bare IP, which means port 53.
    pub fn parse(value: &str) -> Result<Self, DnsSetupError> {
        let value = value.trim();
        if value.eq_ignore_ascii_case("system") {
            return Ok(Self::System);
        }
        let unbracketed = value.strip_prefix('[').and_then(|v| v.strip_suffix(']')).unwrap_or(value);
        let address = match (value.parse::<SocketAddr>(), unbracketed.parse::<IpAddr>()) {
            (Ok(address), _) => address,
            (Err(_), Ok(ip)) => SocketAddr::new(ip, 53),
            (Err(_), Err(_)) => return Err(DnsSetupError::InvalidSetting(value.to_owned())),
        };
        if address.port() == 0 {
            return Err(DnsSetupError::InvalidSetting(value.to_owned()));
        }
        Ok(Self::Server(address))
    }
}

impl FromStr for DnsResolverSetting {
    type Err = DnsSetupError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Self::parse(value)
    }
}

impl fmt::Display for DnsResolverSetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::System => f.write_str("system"),
            Self::Server(address) => write!(f, "{address}"),
        }
    }
}

/// How long a lookup may take before it counts as "could not tell".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DnsLimits {
    /// For one query to one server.
    pub timeout: Duration,
    /// How many times a failed query is sent, the first included (at least once). A lookup
    /// gives up after about `timeout × attempts`.
    pub attempts: usize,
}

impl Default for DnsLimits {
    /// Short enough that a request waiting on a verification stays well under HTTP
    /// timeouts, with one retry for a lost UDP datagram.
    fn default() -> Self {
        Self { timeout: Duration::from_secs(3), attempts: 2 }
    }
}

/// Why the resolver could not be set up, worded to say how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DnsSetupError {
    #[error(
        "`{0}` is not a DNS resolver setting; use `system`, an IP address (port 53) or an address with a \
         port such as 192.0.2.53:53 or [2001:db8::53]:53"
    )]
    InvalidSetting(String),
    #[error(
        "cannot read the system's DNS configuration ({0}); fix /etc/resolv.conf or name a resolver \
         address instead of `system`"
    )]
    SystemConfig(String),
    #[error("cannot start the DNS resolver: {0}")]
    Start(String),
}

/// A lookup handed to the helper thread, with where to send its answer.
struct Request {
    name: String,
    reply: SyncSender<Result<Vec<String>, DnsError>>,
}

/// [`TxtResolver`] over hickory-resolver. Answers are never cached, so a record just
/// published (or just removed) is seen on the next verification.
pub struct HickoryTxtResolver {
    /// `None` only while dropping, to close the channel and let the helper thread end.
    requests: Option<UnboundedSender<Request>>,
    /// How long a caller waits at most, in case the helper thread is stuck.
    deadline: Duration,
    helper: Option<JoinHandle<()>>,
}

impl HickoryTxtResolver {
    /// Reads the system configuration now, so that a broken one stops the service at start
    /// rather than failing every verification later.
    pub fn new(setting: &DnsResolverSetting, limits: DnsLimits) -> Result<Self, DnsSetupError> {
        let builder = builder(setting, limits)?;
        // hickory gives up by itself after `timeout × attempts`; these are backstops, later
        // than that so its more telling error is the one reported.
        let tries = u32::try_from(limits.attempts.max(1)).unwrap_or(u32::MAX);
        let lookup_deadline = limits.timeout.saturating_mul(tries).saturating_add(Duration::from_millis(500));
        let (requests, incoming) = unbounded_channel();
        let (ready, started) = mpsc::sync_channel(1);
        let helper = std::thread::Builder::new()
            .name("dns-resolver".into())
            .spawn(move || serve(builder, lookup_deadline, incoming, ready))
            .map_err(|e| DnsSetupError::Start(format!("cannot spawn its thread: {e}")))?;
        match started.recv() {
            Ok(Ok(())) => {}
            Ok(Err(reason)) => {
                let _ = helper.join();
                return Err(DnsSetupError::Start(reason));
            }
            Err(_) => {
                let _ = helper.join();
                return Err(DnsSetupError::Start("its thread ended while starting".into()));
            }
        }
        Ok(Self {
            requests: Some(requests),
            deadline: lookup_deadline.saturating_add(Duration::from_millis(500)),
            helper: Some(helper),
        })
    }
}

impl TxtResolver for HickoryTxtResolver {
    fn txt_records(&self, name: &str) -> Result<Vec<String>, DnsError> {
        let stopped = || DnsError("the DNS resolver has stopped".into());
        let (reply, answer) = mpsc::sync_channel(1);
        let requests = self.requests.as_ref().ok_or_else(stopped)?;
        requests.send(Request { name: name.to_owned(), reply }).map_err(|_| stopped())?;
        match answer.recv_timeout(self.deadline) {
            Ok(result) => result,
            Err(RecvTimeoutError::Timeout) => {
                Err(DnsError(format!("{name} TXT: no answer within {} ms", self.deadline.as_millis())))
            }
            Err(RecvTimeoutError::Disconnected) => Err(stopped()),
        }
    }
}

impl Drop for HickoryTxtResolver {
    fn drop(&mut self) {
        self.requests = None;
        if let Some(helper) = self.helper.take() {
            let _ = helper.join();
        }
    }
}

fn builder(
    setting: &DnsResolverSetting,
    limits: DnsLimits,
) -> Result<ResolverBuilder<TokioRuntimeProvider>, DnsSetupError> {
    let mut builder = match setting {
        DnsResolverSetting::System => {
            TokioResolver::builder_tokio().map_err(|e| DnsSetupError::SystemConfig(e.to_string()))?
        }
        DnsResolverSetting::Server(address) => {
            let mut udp = ConnectionConfig::udp();
            udp.port = address.port();
            let mut tcp = ConnectionConfig::tcp();
            tcp.port = address.port();
            let server = NameServerConfig::new(address.ip(), true, vec![udp, tcp]);
            TokioResolver::builder_with_config(
                ResolverConfig::from_name_servers(vec![server]),
                TokioRuntimeProvider::default(),
            )
        }
    };
    let options = builder.options_mut();
    options.timeout = limits.timeout;
    // hickory counts retries after the first try.
    options.attempts = limits.attempts.max(1) - 1;
    // A verification must see the zone as it is now, not as it was when a previous
    // lookup (perhaps the one that failed and made the user fix the record) saw it.
    options.cache_size = 0;
    options.positive_max_ttl = Some(Duration::ZERO);
    options.negative_max_ttl = Some(Duration::ZERO);
    // /etc/hosts has no TXT records, and a stale entry there must not answer for DNS.
    options.use_hosts_file = ResolveHosts::Never;
    Ok(builder)
}

/// The helper thread: builds the resolver inside its own runtime, then runs each request
/// as a task so that one slow lookup does not hold up the others.
fn serve(
    builder: ResolverBuilder<TokioRuntimeProvider>,
    lookup_deadline: Duration,
    mut incoming: UnboundedReceiver<Request>,
    ready: SyncSender<Result<(), String>>,
) {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            let _ = ready.send(Err(format!("cannot build its tokio runtime: {e}")));
            return;
        }
    };
    runtime.block_on(async move {
        let resolver = match builder.build() {
            Ok(resolver) => resolver,
            Err(e) => {
                let _ = ready.send(Err(e.to_string()));
                return;
            }
        };
        let _ = ready.send(Ok(()));
        while let Some(Request { name, reply }) = incoming.recv().await {
            let resolver = resolver.clone();
            tokio::spawn(async move {
                let result = tokio::time::timeout(lookup_deadline, lookup(&resolver, &name))
                    .await
                    .unwrap_or_else(|_| Err(DnsError(format!("{name} TXT: timed out"))));
                // The caller may have given up waiting; nobody else wants the answer.
                let _ = reply.try_send(result);
            });
        }
    });
}

async fn lookup(resolver: &TokioResolver, name: &str) -> Result<Vec<String>, DnsError> {
    let mut fqdn = Name::from_ascii(name).map_err(|e| DnsError(format!("{name} is not a domain name: {e}")))?;
    // Fully qualified, so that no search domain from resolv.conf is ever appended: a
    // record under `example.com.corp.internal` proves nothing about `example.com`.
    fqdn.set_fqdn(true);
    // The cache is configured off; clearing the entry as well keeps that true should a
    // hickory release start honouring a zero size or TTL differently.
    resolver.clear_lookup_cache(fqdn.clone(), RecordType::TXT);
    txt_records_from(name, resolver.txt_lookup(fqdn).await)
}

/// Tells an authoritative "none" apart from "could not tell"; only the first may ever
/// un-verify a domain.
fn txt_records_from(name: &str, answer: Result<Lookup, NetError>) -> Result<Vec<String>, DnsError> {
    match answer {
        // Only records owned by the name asked: one reached through a CNAME (a wildcard
        // pointing at someone else's host, say) proves nothing about this name.
        Ok(lookup) => Ok(lookup
            .answers()
            .iter()
            .filter(|record| record.name == *lookup.query().name())
            .filter_map(|record| match &record.data {
                RData::TXT(txt) => Some(String::from_utf8_lossy(&txt.txt_data.concat()).into_owned()),
                _ => None,
            })
            .collect()),
        Err(NetError::Dns(ResponseError::NoRecordsFound(none))) => match none.response_code {
            // A bare NS referral comes from a server that does not recurse: it did not
            // look, so it cannot say there is nothing.
            ResponseCode::NoError if none.soa.is_none() && none.ns.is_some() => {
                Err(DnsError(format!("{name} TXT: the resolver answered with a referral; it does not recurse")))
            }
            ResponseCode::NoError | ResponseCode::NXDomain => Ok(Vec::new()),
            code => Err(DnsError(format!("{name} TXT: {code}"))),
        },
        Err(error) => Err(DnsError(format!("{name} TXT: {error}"))),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use hickory_resolver::net::{ForwardNSData, NoRecords};
    use hickory_resolver::proto::op::Query;
    use hickory_resolver::proto::rr::rdata::{NS, TXT};
    use hickory_resolver::proto::rr::Record;

    use super::*;

    fn query() -> Query {
        Query::query(Name::from_ascii("_orgd.example.com.").unwrap(), RecordType::TXT)
    }

    fn none(code: ResponseCode) -> Result<Lookup, NetError> {
        Err(NetError::Dns(ResponseError::NoRecordsFound(NoRecords::new(query(), code))))
    }

    #[test]
    fn settings_parse_or_say_what_is_accepted() {
        let server = |s: &str| DnsResolverSetting::Server(s.parse().unwrap());
        assert_eq!(DnsResolverSetting::parse("system"), Ok(DnsResolverSetting::System));
        assert_eq!(DnsResolverSetting::parse(" System "), Ok(DnsResolverSetting::System));
        assert_eq!(DnsResolverSetting::parse("10.0.0.2"), Ok(server("10.0.0.2:53")));
        assert_eq!(DnsResolverSetting::parse("10.0.0.2:5353"), Ok(server("10.0.0.2:5353")));
        assert_eq!(DnsResolverSetting::parse("2001:db8::1"), Ok(server("[2001:db8::1]:53")));
        assert_eq!(DnsResolverSetting::parse("[2001:db8::1]"), Ok(server("[2001:db8::1]:53")));
        assert_eq!(DnsResolverSetting::parse("[2001:db8::1]:5353"), Ok(server("[2001:db8::1]:5353")));
        for bad in ["", "dns.google", "10.0.0.2:", "10.0.0.2:0", "10.0.0.2:99999", "udp://10.0.0.2"] {
            let error = DnsResolverSetting::parse(bad).unwrap_err();
            assert!(error.to_string().contains("use `system`"), "{bad}: {error}");
        }
        assert_eq!(DnsResolverSetting::parse("10.0.0.2:53").unwrap().to_string(), "10.0.0.2:53");
    }

    #[test]
    fn the_system_configuration_is_usable() {
        if std::path::Path::new("/etc/resolv.conf").exists() {
            HickoryTxtResolver::new(&DnsResolverSetting::System, DnsLimits::default()).unwrap();
        }
    }

    #[test]
    fn character_strings_are_joined_per_record() {
        let q = query();
        let name = q.name().clone();
        let records = [
            Record::from_rdata(name.clone(), 60, RData::TXT(TXT::from_bytes(vec![b"v=spf1 ", b"-all"]))),
            Record::from_rdata(name.clone(), 60, RData::TXT(TXT::from_bytes(vec![b"caf\xc3", b"\xa9"]))),
            Record::from_rdata(name, 60, RData::TXT(TXT::from_bytes(vec![b"\xff"]))),
        ];
        let found = txt_records_from("x", Ok(Lookup::new_with_max_ttl(q, records))).unwrap();
        assert_eq!(found, vec!["v=spf1 -all".to_owned(), "café".to_owned(), "\u{fffd}".to_owned()]);
    }

    #[test]
    fn records_reached_through_a_cname_do_not_count() {
        let q = query();
        let elsewhere = Name::from_ascii("dangling.attacker.example.").unwrap();
        let records = [
            Record::from_rdata(q.name().clone(), 60, RData::TXT(TXT::from_bytes(vec![b"mine"]))),
            Record::from_rdata(elsewhere, 60, RData::TXT(TXT::from_bytes(vec![b"theirs"]))),
        ];
        let found = txt_records_from("x", Ok(Lookup::new_with_max_ttl(q, records))).unwrap();
        assert_eq!(found, vec!["mine".to_owned()]);
    }

    #[test]
    fn only_authoritative_absence_is_empty() {
        assert_eq!(txt_records_from("x", none(ResponseCode::NXDomain)), Ok(vec![]));
        assert_eq!(txt_records_from("x", none(ResponseCode::NoError)), Ok(vec![]));
        assert!(txt_records_from("x", none(ResponseCode::ServFail)).is_err());
        assert!(txt_records_from("x", Err(NetError::Timeout)).is_err());
        let refused = Err(NetError::Dns(ResponseError::ResponseCode(ResponseCode::Refused)));
        assert!(txt_records_from("x", refused).is_err());

        let mut referral = NoRecords::new(query(), ResponseCode::NoError);
        let ns = Record::from_rdata(
            Name::from_ascii("example.com.").unwrap(),
            60,
            RData::NS(NS(Name::from_ascii("ns1.example.net.").unwrap())),
        );
        referral.ns = Some(Arc::from(vec![ForwardNSData { ns, glue: Arc::from(Vec::new()) }]));
        let error = txt_records_from("x", Err(NetError::Dns(ResponseError::NoRecordsFound(referral)))).unwrap_err();
        assert!(error.0.contains("referral"), "{error}");
    }
}
