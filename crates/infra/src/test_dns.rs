//! A real DNS server on loopback for tests, answering from a map the test edits while it
//! runs. Plain std threads and sockets, so tests can use it with or without a runtime and
//! the resolver under test talks real UDP and TCP. Each test starts its own server on a
//! port of its own; nothing is shared between tests.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use hickory_proto::op::{Edns, Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::rdata::TXT;
use hickory_proto::rr::{RData, Record, RecordType};

/// How often blocked threads look at the stop flag; bounds how long `Drop` takes.
const POLL: Duration = Duration::from_millis(20);
/// Long, so that a resolver which caches answers fails the freshness tests.
const TTL: u32 = 3600;
/// A character-string holds at most this many bytes (RFC 1035 §3.3).
const MAX_CHARACTER_STRING: usize = 255;

#[derive(Clone)]
enum Entry {
    Txt(Vec<String>),
    ServFail,
}

type Zone = Arc<Mutex<HashMap<String, Entry>>>;

/// A running server; its threads stop when it is dropped.
pub struct TestDnsServer {
    addr: SocketAddr,
    zone: Zone,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl TestDnsServer {
    /// Listens on UDP and TCP on the same loopback port, so truncated answers can be
    /// fetched again over TCP as a real resolver would.
    pub fn start() -> Self {
        let (udp, tcp) = bind_pair();
        let addr = udp.local_addr().expect("UDP socket has an address");
        udp.set_read_timeout(Some(POLL)).expect("set UDP read timeout");
        tcp.set_nonblocking(true).expect("make the TCP listener non-blocking");
        let zone = Zone::default();
        let stop = Arc::new(AtomicBool::new(false));
        let threads = vec![
            spawn("test-dns-udp", {
                let (zone, stop) = (Arc::clone(&zone), Arc::clone(&stop));
                move || serve_udp(&udp, &zone, &stop)
            }),
            spawn("test-dns-tcp", {
                let (zone, stop) = (Arc::clone(&zone), Arc::clone(&stop));
                move || serve_tcp(&tcp, &zone, &stop)
            }),
        ];
        Self { addr, zone, stop, threads }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Replaces the TXT records at `name`; an empty list leaves the name existing with
    /// no TXT data (`NOERROR`, no answers).
    pub fn set_txt(&self, name: &str, records: &[&str]) {
        let records = records.iter().map(|r| (*r).to_owned()).collect();
        self.zone.lock().unwrap().insert(key(name), Entry::Txt(records));
    }

    /// Makes `name` not exist (`NXDOMAIN`).
    pub fn remove(&self, name: &str) {
        self.zone.lock().unwrap().remove(&key(name));
    }

    /// Makes every query for `name` fail with `SERVFAIL`.
    pub fn fail(&self, name: &str) {
        self.zone.lock().unwrap().insert(key(name), Entry::ServFail);
    }
}

impl Drop for TestDnsServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

fn key(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

fn spawn(name: &str, body: impl FnOnce() + Send + 'static) -> JoinHandle<()> {
    std::thread::Builder::new().name(name.into()).spawn(body).expect("spawn a test DNS thread")
}

/// A UDP port whose TCP twin is free too; another process may hold the TCP side of the
/// port the kernel picked, so pick again until both are ours.
fn bind_pair() -> (UdpSocket, TcpListener) {
    let mut last_error = None;
    for _ in 0..50 {
        let udp = UdpSocket::bind("127.0.0.1:0").expect("bind a loopback UDP socket");
        match TcpListener::bind(udp.local_addr().expect("UDP socket has an address")) {
            Ok(tcp) => return (udp, tcp),
            Err(e) => last_error = Some(e),
        }
    }
    panic!("no loopback port free for both UDP and TCP: {last_error:?}");
}

fn serve_udp(socket: &UdpSocket, zone: &Zone, stop: &AtomicBool) {
    let mut buffer = [0u8; 4096];
    while !stop.load(Ordering::Relaxed) {
        let (len, peer) = match socket.recv_from(&mut buffer) {
            Ok(received) => received,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted) => {
                continue
            }
            // Such as an ICMP error for an earlier answer; keep serving.
            Err(_) => {
                std::thread::sleep(POLL);
                continue;
            }
        };
        let Some((request, response)) = answer(&buffer[..len], zone) else { continue };
        let mut bytes = response.to_vec().expect("encode the response");
        if bytes.len() > usize::from(request.max_payload()) {
            bytes = response.truncate().to_vec().expect("encode the truncated response");
        }
        // A client that went away is not the server's problem.
        let _ = socket.send_to(&bytes, peer);
    }
}

fn serve_tcp(listener: &TcpListener, zone: &Zone, stop: &Arc<AtomicBool>) {
    let mut connections = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        match listener.accept() {
            Ok((stream, _)) => {
                let (zone, stop) = (Arc::clone(zone), Arc::clone(stop));
                connections.push(spawn("test-dns-conn", move || serve_connection(stream, &zone, &stop)));
            }
            // Nothing waiting, or a transient failure such as running out of descriptors.
            Err(_) => std::thread::sleep(POLL),
        }
        connections.retain(|c: &JoinHandle<()>| !c.is_finished());
    }
    for connection in connections {
        let _ = connection.join();
    }
}

/// Answers length-prefixed messages (RFC 1035 §4.2.2) until the client closes.
fn serve_connection(mut stream: TcpStream, zone: &Zone, stop: &AtomicBool) {
    stream.set_nonblocking(false).expect("make the TCP stream blocking");
    stream.set_read_timeout(Some(POLL)).expect("set TCP read timeout");
    let mut pending = Vec::new();
    let mut chunk = [0u8; 4096];
    while !stop.load(Ordering::Relaxed) {
        match stream.read(&mut chunk) {
            Ok(0) => return,
            Ok(n) => pending.extend_from_slice(&chunk[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted) => {
                continue
            }
            Err(_) => return,
        }
        while pending.len() >= 2 {
            let len = usize::from(u16::from_be_bytes([pending[0], pending[1]]));
            if pending.len() < 2 + len {
                break;
            }
            let message: Vec<u8> = pending.drain(..2 + len).skip(2).collect();
            let Some((_, response)) = answer(&message, zone) else { continue };
            let bytes = response.to_vec().expect("encode the response");
            let prefix = u16::try_from(bytes.len()).expect("a DNS message fits TCP framing").to_be_bytes();
            if stream.write_all(&prefix).and_then(|()| stream.write_all(&bytes)).is_err() {
                return;
            }
        }
    }
}

/// The request and its response, or `None` for bytes that are not a query.
fn answer(bytes: &[u8], zone: &Zone) -> Option<(Message, Message)> {
    let request = Message::from_vec(bytes).ok()?;
    if request.metadata.message_type != MessageType::Query {
        return None;
    }
    let mut response = Message::response(request.metadata.id, request.metadata.op_code);
    response.metadata.recursion_desired = request.metadata.recursion_desired;
    response.metadata.recursion_available = true;
    response.metadata.authoritative = true;
    // Echoed as asked, case included, as resolvers using 0x20 randomization require.
    response.add_queries(request.queries.iter().cloned());
    if let Some(edns) = &request.edns {
        let mut ours = Edns::new();
        ours.set_max_payload(edns.max_payload());
        response.set_edns(ours);
    }
    let query = match (request.metadata.op_code, request.queries.as_slice()) {
        (OpCode::Query, [query]) => query,
        _ => {
            response.metadata.response_code = ResponseCode::FormErr;
            return Some((request, response));
        }
    };
    let entry = zone.lock().unwrap().get(&key(&query.name().to_ascii())).cloned();
    match entry {
        None => response.metadata.response_code = ResponseCode::NXDomain,
        Some(Entry::ServFail) => response.metadata.response_code = ResponseCode::ServFail,
        Some(Entry::Txt(records)) if query.query_type() == RecordType::TXT => {
            for record in records {
                // An empty record is one empty character-string, not none at all.
                let strings = match record.as_bytes() {
                    b"" => vec![&b""[..]],
                    bytes => bytes.chunks(MAX_CHARACTER_STRING).collect(),
                };
                let data = RData::TXT(TXT::from_bytes(strings));
                response.add_answer(Record::from_rdata(query.name().clone(), TTL, data));
            }
        }
        Some(Entry::Txt(_)) => {}
    }
    Some((request, response))
}
