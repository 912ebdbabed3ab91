//! A minimal HTTP/1.1 client for token endpoints: one request per connection
//! (`Connection: close`), HTTPS through rustls with the webpki roots, a timeout on every step,
//! run on the blocking pool. Token endpoints answer small bodies; nothing else is needed.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

/// One request.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: &'static str,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub timeout: Duration,
}

impl Request {
    pub fn get(url: impl Into<String>, timeout: Duration) -> Self {
        Self {
            method: "GET",
            url: url.into(),
            headers: Vec::new(),
            body: Vec::new(),
            timeout,
        }
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    /// A POST of an `application/x-www-form-urlencoded` body.
    pub fn form(url: impl Into<String>, fields: &[(&str, &str)], timeout: Duration) -> Self {
        let body = fields
            .iter()
            .map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        Self {
            method: "POST",
            url: url.into(),
            headers: vec![(
                "Content-Type".into(),
                "application/x-www-form-urlencoded".into(),
            )],
            body: body.into_bytes(),
            timeout,
        }
    }
}

/// An answer: its status and body (as text).
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub body: String,
}

/// Percent-encoding of a form value (RFC 3986 unreserved characters kept).
pub fn form_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

struct Target {
    tls: bool,
    host: String,
    port: u16,
    path: String,
}

fn parse_url(url: &str) -> Result<Target, String> {
    let (tls, rest) = if let Some(r) = url.strip_prefix("https://") {
        (true, r)
    } else if let Some(r) = url.strip_prefix("http://") {
        (false, r)
    } else {
        return Err(format!("`{url}` is not an http:// or https:// address"));
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let (host, port) = if let Some(h) = authority.strip_prefix('[') {
        let (h, p) = h.split_once(']').ok_or("bad IPv6 address")?;
        (h.to_string(), p.strip_prefix(':').map(str::to_string))
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), Some(p.to_string())),
            None => (authority.to_string(), None),
        }
    };
    let port = match port {
        Some(p) => p.parse().map_err(|_| format!("bad port in `{url}`"))?,
        None if tls => 443,
        None => 80,
    };
    if host.is_empty() {
        return Err(format!("no host in `{url}`"));
    }
    Ok(Target {
        tls,
        host,
        port,
        path: path.to_string(),
    })
}

/// Sends `req` and reads the whole answer. The error is a sentence (without the URL, which
/// the caller names).
pub async fn send(req: Request) -> Result<Response, String> {
    tokio::task::spawn_blocking(move || send_blocking(&req))
        .await
        .map_err(|e| format!("the request task failed: {e}"))?
}

fn send_blocking(req: &Request) -> Result<Response, String> {
    let t = parse_url(&req.url)?;
    let addrs: Vec<_> = (t.host.as_str(), t.port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {}: {e}", t.host))?
        .collect();
    let mut last = format!("no address for {}", t.host);
    let mut tcp = None;
    for a in addrs {
        match TcpStream::connect_timeout(&a, req.timeout) {
            Ok(s) => {
                tcp = Some(s);
                break;
            }
            Err(e) => last = format!("cannot connect to {}:{}: {e}", t.host, t.port),
        }
    }
    let tcp = tcp.ok_or(last)?;
    tcp.set_read_timeout(Some(req.timeout)).ok();
    tcp.set_write_timeout(Some(req.timeout)).ok();
    let host_header = if (t.tls && t.port == 443) || (!t.tls && t.port == 80) {
        t.host.clone()
    } else {
        format!("{}:{}", t.host, t.port)
    };
    let mut head = format!(
        "{} {} HTTP/1.1\r\nHost: {host_header}\r\nConnection: close\r\nAccept: application/json\r\nUser-Agent: {}\r\n",
        req.method,
        t.path,
        crate::PRODUCT_NAME
    );
    for (k, v) in &req.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if req.method != "GET" || !req.body.is_empty() {
        head.push_str(&format!("Content-Length: {}\r\n", req.body.len()));
    }
    head.push_str("\r\n");
    let mut raw = Vec::new();
    if t.tls {
        let config = client_config();
        let name = rustls::pki_types::ServerName::try_from(t.host.clone())
            .map_err(|e| format!("bad host name {}: {e}", t.host))?;
        let conn = rustls::ClientConnection::new(config, name)
            .map_err(|e| format!("TLS setup failed: {e}"))?;
        let mut s = rustls::StreamOwned::new(conn, tcp);
        exchange(&mut s, head.as_bytes(), &req.body, &mut raw)?;
    } else {
        let mut s = tcp;
        exchange(&mut s, head.as_bytes(), &req.body, &mut raw)?;
    }
    parse_response(&raw)
}

fn client_config() -> Arc<rustls::ClientConfig> {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map(|b| b.with_root_certificates(roots).with_no_client_auth());
    match config {
        Ok(c) => Arc::new(c),
        // The ring provider supports the default versions; this is not reached.
        Err(_) => Arc::new(
            rustls::ClientConfig::builder()
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth(),
        ),
    }
}

fn exchange(
    s: &mut (impl Read + Write),
    head: &[u8],
    body: &[u8],
    raw: &mut Vec<u8>,
) -> Result<(), String> {
    s.write_all(head)
        .and_then(|()| s.write_all(body))
        .and_then(|()| s.flush())
        .map_err(|e| format!("sending the request failed: {e}"))?;
    let mut buf = [0u8; 8192];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => {
                raw.extend_from_slice(&buf[..n]);
                if raw.len() > 1 << 20 {
                    return Err("the answer is larger than 1 MiB".into());
                }
            }
            // A server closing without TLS close_notify: what arrived is the answer.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !raw.is_empty() => {
                return Ok(());
            }
            Err(e) => return Err(format!("reading the answer failed: {e}")),
        }
    }
}

fn parse_response(raw: &[u8]) -> Result<Response, String> {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("the answer is not HTTP (no end of headers)")?;
    let head = String::from_utf8_lossy(&raw[..split]);
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status: u16 = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("the answer is not HTTP (`{status_line}`)"))?;
    let mut chunked = false;
    let mut length = None;
    for l in lines {
        if let Some((k, v)) = l.split_once(':') {
            let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
            if k == "transfer-encoding" && v.to_ascii_lowercase().contains("chunked") {
                chunked = true;
            } else if k == "content-length" {
                length = v.parse::<usize>().ok();
            }
        }
    }
    let mut body = raw[split + 4..].to_vec();
    if chunked {
        body = dechunk(&body)?;
    } else if let Some(n) = length {
        body.truncate(n);
    }
    Ok(Response {
        status,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

fn dechunk(mut b: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let eol = b
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("a chunked answer ends early")?;
        let size_text = String::from_utf8_lossy(&b[..eol]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| "a chunked answer has a bad chunk size".to_string())?;
        b = &b[eol + 2..];
        if size == 0 {
            return Ok(out);
        }
        if b.len() < size {
            return Err("a chunked answer ends early".into());
        }
        out.extend_from_slice(&b[..size]);
        b = b.get(size + 2..).unwrap_or_default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_answers_are_parsed() {
        let t = parse_url("http://127.0.0.1:8080/a/b?c=d").unwrap();
        assert_eq!((t.tls, t.host.as_str(), t.port), (false, "127.0.0.1", 8080));
        assert_eq!(t.path, "/a/b?c=d");
        let t = parse_url("https://login.microsoftonline.com").unwrap();
        assert_eq!((t.port, t.path.as_str()), (443, "/"));
        let r = parse_response(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
        )
        .unwrap();
        assert_eq!((r.status, r.body.as_str()), (200, "abcde"));
        assert_eq!(form_encode("a b/c+d"), "a%20b%2Fc%2Bd");
    }
}
