//! A local stand-in for cloud token endpoints: an HTTP/1.1 server on 127.0.0.1 that records
//! every request and answers what the test's handler says; an environment and a clock the
//! token sources read instead of the process's; a role whose password is a token.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use bsi_core::cloudauth::{Clock, SharedEnv};
use bsi_core::profile::Profile;
use bsi_core::tls::SslMode;
use bsi_testkit::shared;

/// One request the emulator received.
#[derive(Debug, Clone)]
pub struct Req {
    pub method: String,
    /// Path and query.
    pub target: String,
    /// Header names in lower case.
    pub headers: HashMap<String, String>,
    pub body: String,
}

impl Req {
    /// The form fields of the body (or of the query), decoded.
    pub fn form(&self) -> HashMap<String, String> {
        let text = if self.body.is_empty() {
            self.target.split_once('?').map(|x| x.1).unwrap_or("")
        } else {
            &self.body
        };
        text.split('&')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (decode(k), decode(v)))
            .collect()
    }

    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub type Handler = dyn Fn(&Req) -> (u16, String) + Send + Sync;

/// A running emulator.
pub struct Emulator {
    pub port: u16,
    pub requests: Arc<Mutex<Vec<Req>>>,
}

impl Emulator {
    pub fn start(handler: impl Fn(&Req) -> (u16, String) + Send + Sync + 'static) -> Emulator {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        let handler: Arc<Handler> = Arc::new(handler);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut s) = stream else { continue };
                let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
                let Some(req) = read_request(&mut s) else {
                    continue;
                };
                seen.lock().unwrap().push(req.clone());
                let (status, body) = handler(&req);
                let content_type = if body.starts_with('<') {
                    "text/xml"
                } else {
                    "application/json"
                };
                let _ = write!(
                    s,
                    "HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        Emulator { port, requests }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn requests(&self) -> Vec<Req> {
        self.requests.lock().unwrap().clone()
    }
}

fn read_request(s: &mut std::net::TcpStream) -> Option<Req> {
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        let n = s.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        raw.extend_from_slice(&buf[..n]);
        if let Some(p) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break p;
        }
    };
    let head = String::from_utf8_lossy(&raw[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split_whitespace();
    let (method, target) = (first.next()?.to_string(), first.next()?.to_string());
    let headers: HashMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let len: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = raw[head_end + 4..].to_vec();
    while body.len() < len {
        let n = s.read(&mut buf).ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&buf[..n]);
    }
    Some(Req {
        method,
        target,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// An environment made of these variables only.
pub fn env(vars: &[(&str, String)]) -> SharedEnv {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    Arc::new(move |k: &str| map.get(k).cloned())
}

/// A clock the test moves forward.
#[derive(Clone, Default)]
pub struct TestClock(Arc<AtomicU64>);

impl TestClock {
    pub fn advance(&self, by: Duration) {
        self.0.fetch_add(by.as_secs(), Ordering::SeqCst);
    }

    pub fn clock(&self) -> Clock {
        let offset = self.0.clone();
        Arc::new(move || SystemTime::now() + Duration::from_secs(offset.load(Ordering::SeqCst)))
    }
}

/// A clock stopped at `secs` after the epoch.
pub fn fixed_clock(secs: u64) -> Clock {
    Arc::new(move || SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
}

/// A login role named `name` whose password is `password` (created or changed).
pub fn role_with_password(name: &str, password: &str) {
    shared().psql(
        "postgres",
        &format!(
            "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{name}') THEN \
             CREATE ROLE \"{name}\" LOGIN PASSWORD '{password}'; ELSE \
             ALTER ROLE \"{name}\" PASSWORD '{password}'; END IF; END $$"
        ),
    );
}

/// A profile for the harness's server as `user`, over TLS.
pub fn profile(name: &str, user: &str) -> Profile {
    let s = shared();
    let mut p = Profile::new(name, "localhost", user);
    p.port = s.port;
    p.tls.sslmode = SslMode::Require;
    p
}

/// A loopback port nothing listens on (an unreachable metadata service).
pub fn closed() -> String {
    format!("http://127.0.0.1:{}", bsi_testkit::closed_port())
}
