//! A connection test in stages, each with its time and, where it stops, the precise failure:
//! the credentials (a password command, the keyring), the TCP connection, the server's answer
//! to the TLS request, the session (TLS handshake and sign-in), and a first query. What the
//! Connections view's "Test" and `bsi test` show.

use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use sqlx::{Connection, Row};

use super::options::connect_timed_out;
use super::{Connections, Endpoint, classify, map_query_error};
use crate::error::Result;
use crate::error::{CoreError, ErrorPayload};
use crate::profile::Profile;
use crate::secrets::{Credentials, PasswordSources};
use crate::tls::SslMode;

/// What a successful connection test learned.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ServerInfo {
    pub server: String,
    pub database: String,
    pub user: String,
    /// `server_version`, for example `15.18 (Debian 15.18-0+deb12u1)`.
    pub version: String,
    pub version_num: i32,
    /// TLS protocol and cipher when the session is encrypted.
    pub tls: Option<String>,
    /// Whether sessions are read-only (the profile is not in write mode).
    pub read_only: bool,
    pub connect_ms: u64,
}

/// One step of a connection test.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum StageName {
    /// The password: given for this run, from the password command or the keyring.
    Credentials,
    /// The SSH tunnel (the system's `ssh`), when the profile has one.
    Ssh,
    /// The Cloud SQL connector: the instance's metadata and an ephemeral client certificate
    /// from the Cloud SQL Admin API, and the loopback port forwarded to the instance.
    Cloudsql,
    /// A TCP connection to the server's port (the host name resolved).
    Tcp,
    /// The server's answer to PostgreSQL's TLS request (`S`: it offers TLS, `N`: it does not).
    TlsOffer,
    /// The TLS handshake (certificate checks per sslmode) and the sign-in.
    Session,
    /// A first query: the server's version, the user, the session's TLS and read-only state.
    Query,
}

impl StageName {
    pub fn label(self) -> &'static str {
        match self {
            StageName::Credentials => "credentials",
            StageName::Ssh => "SSH tunnel",
            StageName::Cloudsql => "Cloud SQL connector",
            StageName::Tcp => "TCP",
            StageName::TlsOffer => "TLS offer",
            StageName::Session => "TLS handshake and sign-in",
            StageName::Query => "first query",
        }
    }
}

/// How a stage ended.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum StageOutcome {
    Passed,
    Failed,
    /// Not needed with these settings (the TLS offer with `sslmode=disable`).
    Skipped,
}

/// One stage: what it found, how long it took, and its error if it failed.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Stage {
    pub name: StageName,
    pub outcome: StageOutcome,
    pub ms: u64,
    /// What the stage found (`127.0.0.1:5432`, `the server offers TLS`...).
    pub detail: Option<String>,
    pub error: Option<ErrorPayload>,
}

/// A connection test: its stages up to the first failure, and the server when all passed.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct StagedTest {
    pub stages: Vec<Stage>,
    pub server: Option<ServerInfo>,
    /// The failing stage's error, with its class (for exit codes and `{code, message}`).
    #[serde(skip)]
    #[cfg_attr(feature = "ts", ts(skip))]
    pub failure: Option<CoreError>,
}

impl StagedTest {
    /// The error of the stage that failed, if one did.
    pub fn error(&self) -> Option<&ErrorPayload> {
        self.stages.iter().find_map(|s| s.error.as_ref())
    }

    /// The server, or the failed stage's error.
    pub fn into_result(self) -> crate::error::Result<ServerInfo> {
        match (self.server, self.failure) {
            (Some(info), None) => Ok(info),
            (_, Some(e)) => Err(e),
            (None, None) => Err(CoreError::config(
                "the connection test ended without a result",
            )),
        }
    }

    fn passed(&mut self, name: StageName, started: Instant, detail: impl Into<String>) {
        self.push(
            name,
            StageOutcome::Passed,
            started,
            Some(detail.into()),
            None,
        );
    }

    fn failed(&mut self, name: StageName, started: Instant, e: CoreError) {
        self.push(
            name,
            StageOutcome::Failed,
            started,
            None,
            Some(e.to_payload()),
        );
        self.failure = Some(e);
    }

    fn push(
        &mut self,
        name: StageName,
        outcome: StageOutcome,
        started: Instant,
        detail: Option<String>,
        error: Option<ErrorPayload>,
    ) {
        self.stages.push(Stage {
            name,
            outcome,
            ms: started.elapsed().as_millis() as u64,
            detail,
            error,
        });
    }
}

/// PostgreSQL's SSLRequest: length 8, code 80877103.
const SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];

/// Tests `profile` in stages with the password its `sources` give, closing what it opened.
pub async fn test_profile(profile: Profile, sources: PasswordSources) -> StagedTest {
    let mut t = StagedTest {
        stages: Vec::new(),
        server: None,
        failure: None,
    };
    if !profile.auth.is_password() {
        // A token method: the token is fetched as the first stage of the test itself.
        let conns = Connections::new(profile, None);
        let t = conns.test_stages().await;
        conns.close().await;
        return t;
    }
    let started = Instant::now();
    let creds = match Credentials::resolve(sources, None).await {
        Ok(c) => c,
        Err(e) => {
            t.failed(StageName::Credentials, started, e);
            return t;
        }
    };
    let found = if creds.password.is_some() {
        "a password"
    } else {
        "no password (the server may not ask for one)"
    };
    t.passed(StageName::Credentials, started, found);
    let conns = Connections::with_plugin_passwords(profile, creds.password, creds.plugin_passwords);
    let rest = conns.test_stages().await;
    conns.close().await;
    t.stages.extend(rest.stages);
    t.server = rest.server;
    t.failure = rest.failure;
    t
}

impl Connections {
    /// Tests `profile` once with the password its `sources` give (looked up in the one order),
    /// closing what it opened: for a profile being made or one that is not open.
    pub async fn test_once(profile: Profile, sources: PasswordSources) -> Result<ServerInfo> {
        let creds = Credentials::resolve(sources, None).await?;
        let conns = Self::with_plugin_passwords(profile, creds.password, creds.plugin_passwords);
        let r = conns.test().await;
        conns.close().await;
        r
    }

    /// Connects to the maintenance database (or the single database) and reports what the
    /// server is.
    pub async fn test(&self) -> Result<ServerInfo> {
        let ep = self.endpoint(self.profile.maintenance_database());
        let started = Instant::now();
        let mut conn = self.connect_once(&ep).await?;
        let connect_ms = started.elapsed().as_millis() as u64;
        let info = server_info(&mut conn, &ep, connect_ms).await;
        let _ = conn.close().await;
        info
    }

    /// Tests the maintenance database (or the single database) in stages with this profile's
    /// password.
    pub async fn test_stages(&self) -> StagedTest {
        let mut t = StagedTest {
            stages: Vec::new(),
            server: None,
            failure: None,
        };
        let ep = self.endpoint(self.profile.maintenance_database());

        // A token method: its token is the credential (fetched, or the cached one still valid).
        if let Some(tokens) = &self.tokens {
            let started = Instant::now();
            match self.token_for(&ep).await {
                Ok(_) => t.passed(
                    StageName::Credentials,
                    started,
                    format!("a token ({})", tokens.method().as_str()),
                ),
                Err(e) => {
                    t.failed(StageName::Credentials, started, e);
                    return t;
                }
            }
        }

        // The SSH tunnel first, when there is one: the TCP connection goes to its port.
        let started = Instant::now();
        let via = match self.route(&ep).await {
            Ok(via) => via,
            Err(e) => {
                let name = match self.cloudsql {
                    Some(_) => StageName::Cloudsql,
                    None => StageName::Ssh,
                };
                t.failed(name, started, e);
                return t;
            }
        };
        if let Some(port) = via
            && let Some(detail) = self.route_detail(&ep, port).await
        {
            let name = match self.cloudsql {
                Some(_) => StageName::Cloudsql,
                None => StageName::Ssh,
            };
            t.passed(name, started, detail);
        }
        let session = self.session(&ep, via);
        let timeout = session.connect_timeout();
        let mode = session.tls.effective_mode();

        // TCP, and on the same stream the TLS request.
        let started = Instant::now();
        let target = match via {
            Some(port) => ("127.0.0.1".to_string(), port),
            None => (ep.host.clone(), ep.port),
        };
        let stream =
            match tokio::time::timeout(timeout, TcpStream::connect((target.0.as_str(), target.1)))
                .await
            {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    let err =
                        classify::connect_error(&ep, session.tls, sqlx::Error::Io(e), timeout)
                            .await;
                    t.failed(StageName::Tcp, started, err);
                    return t;
                }
                Err(_) => {
                    t.failed(StageName::Tcp, started, connect_timed_out(&ep, timeout));
                    return t;
                }
            };
        let peer = stream
            .peer_addr()
            .map(|a| a.to_string())
            .unwrap_or_else(|_| ep.server());
        t.passed(StageName::Tcp, started, format!("connected to {peer}"));

        let started = Instant::now();
        if mode == SslMode::Disable {
            t.push(
                StageName::TlsOffer,
                StageOutcome::Skipped,
                started,
                Some("sslmode=disable: no TLS is asked for".into()),
                None,
            );
        } else {
            match tls_offer(stream, timeout).await {
                Ok(b'S') => t.passed(StageName::TlsOffer, started, "the server offers TLS"),
                Ok(b'N') if matches!(mode, SslMode::Allow | SslMode::Prefer) => t.passed(
                    StageName::TlsOffer,
                    started,
                    format!("the server does not offer TLS: sslmode={mode} goes on without it"),
                ),
                Ok(b'N') => {
                    let err = CoreError::TlsNotSupported {
                        server: ep.server(),
                        sslmode: mode.to_string(),
                    };
                    t.failed(StageName::TlsOffer, started, err);
                    return t;
                }
                Ok(_) => {
                    let err = CoreError::NotPostgres {
                        server: ep.server(),
                    };
                    t.failed(StageName::TlsOffer, started, err);
                    return t;
                }
                Err(e) => {
                    t.failed(StageName::TlsOffer, started, e.into_core(&ep, timeout));
                    return t;
                }
            }
        }

        // The session, as every view opens one.
        let started = Instant::now();
        let mut conn = match self.connect_once(&ep).await {
            Ok(c) => c,
            Err(e) => {
                t.failed(StageName::Session, started, e);
                return t;
            }
        };
        let connect_ms = started.elapsed().as_millis() as u64;
        let signed_in = format!("signed in to {} as {}", ep.database, ep.user);
        t.passed(StageName::Session, started, signed_in);

        let started = Instant::now();
        match server_info(&mut conn, &ep, connect_ms).await {
            Ok(info) => {
                let tls = info.tls.clone().unwrap_or_else(|| "no TLS".into());
                t.passed(
                    StageName::Query,
                    started,
                    format!("PostgreSQL {} · {tls}", info.version),
                );
                t.server = Some(info);
            }
            Err(e) => t.failed(StageName::Query, started, e),
        }
        let _ = conn.close().await;
        t
    }
}

/// A failure while asking for TLS on an open TCP connection.
enum OfferError {
    Io(std::io::Error),
    Timeout,
}

impl OfferError {
    fn into_core(self, ep: &super::Endpoint, timeout: Duration) -> CoreError {
        match self {
            OfferError::Io(e) => CoreError::Unreachable {
                server: ep.server(),
                cause: format!("the connection ended on the TLS request: {e}"),
            },
            OfferError::Timeout => connect_timed_out(ep, timeout),
        }
    }
}

/// Sends the TLS request and reads the server's one-byte answer.
async fn tls_offer(
    mut stream: TcpStream,
    timeout: Duration,
) -> std::result::Result<u8, OfferError> {
    let ask = async {
        stream.write_all(&SSL_REQUEST).await?;
        let mut answer = [0u8; 1];
        stream.read_exact(&mut answer).await?;
        Ok::<u8, std::io::Error>(answer[0])
    };
    match tokio::time::timeout(timeout, ask).await {
        Ok(Ok(b)) => Ok(b),
        Ok(Err(e)) => Err(OfferError::Io(e)),
        Err(_) => Err(OfferError::Timeout),
    }
}

/// The test's stages as lines (for the CLI): `✓ TCP  3 ms  connected to ...`.
pub fn stage_lines(t: &StagedTest) -> Vec<String> {
    t.stages
        .iter()
        .map(|s| {
            let mark = match s.outcome {
                StageOutcome::Passed => "ok",
                StageOutcome::Failed => "FAILED",
                StageOutcome::Skipped => "skipped",
            };
            let what = s
                .error
                .as_ref()
                .map(|e| format!("{}: {}", e.code.as_str(), e.message))
                .or_else(|| s.detail.clone())
                .unwrap_or_default();
            format!("{:<26} {:>7} {:>6} ms  {what}", s.name.label(), mark, s.ms)
        })
        .collect()
}

/// What a first query on a fresh connection to `ep` tells about the server and the session.
async fn server_info(
    conn: &mut sqlx::PgConnection,
    ep: &Endpoint,
    connect_ms: u64,
) -> Result<ServerInfo> {
    let row = sqlx::query(
        "SELECT current_setting('server_version') AS version, \
                current_setting('server_version_num')::int AS num, \
                current_user::text AS usr, \
                current_setting('default_transaction_read_only') = 'on' AS ro, \
                (SELECT CASE WHEN ssl THEN version || ' ' || cipher END FROM pg_stat_ssl WHERE pid = pg_backend_pid()) AS tls",
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| map_query_error(e, ep))?;
    Ok(ServerInfo {
        server: ep.server(),
        database: ep.database.clone(),
        user: row.get("usr"),
        version: row.get("version"),
        version_num: row.get("num"),
        tls: row.get("tls"),
        read_only: row.get("ro"),
        connect_ms,
    })
}
