//! The hickory TXT adapter against a real DNS server on loopback: what counts as found,
//! as absent and as "could not tell", freshness, and being called from the kinds of
//! threads the service calls it from.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::UdpSocket;
use std::sync::Arc;
use std::time::{Duration, Instant};

use infra::dns::{DnsLimits, DnsResolverSetting, HickoryTxtResolver};
use infra::test_dns::TestDnsServer;
use orgd_domain::verified_domain::TxtResolver;

const NAME: &str = "_orgd-challenge.example.com";

fn resolver(server: &TestDnsServer) -> HickoryTxtResolver {
    HickoryTxtResolver::new(&DnsResolverSetting::Server(server.addr()), DnsLimits::default()).unwrap()
}

fn sorted(mut records: Vec<String>) -> Vec<String> {
    records.sort();
    records
}

#[test]
fn found_records_are_returned() {
    let server = TestDnsServer::start();
    server.set_txt(NAME, &["orgd-verification=abc123", "v=spf1 -all"]);
    let records = resolver(&server).txt_records(NAME).unwrap();
    assert_eq!(sorted(records), vec!["orgd-verification=abc123", "v=spf1 -all"]);
}

#[test]
fn a_record_split_into_character_strings_comes_back_whole() {
    let server = TestDnsServer::start();
    let long = "x".repeat(300) + &"y".repeat(300);
    server.set_txt(NAME, &[&long]);
    assert_eq!(resolver(&server).txt_records(NAME).unwrap(), vec![long]);
}

#[test]
fn an_answer_too_big_for_udp_is_fetched_over_tcp() {
    let server = TestDnsServer::start();
    let records: Vec<String> = (0..6).map(|i| format!("{i}{}", "z".repeat(499))).collect();
    server.set_txt(NAME, &records.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(sorted(resolver(&server).txt_records(NAME).unwrap()), records);
}

#[test]
fn a_name_that_does_not_exist_has_no_records() {
    let server = TestDnsServer::start();
    server.set_txt("other.example.com", &["unrelated"]);
    assert_eq!(resolver(&server).txt_records(NAME).unwrap(), Vec::<String>::new());
}

#[test]
fn a_name_without_txt_data_has_no_records() {
    let server = TestDnsServer::start();
    server.set_txt(NAME, &[]);
    assert_eq!(resolver(&server).txt_records(NAME).unwrap(), Vec::<String>::new());
}

#[test]
fn a_server_failure_is_an_error_not_an_absence() {
    let server = TestDnsServer::start();
    server.fail(NAME);
    let error = resolver(&server).txt_records(NAME).unwrap_err();
    assert!(error.0.contains(NAME), "{error}");
}

#[test]
fn a_silent_server_is_an_error_within_the_limits() {
    // Bound, so datagrams to it are swallowed rather than refused: a resolver that never answers.
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let limits = DnsLimits { timeout: Duration::from_millis(300), attempts: 2 };
    let resolver = HickoryTxtResolver::new(&DnsResolverSetting::Server(silent.local_addr().unwrap()), limits).unwrap();
    let started = Instant::now();
    let error = resolver.txt_records(NAME).unwrap_err();
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(3), "gave up only after {elapsed:?}: {error}");
    assert!(elapsed >= Duration::from_millis(300), "gave up after {elapsed:?} without waiting: {error}");
}

#[test]
fn changes_between_lookups_are_seen() {
    let server = TestDnsServer::start();
    let resolver = resolver(&server);
    assert_eq!(resolver.txt_records(NAME).unwrap(), Vec::<String>::new());
    server.set_txt(NAME, &["first"]);
    assert_eq!(resolver.txt_records(NAME).unwrap(), vec!["first"]);
    server.set_txt(NAME, &["second"]);
    assert_eq!(resolver.txt_records(NAME).unwrap(), vec!["second"]);
    server.fail(NAME);
    assert!(resolver.txt_records(NAME).is_err());
    server.set_txt(NAME, &["third"]);
    assert_eq!(resolver.txt_records(NAME).unwrap(), vec!["third"]);
    server.remove(NAME);
    assert_eq!(resolver.txt_records(NAME).unwrap(), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn works_from_spawn_blocking_inside_a_runtime() {
    let server = TestDnsServer::start();
    server.set_txt(NAME, &["inside"]);
    // Built and dropped on a runtime worker too, as the server's startup would.
    let resolver = Arc::new(resolver(&server));
    let records = tokio::task::spawn_blocking({
        let resolver = Arc::clone(&resolver);
        move || resolver.txt_records(NAME)
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(records, vec!["inside"]);
}

#[test]
fn works_from_spawn_blocking_on_a_current_thread_runtime() {
    let server = TestDnsServer::start();
    server.set_txt(NAME, &["current"]);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let records = runtime.block_on(async {
        let resolver = resolver(&server);
        tokio::task::spawn_blocking(move || resolver.txt_records(NAME)).await.unwrap()
    });
    assert_eq!(records.unwrap(), vec!["current"]);
}

#[test]
fn works_from_plain_threads_at_once() {
    let server = TestDnsServer::start();
    let resolver = Arc::new(resolver(&server));
    for i in 0..8 {
        server.set_txt(&format!("_orgd-challenge.d{i}.example"), &[&format!("token-{i}")]);
    }
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let resolver = Arc::clone(&resolver);
            std::thread::spawn(move || resolver.txt_records(&format!("_orgd-challenge.d{i}.example")))
        })
        .collect();
    for (i, thread) in threads.into_iter().enumerate() {
        assert_eq!(thread.join().unwrap().unwrap(), vec![format!("token-{i}")]);
    }
}
