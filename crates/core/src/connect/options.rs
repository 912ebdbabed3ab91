//! Connect options: the endpoint, the password, TLS per the profile (or a plugin override),
//! the session settings sent in the startup packet (`default_transaction_read_only` unless
//! write mode is on, `statement_timeout`, `lock_timeout`, `application_name`), and one connection opened with
//! the connect timeout, its failure classified.

use std::time::{Duration, Instant};

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{ConnectOptions, Connection};

use super::classify;
use super::endpoint::{Endpoint, lock_timeout_secs};
use crate::error::{CoreError, Result};
use crate::profile::PoolSettings;
use crate::secrets::Secret;
use crate::tls::{SslMode, TlsSettings};

/// What one session to `ep` is opened with.
#[derive(Clone, Copy)]
pub(super) struct SessionSettings<'a> {
    pub password: Option<&'a Secret>,
    pub tls: &'a TlsSettings,
    pub pool: &'a PoolSettings,
    pub write_mode: bool,
    /// The loopback port of the SSH tunnel to connect to instead of the endpoint's host and
    /// port; the host name stays the one TLS verifies (`verify-full` works through a tunnel).
    pub via: Option<u16>,
    /// Under `sslmode=allow`, the server refused a plain session before: TLS (libpq's second
    /// attempt, which sqlx does not make).
    pub tls_after_refusal: bool,
}

impl SessionSettings<'_> {
    /// The options of a session to `ep`. Every session is read-only unless write mode is on.
    pub fn options(&self, ep: &Endpoint) -> PgConnectOptions {
        let statement_timeout = format!("{}s", self.pool.statement_timeout_secs);
        let lock_timeout = format!("{}s", lock_timeout_secs(self.pool.statement_timeout_secs));
        let mut opts = PgConnectOptions::new_without_pgpass()
            .host(&ep.host)
            .port(ep.port)
            .username(&ep.user)
            .database(&ep.database)
            .application_name(crate::PRODUCT_NAME);
        if let Some(port) = self.via {
            opts = opts.hostaddr(std::net::Ipv4Addr::LOCALHOST).port(port);
        }
        if let Some(pw) = self.password {
            opts = opts.password(pw.expose());
        }
        opts = self.tls.apply(opts);
        if self.tls_after_refusal && self.tls.effective_mode() == SslMode::Allow {
            opts = opts.ssl_mode(sqlx::postgres::PgSslMode::Require);
        }
        // Statements (slow ones too) are logged at debug only: their text may hold data.
        opts = opts
            .log_statements(log::LevelFilter::Debug)
            .log_slow_statements(log::LevelFilter::Debug, Duration::from_secs(1));
        let read_only = if self.write_mode { "off" } else { "on" };
        opts.options([
            ("default_transaction_read_only", read_only),
            ("statement_timeout", statement_timeout.as_str()),
            ("lock_timeout", lock_timeout.as_str()),
        ])
    }

    /// Whether `err` is the server refusing a plain session that `sslmode=allow` tried first:
    /// the next attempt is over TLS.
    pub fn plain_was_refused(&self, err: &CoreError) -> bool {
        self.tls.effective_mode() == SslMode::Allow
            && !self.tls_after_refusal
            && err.code() == crate::error::ErrorCode::TlsRequired
    }

    /// How long establishing a connection (TLS included) may take.
    pub fn connect_timeout(&self) -> Duration {
        Duration::from_secs(self.pool.connect_timeout_secs.max(1))
    }

    /// Opens one connection outside any pool, with the connect timeout, and classifies
    /// failures precisely.
    #[tracing::instrument(level = "debug", skip(self), fields(server = %ep.server(), database = %ep.database))]
    pub async fn connect_once(self, ep: &Endpoint) -> Result<PgConnection> {
        if self.tls.effective_mode() != SslMode::Disable {
            self.tls.check_ca()?;
        }
        let opts = self.options(ep);
        let timeout = self.connect_timeout();
        let started = Instant::now();
        tracing::debug!(sslmode = %self.tls.effective_mode(), read_only = !self.write_mode, "connecting");
        let res = tokio::time::timeout(timeout, PgConnection::connect_with(&opts)).await;
        match res {
            Ok(Ok(conn)) => {
                tracing::debug!(
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "connected"
                );
                Ok(conn)
            }
            Ok(Err(e)) => {
                let err = classify::connect_error(ep, self.tls, e, timeout).await;
                tracing::debug!(
                    code = err.code().as_str(),
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "connection failed"
                );
                Err(err)
            }
            Err(_) => {
                tracing::debug!(
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "connect timed out"
                );
                Err(connect_timed_out(ep, timeout))
            }
        }
    }
}

/// No connection to `ep` within the profile's connect timeout.
pub(super) fn connect_timed_out(ep: &Endpoint, timeout: Duration) -> CoreError {
    CoreError::Timeout {
        what: format!("connecting to {}", ep.server()),
        after: timeout,
        hint: Some(format!(
            "the server accepted nothing or did not answer within the profile's connect timeout ({} s); \
             check the host, port, network and firewall, or raise the connect timeout \
             (`bsi profile add --update NAME --connect-timeout SECS`)",
            timeout.as_secs()
        )),
    }
}

/// The servers (`host:port`) that refused a plain session under `sslmode=allow`.
#[derive(Default)]
pub(super) struct PlainRefused(std::sync::Mutex<std::collections::HashSet<String>>);

impl PlainRefused {
    pub fn contains(&self, server: &str) -> bool {
        self.0.lock().is_ok_and(|s| s.contains(server))
    }

    pub fn insert(&self, server: String) {
        if let Ok(mut s) = self.0.lock() {
            s.insert(server);
        }
    }
}
