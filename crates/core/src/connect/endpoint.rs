//! Where one database lives: host, port, user and database name, and the timeouts its
//! sessions are opened with (so that an error can name them).

/// Where one database lives: the profile's server or a plugin override's.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub database: String,
    /// The profile's timeouts for sessions to this database.
    pub timeouts: Timeouts,
}

/// The timeouts of a profile's sessions, in seconds; 0 when not known.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Timeouts {
    pub acquire_secs: u64,
    pub statement_secs: u64,
}

impl Endpoint {
    pub fn server(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// How long a statement waits for a lock that another session holds (a migration or an
/// `ALTER TABLE` in progress, a Knex transaction left open) before it gives up with SQLSTATE
/// 55P03: at most [`LOCK_TIMEOUT_SECS`], and a second less than the statement timeout (so the
/// lock is what the error names).
pub fn lock_timeout_secs(statement_timeout_secs: u64) -> u64 {
    match statement_timeout_secs {
        0 => LOCK_TIMEOUT_SECS,
        s => s.saturating_sub(1).clamp(1, LOCK_TIMEOUT_SECS),
    }
}

/// The longest wait for a lock: a view should say that something holds a lock well before its
/// statement timeout.
pub const LOCK_TIMEOUT_SECS: u64 = 10;
