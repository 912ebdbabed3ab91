//! How the connections of a profile are faring, for the faults a pool hides:
//! - **stalls**: a query that gets no answer for longer than the server's own statement
//!   timeout allows is not running any more on the server; the network to it stalled (a VPN,
//!   a tunnel or a firewall dropping the connection without closing it) and nothing would end
//!   the wait. The pool's hooks mark each hand-out and return; [`Health::stalled`] tells when
//!   connections are out of their pools and nothing moved for that long, and the operation
//!   watch of [`super::Connections`] ends the operation then.
//! - **lean mode**: a role whose connection limit is reached (SQLSTATE 53300 "for role") cannot
//!   keep idle connections in one pool per database. Once seen, returned connections are closed
//!   instead of kept idle, and a new connection first closes the idle ones of other pools.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::error::CoreError;

/// Time added to the statement timeout before a silent query counts as stalled: the server
/// needs a moment to stop the statement and send its error.
pub const STALL_GRACE: Duration = Duration::from_secs(5);

#[derive(Debug)]
pub(super) struct Health {
    /// The last hand-out or return, and the server of the last hand-out.
    last: Mutex<(Instant, String)>,
    lean: AtomicBool,
    /// How long a query may run on the server (0: no limit, no stall detection).
    statement: Duration,
}

impl Health {
    pub fn new(statement_timeout_secs: u64) -> Self {
        Self {
            last: Mutex::new((Instant::now(), String::new())),
            lean: AtomicBool::new(false),
            statement: Duration::from_secs(statement_timeout_secs),
        }
    }

    fn touch(&self, server: Option<&str>) {
        let mut last = self
            .last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        last.0 = Instant::now();
        if let Some(s) = server {
            s.clone_into(&mut last.1);
        }
    }

    /// A pool handed out a connection to `server`.
    pub fn handed_out(&self, server: &str) {
        self.touch(Some(server));
    }

    /// A connection came back to its pool. Returns whether the pool may keep it idle.
    pub fn returned(&self) -> bool {
        self.touch(None);
        !self.lean()
    }

    pub fn lean(&self) -> bool {
        self.lean.load(Ordering::SeqCst)
    }

    pub fn set_lean(&self) {
        if !self.lean.swap(true, Ordering::SeqCst) {
            tracing::debug!(
                "the role is at its connection limit: idle pooled connections are closed from now on"
            );
        }
    }

    /// How long a connection may be out with nothing moving before it counts as stalled;
    /// `None` when the profile sets no statement timeout.
    pub fn stall_after(&self) -> Option<Duration> {
        (!self.statement.is_zero()).then(|| self.statement + STALL_GRACE)
    }

    /// The stall error when `out` connections are out of their pools and nothing moved for
    /// longer than [`Health::stall_after`].
    pub fn stalled(&self, out: usize) -> Option<CoreError> {
        let after = self.stall_after()?;
        if out == 0 {
            return None;
        }
        let last = self
            .last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let quiet = last.0.elapsed();
        (quiet > after).then(|| CoreError::Stalled {
            server: last.1.clone(),
            secs: quiet.as_secs(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_is_stalled_without_a_connection_out_or_a_timeout() {
        let h = Health::new(1);
        assert!(h.stalled(0).is_none());
        h.handed_out("db:5432");
        assert!(h.stalled(1).is_none(), "it just moved");
        assert!(h.returned());
        assert!(Health::new(0).stall_after().is_none());
    }

    #[test]
    fn lean_mode_closes_returned_connections() {
        let h = Health::new(30);
        h.handed_out("db:5432");
        h.set_lean();
        assert!(!h.returned());
    }
}
