//! Test harness: a real PostgreSQL with TLS and SCRAM, started by the tests themselves.
//!
//! [`PgServer::start`] runs `initdb` and `postgres` from the machine's PostgreSQL binaries in a
//! fresh folder, on a free loopback port. The local-PostgreSQL pieces are the demo's
//! (`bsi_core::demo::cluster`): where the binaries are (`$BSI_PG_BIN`, else the newest
//! `/usr/lib/postgresql/*/bin`, else `pg_config --bindir`), running them as the `postgres` user
//! when the tests run as root (PostgreSQL refuses to run as root), and the certificates, made at
//! start: a root CA, an intermediate CA, and a server certificate for `localhost` signed by the
//! intermediate; the server presents the full chain, or only its leaf with
//! [`TlsSetup::LeafOnly`].
//!
//! For network faults, [`Proxy`] forwards a loopback port to the server's and can stall, cut or
//! resume; [`http_responder`] is a port where something else than PostgreSQL answers.
//!
//! [`backstage`] restores the databases real Backstage backends wrote (the committed dumps).
//!
//! The server lives as long as the test process: a small shell wrapper holds a pipe from this
//! process and stops PostgreSQL and removes its folder when the pipe closes, so nothing is left
//! behind even when a test panics.

pub mod backstage;
pub mod sshd;

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use bsi_core::demo::cluster::{self, Authority, Runner};

/// How the server does TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsSetup {
    /// TLS on, the full chain (leaf + intermediate) presented; only `hostssl` lines in
    /// `pg_hba.conf`, so plain connections are refused.
    FullChain,
    /// TLS on, but the server presents only its leaf certificate.
    LeafOnly,
    /// TLS off; plain `host` lines.
    Off,
    /// TLS on with a self-signed certificate for `localhost` that is its own CA (as
    /// `openssl req -x509` makes), written to [`PgServer::server_cert`].
    SelfSigned,
    /// TLS on with a certificate for `localhost` that expired, issued by a CA of its own that
    /// is written to [`PgServer::root_ca`] (so only the expiry is wrong).
    Expired,
    /// As [`TlsSetup::FullChain`], but every `hostssl` line also asks for a client certificate
    /// signed by [`PgServer::root_ca`] (`clientcert=verify-ca`, with `ssl_ca_file` set).
    ClientCertRequired,
}

/// A CA (PEM) and a certificate for `localhost` it issued that expired in 2021, with its key.
fn expired_localhost() -> (String, String, String) {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
        date_time_ymd,
    };
    let ca_key = KeyPair::generate().expect("key");
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("params");
    ca.distinguished_name
        .push(DnType::CommonName, "bsi test expired-leaf CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca.self_signed(&ca_key).expect("CA certificate");
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().expect("key");
    let mut leaf = CertificateParams::new(vec!["localhost".to_string()]).expect("params");
    leaf.distinguished_name
        .push(DnType::CommonName, "localhost");
    leaf.not_before = date_time_ymd(2020, 1, 1);
    leaf.not_after = date_time_ymd(2021, 1, 1);
    let cert = leaf.signed_by(&key, &issuer).expect("expired certificate");
    (ca_cert.pem(), cert.pem(), key.serialize_pem())
}

/// A self-signed CA certificate for `localhost` and its key (PEM).
fn self_signed_localhost() -> (String, String) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
    let key = KeyPair::generate().expect("key");
    let mut params = CertificateParams::new(vec!["localhost".to_string()]).expect("params");
    params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let cert = params.self_signed(&key).expect("self-signed certificate");
    (cert.pem(), key.serialize_pem())
}

/// A running PostgreSQL for tests.
pub struct PgServer {
    pub port: u16,
    /// The superuser's name (`postgres`) and password (SCRAM).
    pub superuser: String,
    pub password: String,
    /// The root CA that signed the intermediate; trust this for verify-ca/verify-full.
    pub root_ca: PathBuf,
    /// The intermediate CA alone.
    pub intermediate_ca: PathBuf,
    /// A CA that signed nothing this server uses.
    pub unrelated_ca: PathBuf,
    /// The certificate (chain) the server presents.
    pub server_cert: PathBuf,
    /// The folder of the server (data, socket, certificates). Removed when the server stops.
    pub dir: PathBuf,
    pub tls: TlsSetup,
    socket_dir: PathBuf,
    bin: PathBuf,
    guard: Mutex<Option<(Child, ChildStdin)>>,
    counter: AtomicU32,
}

/// The process-wide server with [`TlsSetup::FullChain`], started on first use.
pub fn shared() -> &'static PgServer {
    static SERVER: OnceLock<PgServer> = OnceLock::new();
    SERVER.get_or_init(|| PgServer::start(TlsSetup::FullChain))
}

/// The value of a set-up step, or a panic that says what failed.
fn ok<T>(r: bsi_core::Result<T>) -> T {
    r.unwrap_or_else(|e| panic!("{e}"))
}

fn free_port() -> u16 {
    ok(cluster::free_port())
}

struct Certs {
    root_pem: String,
    intermediate_pem: String,
    leaf_pem: String,
    leaf_key_pem: String,
    unrelated_pem: String,
}

fn make_certs() -> Certs {
    let root = ok(Authority::root("Backstage Inspector Test Root CA"));
    let intermediate = ok(root.intermediate("Backstage Inspector Test Intermediate CA"));
    let (leaf_pem, leaf_key_pem) = ok(intermediate.localhost());
    let other = ok(Authority::root("Unrelated Test CA"));
    Certs {
        root_pem: root.pem(),
        intermediate_pem: intermediate.pem(),
        leaf_pem,
        leaf_key_pem,
        unrelated_pem: other.pem(),
    }
}

/// Appends the server's settings to `postgresql.conf` (loopback on `port`, the socket in
/// `dir`, TLS as `tls` asks, SCRAM, no durability) and writes `pg_hba.conf`.
fn configure(dir: &Path, data: &Path, port: u16, tls: TlsSetup) {
    let ssl = tls != TlsSetup::Off;
    let mut conf = std::fs::OpenOptions::new()
        .append(true)
        .open(data.join("postgresql.conf"))
        .expect("postgresql.conf");
    writeln!(
        conf,
        "\nlisten_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = '{}'\n\
         ssl = {}\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n\
         password_encryption = 'scram-sha-256'\nfsync = off\nsynchronous_commit = off\n\
         full_page_writes = off\nmax_connections = 200\nlog_min_messages = warning\n",
        dir.display(),
        if ssl { "on" } else { "off" }
    )
    .expect("write conf");
    if tls == TlsSetup::ClientCertRequired {
        writeln!(
            conf,
            "ssl_ca_file = '{}'",
            dir.join("root-ca.crt").display()
        )
        .expect("write conf");
    }
    let hba = if tls == TlsSetup::ClientCertRequired {
        "local all all trust\nhostssl all all 127.0.0.1/32 scram-sha-256 clientcert=verify-ca\nhostssl all all ::1/128 scram-sha-256 clientcert=verify-ca\n"
    } else if ssl {
        "local all all trust\nhostssl all all 127.0.0.1/32 scram-sha-256\nhostssl all all ::1/128 scram-sha-256\n"
    } else {
        "local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\nhost all all ::1/128 scram-sha-256\n"
    };
    std::fs::write(data.join("pg_hba.conf"), hba).expect("pg_hba");
}

/// Starts the wrapper: it runs postgres, waits for our pipe to close, stops it and removes the
/// folder. Returns the wrapper and our end of the pipe.
fn spawn(runner: &Runner, bin: &Path, data: &Path, dir: &Path) -> (Child, ChildStdin) {
    let script = r#"
"$1/postgres" -D "$2" >"$3/server.log" 2>&1 &
pid=$!
read -r _ignored
"$1/pg_ctl" -D "$2" -m fast -w stop >/dev/null 2>&1 || kill -INT "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
rm -rf "$3"
"#;
    let mut cmd = runner.cmd(Path::new("sh"));
    cmd.arg("-c")
        .arg(script)
        .arg("sh")
        .arg(bin)
        .arg(data)
        .arg(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = cmd.spawn().expect("start postgres");
    let stdin = child.stdin.take().expect("stdin");
    (child, stdin)
}

impl PgServer {
    /// Starts a new server. Panics with a clear message when that is impossible.
    pub fn start(tls: TlsSetup) -> PgServer {
        let bin = ok(cluster::find_bin());
        let runner = Runner::new();
        let dir = tempfile::Builder::new()
            .prefix("bsi-test-pg-")
            .tempdir()
            .expect("temp dir")
            .keep();
        let data = dir.join("data");
        let password = format!(
            "pw-{:x}",
            std::process::id() as u64 * 7919 + free_port() as u64
        );
        std::fs::write(dir.join("pwfile"), format!("{password}\n")).expect("pwfile");
        let certs = make_certs();
        let root_ca = dir.join("root-ca.crt");
        let intermediate_ca = dir.join("intermediate-ca.crt");
        let unrelated_ca = dir.join("unrelated-ca.crt");
        std::fs::write(&root_ca, &certs.root_pem).expect("write");
        std::fs::write(&intermediate_ca, &certs.intermediate_pem).expect("write");
        std::fs::write(&unrelated_ca, &certs.unrelated_pem).expect("write");

        ok(runner.chown(&dir));
        let pwfile = format!("--pwfile={}", dir.join("pwfile").display());
        ok(runner.initdb(&bin, &data, &["--no-sync".to_string(), pwfile]));
        // Certificates and configuration, written as the data folder's owner would.
        let (server_crt, server_key) = match tls {
            TlsSetup::LeafOnly => (certs.leaf_pem.clone(), certs.leaf_key_pem.clone()),
            TlsSetup::SelfSigned => self_signed_localhost(),
            TlsSetup::Expired => {
                let (ca, crt, key) = expired_localhost();
                std::fs::write(&root_ca, ca).expect("write");
                (crt, key)
            }
            _ => (
                format!("{}{}", certs.leaf_pem, certs.intermediate_pem),
                certs.leaf_key_pem.clone(),
            ),
        };
        let server_cert = dir.join("server-cert.crt");
        std::fs::write(&server_cert, &server_crt).expect("write");
        ok(cluster::install_server_cert(
            &runner,
            &data,
            &server_crt,
            &server_key,
        ));
        let port = free_port();
        configure(&dir, &data, port, tls);
        ok(runner.chown(&dir));
        let (child, stdin) = spawn(&runner, &bin, &data, &dir);

        let server = PgServer {
            port,
            superuser: "postgres".to_string(),
            password,
            root_ca,
            intermediate_ca,
            unrelated_ca,
            server_cert,
            socket_dir: dir.clone(),
            dir,
            tls,
            bin,
            guard: Mutex::new(Some((child, stdin))),
            counter: AtomicU32::new(0),
        };
        server.wait_ready();
        server
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ok = Command::new(self.bin.join("pg_isready"))
                .arg("-h")
                .arg(&self.socket_dir)
                .arg("-p")
                .arg(self.port.to_string())
                .arg("-q")
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            if ok {
                return;
            }
            if Instant::now() > deadline {
                let log = std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
                panic!("PostgreSQL did not start within 30 s; its log:\n{log}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A digest of every row of every table in the databases whose names start with
    /// `prefix` (PostgreSQL's own schemas left out): row counts and a hash of each row's text,
    /// per table. Equal before and after a run, it shows the run wrote nothing there.
    pub fn fingerprint(&self, prefix: &str) -> String {
        let like = prefix.replace('_', "\\_");
        let mut out = String::new();
        for db in self
            .psql(
                "postgres",
                &format!("SELECT datname FROM pg_database WHERE datname LIKE '{like}%' ORDER BY 1"),
            )
            .lines()
        {
            out.push_str(db);
            out.push_str(": ");
            out.push_str(&self.psql(
                db,
                "SELECT coalesce(string_agg(n || '=' || h, ' ' ORDER BY n), '') FROM (SELECT \
                 format('%I.%I', schemaname, tablename) AS n, (xpath('/row/h/text()', \
                 query_to_xml(format('SELECT count(*) || '':'' || coalesce(sum(hashtext(t::text)::numeric), 0) \
                 AS h FROM %I.%I t', schemaname, tablename), false, true, '')))[1]::text AS h \
                 FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')) x",
            ));
            out.push('\n');
        }
        out
    }

    /// Runs SQL as the superuser over the local socket (no TLS, trust) and returns psql's
    /// unaligned, tuples-only output. Panics on error.
    pub fn psql(&self, database: &str, sql: &str) -> String {
        let out = Command::new(self.bin.join("psql"))
            .arg("-h")
            .arg(&self.socket_dir)
            .arg("-p")
            .arg(self.port.to_string())
            .args([
                "-U",
                "postgres",
                "-d",
                database,
                "-v",
                "ON_ERROR_STOP=1",
                "-X",
                "-q",
                "-A",
                "-t",
            ])
            .arg("-c")
            .arg(sql)
            .output()
            .expect("run psql");
        assert!(
            out.status.success(),
            "psql failed on {database}: {}\nSQL: {sql}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim_end().to_string()
    }

    /// Creates a fresh database with a unique name starting with `prefix` and returns its name.
    pub fn create_database(&self, prefix: &str) -> String {
        let n = self.counter.fetch_add(1, Ordering::SeqCst);
        let name = format!("{prefix}{}_{n}", std::process::id());
        self.psql("postgres", &format!("CREATE DATABASE \"{name}\""));
        name
    }

    /// Creates a login role with a password (SCRAM) and returns (name, password).
    pub fn create_role(&self, name: &str, extra: &str) -> (String, String) {
        let password = format!("{name}-secret-{}", std::process::id());
        self.psql(
            "postgres",
            &format!(
                "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{name}') THEN \
                 CREATE ROLE \"{name}\" LOGIN PASSWORD '{password}' {extra}; ELSE \
                 ALTER ROLE \"{name}\" PASSWORD '{password}'; END IF; END $$"
            ),
        );
        (name.to_string(), password)
    }

    /// `postgresql://` URL for `user`/`password` and `database`, with `params` appended.
    pub fn url(&self, user: &str, password: &str, database: &str, params: &str) -> String {
        format!(
            "postgresql://{user}:{password}@localhost:{}/{database}?{params}",
            self.port
        )
    }

    /// Restarts the server (fast shutdown: open sessions end with SQLSTATE 57P01), for
    /// settings that need a restart and for sessions that outlive one. Returns when it accepts
    /// connections again.
    pub fn restart(&self) {
        let runner = Runner::new();
        let mut cmd = runner.cmd(&self.bin.join("pg_ctl"));
        cmd.arg("-D")
            .arg(self.dir.join("data"))
            .args(["-m", "fast", "-w", "restart", "-l"])
            .arg(self.dir.join("server.log"));
        ok(runner.run(&mut cmd, "restart PostgreSQL"));
        self.wait_ready();
    }

    /// Stops the server now (it also stops when the test process ends).
    pub fn stop(&self) {
        if let Some((mut child, stdin)) = self.guard.lock().expect("lock").take() {
            drop(stdin);
            let _ = child.wait();
        }
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A TCP listener on loopback that accepts connections and never answers: for timeouts.
pub fn silent_listener() -> (TcpListener, u16) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    (l, port)
}

/// A loopback port with nothing listening: for refused connections.
pub fn closed_port() -> u16 {
    free_port()
}

/// A TCP listener on loopback that answers whatever it is sent with an HTTP error and closes
/// the connection: a port where something else than PostgreSQL listens.
pub fn http_responder() -> u16 {
    use std::io::Read;
    let (l, port) = silent_listener();
    std::thread::spawn(move || {
        for mut s in l.incoming().flatten() {
            let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
            let mut buf = [0u8; 512];
            let _ = s.read(&mut buf);
            let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n");
        }
    });
    port
}

/// What the [`Proxy`] does with the bytes it is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ProxyState {
    stalled: bool,
    /// Held before each chunk is forwarded: a slow but live network.
    delay: Duration,
    /// Incremented by each cut: connections from before a cut are closed.
    cuts: u64,
}

/// A TCP proxy on loopback in front of a port (PostgreSQL's), for network faults: it forwards
/// both ways until told to [stall](Proxy::stall) (accept and read, forward nothing), to go
/// [slow](Proxy::slow) (hold each chunk a while), to [cut](Proxy::cut) (close both sides of
/// every open connection) or to [resume](Proxy::resume). It runs on its own thread and stops when dropped.
pub struct Proxy {
    /// The port to connect to instead of the target's.
    pub port: u16,
    ctl: tokio::sync::watch::Sender<ProxyState>,
}

impl Proxy {
    /// A proxy on `127.0.0.1:0` forwarding to `127.0.0.1:target`.
    pub fn start(target: u16) -> Proxy {
        let (listener, port) = silent_listener();
        listener.set_nonblocking(true).expect("nonblocking");
        let (ctl, rx) = tokio::sync::watch::channel(ProxyState {
            stalled: false,
            delay: Duration::ZERO,
            cuts: 0,
        });
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("proxy runtime");
            rt.block_on(proxy_loop(listener, target, rx));
        });
        Proxy { port, ctl }
    }

    /// Stops forwarding (bytes are read and held, nothing is delivered, no connection closes).
    pub fn stall(&self) {
        self.ctl.send_modify(|s| s.stalled = true);
    }

    /// Forwards again, the bytes held first.
    pub fn resume(&self) {
        self.ctl.send_modify(|s| s.stalled = false);
    }

    /// Holds every chunk for `delay` before forwarding it (both ways): slow, never stopped.
    /// `Duration::ZERO` forwards at once again.
    pub fn slow(&self, delay: Duration) {
        self.ctl.send_modify(|s| s.delay = delay);
    }

    /// Closes both sides of every connection open now; later ones are forwarded.
    pub fn cut(&self) {
        self.ctl.send_modify(|s| s.cuts += 1);
    }
}

async fn proxy_loop(
    listener: TcpListener,
    target: u16,
    mut rx: tokio::sync::watch::Receiver<ProxyState>,
) {
    let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
    loop {
        let client = tokio::select! {
            a = listener.accept() => match a {
                Ok((c, _)) => c,
                Err(_) => continue,
            },
            ch = rx.changed() => {
                if ch.is_err() {
                    return;
                }
                continue;
            }
        };
        let Ok(server) = tokio::net::TcpStream::connect(("127.0.0.1", target)).await else {
            continue;
        };
        let cuts = rx.borrow().cuts;
        let (cr, cw) = client.into_split();
        let (sr, sw) = server.into_split();
        tokio::spawn(pump(cr, sw, rx.clone(), cuts));
        tokio::spawn(pump(sr, cw, rx.clone(), cuts));
    }
}

/// Waits until forwarding is allowed: false when the connection is to close (cut, or the proxy
/// dropped).
async fn forwarding(rx: &mut tokio::sync::watch::Receiver<ProxyState>, cuts: u64) -> bool {
    loop {
        let s = *rx.borrow_and_update();
        if s.cuts != cuts {
            return false;
        }
        if !s.stalled {
            return true;
        }
        if rx.changed().await.is_err() {
            return false;
        }
    }
}

async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut rx: tokio::sync::watch::Receiver<ProxyState>,
    cuts: u64,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        if !forwarding(&mut rx, cuts).await {
            return;
        }
        let n = tokio::select! {
            r = from.read(&mut buf) => match r {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            },
            ch = rx.changed() => {
                if ch.is_err() {
                    return;
                }
                continue;
            }
        };
        let delay = rx.borrow().delay;
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        if !forwarding(&mut rx, cuts).await {
            return;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}
