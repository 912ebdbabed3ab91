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
