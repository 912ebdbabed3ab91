//! The core's error type and the stable codes that the CLI (exit codes) and the app
//! (`{code, message}` over IPC) expose. Every variant's message names the problem and the fix.

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

pub type Result<T, E = CoreError> = std::result::Result<T, E>;

/// Stable, machine-readable error codes. Never renumber or rename: scripts and the UI rely on
/// them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// A profile, a config file or an argument is wrong.
    Config,
    /// Something asked for does not exist (profile, database, entity, table).
    NotFound,
    /// The server rejected the user name or password.
    Authentication,
    /// The server does not offer TLS but the profile requires it.
    TlsNotSupported,
    /// The server only accepts TLS connections but the profile disabled TLS.
    TlsRequired,
    /// The server's certificate is not signed by a trusted CA.
    TlsUntrusted,
    /// The certificate is valid but for another host name.
    TlsWrongHost,
    /// The server sends only its leaf certificate; the intermediate is missing.
    TlsIncompleteChain,
    /// Any other TLS failure.
    Tls,
    /// The server could not be reached (refused, no route, DNS), the port does not speak
    /// PostgreSQL, or an open connection ended (the server ended the session, or the network
    /// cut it). Exit code 7, as [`ErrorCode::Timeout`].
    Unreachable,
    /// A connect, acquire or statement timeout.
    Timeout,
    /// A write was attempted through a read-only profile.
    ReadOnly,
    /// The OS keyring cannot be used.
    KeyringUnavailable,
    /// A view needs a table or column that this database does not have.
    SchemaDegraded,
    /// Any other error reported by PostgreSQL.
    Database,
    /// A local file could not be read or written.
    Io,
    /// A running operation was cancelled.
    Cancelled,
    /// The SSH host's key is not in known_hosts, or it changed.
    SshHostKey,
    /// A bug: please report it.
    Internal,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Config => "config",
            ErrorCode::NotFound => "not_found",
            ErrorCode::Authentication => "authentication",
            ErrorCode::TlsNotSupported => "tls_not_supported",
            ErrorCode::TlsRequired => "tls_required",
            ErrorCode::TlsUntrusted => "tls_untrusted",
            ErrorCode::TlsWrongHost => "tls_wrong_host",
            ErrorCode::TlsIncompleteChain => "tls_incomplete_chain",
            ErrorCode::Tls => "tls",
            ErrorCode::Unreachable => "unreachable",
            ErrorCode::Timeout => "timeout",
            ErrorCode::ReadOnly => "read_only",
            ErrorCode::KeyringUnavailable => "keyring_unavailable",
            ErrorCode::SchemaDegraded => "schema_degraded",
            ErrorCode::Database => "database",
            ErrorCode::Io => "io",
            ErrorCode::Cancelled => "cancelled",
            ErrorCode::SshHostKey => "ssh_host_key",
            ErrorCode::Internal => "internal",
        }
    }

    /// The process exit code the CLI uses for this error (documented in the README).
    pub fn exit_code(self) -> i32 {
        match self {
            ErrorCode::Internal => 1,
            ErrorCode::Config => 3,
            ErrorCode::NotFound => 4,
            ErrorCode::Authentication => 5,
            ErrorCode::TlsNotSupported
            | ErrorCode::TlsRequired
            | ErrorCode::TlsUntrusted
            | ErrorCode::TlsWrongHost
            | ErrorCode::TlsIncompleteChain
            | ErrorCode::Tls
            | ErrorCode::SshHostKey => 6,
            ErrorCode::Unreachable | ErrorCode::Timeout => 7,
            ErrorCode::ReadOnly => 8,
            ErrorCode::KeyringUnavailable => 9,
            ErrorCode::SchemaDegraded | ErrorCode::Database => 10,
            ErrorCode::Io => 11,
            ErrorCode::Cancelled => 130,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error("{0}")]
    Config(String),

    #[error("{what} `{name}` not found{}", hint.as_deref().map(|h| format!("; {h}")).unwrap_or_default())]
    NotFound {
        what: &'static str,
        name: String,
        hint: Option<String>,
    },

    #[error(
        "authentication failed for user \"{user}\" on {server}: {message}; check the user name and the password stored for this profile (`bsi profile add --update NAME` stores a new one)"
    )]
    Authentication {
        user: String,
        server: String,
        message: String,
    },

    #[error(
        "{server} does not offer TLS but sslmode is `{sslmode}`; use sslmode=prefer or disable if the network is trusted, or turn on `ssl` in the server's postgresql.conf"
    )]
    TlsNotSupported { server: String, sslmode: String },

    #[error(
        "{server} accepts only TLS connections (the server said: {message}); use sslmode=require or stricter"
    )]
    TlsRequired { server: String, message: String },

    #[error("the certificate of {server} is not trusted ({detail}); {hint}")]
    TlsUntrusted {
        server: String,
        detail: String,
        hint: String,
    },

    #[error(
        "the certificate of {server} is valid for other host names ({detail}); connect using a name the certificate lists, or use sslmode=verify-ca to skip the host name check"
    )]
    TlsWrongHost { server: String, detail: String },

    #[error(
        "{server} sends only its own certificate, not the intermediate CA that signed it ({detail}); add the intermediate certificate to the CA file given with sslrootcert, or configure the server's ssl_cert_file with the full chain"
    )]
    TlsIncompleteChain { server: String, detail: String },

    #[error("TLS with {server} failed: {detail}")]
    Tls { server: String, detail: String },

    #[error(
        "cannot reach {server}: {cause}; check the host and port, that PostgreSQL is running and listens there (listen_addresses), and any firewall in between"
    )]
    Unreachable { server: String, cause: String },

    #[error(
        "the connection to {server} ended while in use ({cause}): the server ended the session \
         (an administrator command such as pg_terminate_backend, or a server restart) or the \
         network cut it; retrying reconnects"
    )]
    ConnectionLost { server: String, cause: String },

    #[error(
        "{server} does not speak PostgreSQL: it answered the PostgreSQL handshake with something \
         else (another service, such as an HTTP server, listens there); check the host and port \
         of the profile (PostgreSQL listens on 5432 unless configured otherwise)"
    )]
    NotPostgres { server: String },

    #[error("{what} timed out after {}s{}", after.as_secs_f32(), hint.as_deref().map(|h| format!("; {h}")).unwrap_or_default())]
    Timeout {
        what: String,
        after: Duration,
        hint: Option<String>,
    },

    /// No pooled connection to `database` on `server` came free, nor could a new one be
    /// opened, within the pool's acquire timeout. [`crate::connect::Connections::explain`]
    /// replaces it with the cause when a fresh connection tells it.
    #[error(
        "waiting for a free pooled connection to {server} / {database} timed out after {after_secs}s; \
         the pool's acquire timeout ({after_secs} s) passed: its connections stayed busy, or no new \
         one could be opened (the role `{user}` at its connection limit, the server at its \
         max_connections, or the server not answering); wait for running work to end, or raise \
         pool.max_connections or pool.acquire_timeout_secs"
    )]
    PoolTimeout {
        server: String,
        database: String,
        user: String,
        after_secs: u64,
    },

    /// A query got no answer for longer than the server's own statement timeout allows: the
    /// network to the server stalled.
    #[error(
        "{server} sent nothing for {secs} s while a query ran, longer than the profile's statement \
         timeout lets a query run: the network to the server stalled (a VPN, a tunnel or a \
         firewall dropping the connection without closing it); check the network and retry, \
         retrying opens a new connection"
    )]
    Stalled { server: String, secs: u64 },

    #[error(
        "{message}; this profile is read-only: turn on write mode for it (`bsi profile add --update NAME --write`) or pass --write for this run"
    )]
    ReadOnly { message: String },

    #[error("the OS keyring is not usable: {cause}; {hint}")]
    KeyringUnavailable { cause: String, hint: String },

    #[error("{view} is unavailable in this database: {reason}")]
    SchemaDegraded { view: String, reason: String },

    #[error("{message}{}", code.as_deref().map(|c| format!(" (SQLSTATE {c})")).unwrap_or_default())]
    Database {
        code: Option<String>,
        message: String,
    },

    #[error("{action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The SSH tunnel of a profile could not be opened; `code` is what the failure is
    /// (`ssh_host_key`, `authentication`, `unreachable`, `timeout` or `config`).
    #[error("SSH tunnel through {destination}: {message}")]
    Ssh {
        code: ErrorCode,
        destination: String,
        message: String,
    },

    #[error("cancelled")]
    Cancelled,

    #[error("internal error: {0}")]
    Internal(String),
}

impl CoreError {
    pub fn code(&self) -> ErrorCode {
        match self {
            CoreError::Config(_) => ErrorCode::Config,
            CoreError::NotFound { .. } => ErrorCode::NotFound,
            CoreError::Authentication { .. } => ErrorCode::Authentication,
            CoreError::TlsNotSupported { .. } => ErrorCode::TlsNotSupported,
            CoreError::TlsRequired { .. } => ErrorCode::TlsRequired,
            CoreError::TlsUntrusted { .. } => ErrorCode::TlsUntrusted,
            CoreError::TlsWrongHost { .. } => ErrorCode::TlsWrongHost,
            CoreError::TlsIncompleteChain { .. } => ErrorCode::TlsIncompleteChain,
            CoreError::Tls { .. } => ErrorCode::Tls,
            CoreError::Unreachable { .. }
            | CoreError::ConnectionLost { .. }
            | CoreError::NotPostgres { .. } => ErrorCode::Unreachable,
            CoreError::Timeout { .. }
            | CoreError::PoolTimeout { .. }
            | CoreError::Stalled { .. } => ErrorCode::Timeout,
            CoreError::ReadOnly { .. } => ErrorCode::ReadOnly,
            CoreError::KeyringUnavailable { .. } => ErrorCode::KeyringUnavailable,
            CoreError::SchemaDegraded { .. } => ErrorCode::SchemaDegraded,
            CoreError::Database { .. } => ErrorCode::Database,
            CoreError::Io { .. } => ErrorCode::Io,
            CoreError::Ssh { code, .. } => *code,
            CoreError::Cancelled => ErrorCode::Cancelled,
            CoreError::Internal(_) => ErrorCode::Internal,
        }
    }

    pub fn config(message: impl Into<String>) -> Self {
        CoreError::Config(message.into())
    }

    pub fn not_found(what: &'static str, name: impl Into<String>) -> Self {
        CoreError::NotFound {
            what,
            name: name.into(),
            hint: None,
        }
    }

    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        CoreError::Io {
            action,
            path: path.into(),
            source,
        }
    }

    /// The error as `{code, message}`, the shape the CLI's `--json` and the app use.
    pub fn to_payload(&self) -> ErrorPayload {
        ErrorPayload {
            code: self.code(),
            message: self.to_string(),
        }
    }
}

/// The serialisable form of an error.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ErrorPayload {
    pub code: ErrorCode,
    pub message: String,
}
