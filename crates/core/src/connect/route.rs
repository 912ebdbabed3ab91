//! Which way a connection goes: straight to the endpoint, through the profile's SSH tunnel, or
//! through its Cloud SQL connector (both a loopback port); and what the tunnel or the
//! connector says when a connection through it fails.

use std::time::Duration;

use super::{Connections, Endpoint};
use crate::error::{CoreError, Result};

impl Connections {
    /// The loopback port that reaches `ep` (`None` when the connection goes straight to it):
    /// the Cloud SQL connector's, its certificate fetched or renewed when needed; or the SSH
    /// tunnel's, the tunnel started (again) when needed. When the tunnel had to move to other
    /// ports, the pools and views made before are dropped.
    pub(super) async fn route(&self, ep: &Endpoint) -> Result<Option<u16>> {
        if let Some(why) = &self.cloudsql_error {
            return Err(CoreError::config(why.clone()));
        }
        if let Some(c) = &self.cloudsql {
            return c.local_port().await.map(Some);
        }
        let Some(tunnel) = &self.tunnel else {
            return Ok(None);
        };
        let (port, moved) = tunnel.local_port(&ep.host, ep.port).await?;
        if moved {
            self.pools.write().await.clear();
            self.forget_views();
        }
        Ok(Some(port))
    }

    /// What the route says about the connection `via` goes through, for the staged test.
    pub(super) async fn route_detail(&self, ep: &Endpoint, port: u16) -> Option<String> {
        if let Some(c) = &self.cloudsql {
            return Some(format!("{} on 127.0.0.1:{port}", c.describe().await));
        }
        let tunnel = self.tunnel.as_ref()?;
        Some(format!(
            "through {}: {} on 127.0.0.1:{port}",
            tunnel.destination(),
            ep.server()
        ))
    }

    /// The process id of the SSH tunnel's `ssh`, while one runs.
    pub fn ssh_pid(&self) -> Option<u32> {
        self.tunnel.as_ref()?.pid()
    }

    /// How many connections the route could not make so far (`None` without one).
    pub(super) fn route_failures(&self) -> Option<u64> {
        if let Some(c) = &self.cloudsql {
            return Some(c.failures());
        }
        self.tunnel.as_ref().map(|t| t.open_failures().0)
    }

    /// `err`, or why the route could not make the connection to `ep`: the connector's cause
    /// (the instance unreachable, its certificate refused...), or what the SSH tunnel said
    /// when the SSH host could not connect (ssh may say so a moment after the connection
    /// closed: it is given half a second).
    pub(super) async fn through_route(
        &self,
        err: CoreError,
        ep: &Endpoint,
        before: Option<u64>,
    ) -> CoreError {
        let Some(before) = before else {
            return err;
        };
        if let Some(c) = &self.cloudsql {
            if matches!(
                err,
                CoreError::Authentication { .. } | CoreError::Database { .. }
            ) {
                return err;
            }
            for _ in 0..10 {
                if c.failures() > before
                    && let Some(cause) = c.last_failure().await
                {
                    return cause;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            return err;
        }
        let Some(tunnel) = &self.tunnel else {
            return err;
        };
        if !matches!(
            err.code(),
            crate::ErrorCode::Unreachable | crate::ErrorCode::Timeout
        ) {
            return err;
        }
        for _ in 0..10 {
            if let (n, Some(line)) = tunnel.open_failures()
                && n > before
            {
                return CoreError::Unreachable {
                    server: ep.server(),
                    cause: format!(
                        "the SSH host {} could not connect to it ({line})",
                        tunnel.destination()
                    ),
                };
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        err
    }
}
