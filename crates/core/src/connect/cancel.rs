//! Operations cancelled on the server. While an operation runs ([`Ops::run`]), every
//! connection it takes from a pool records its backend pid under the operation's id (a
//! task-local scope seen by the pool's `after_connect` and `before_acquire` hooks, through
//! [`Ops::track`]); cancelling it ([`Ops::cancel`], then [`signal`] over a separate connection)
//! sends `pg_cancel_backend` for those pids. That writes nothing, so it works in read-only mode
//! too. The cancelled query fails with SQLSTATE 57014 and the operation with
//! [`CoreError::Cancelled`].

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::postgres::PgConnection;
use tokio::sync::Notify;

use super::classify::map_query_error;
use super::endpoint::Endpoint;
use crate::error::{CoreError, Result};

tokio::task_local! {
    static CURRENT_OP: OpScope;
}

/// Carries the current operation (if any) into `fut`, for work spawned onto other tasks, so
/// that their queries are cancelled with the operation too.
pub fn in_current_op<F: std::future::Future>(
    fut: F,
) -> impl std::future::Future<Output = F::Output> {
    let scope = CURRENT_OP.try_with(|s| s.clone()).ok();
    async move {
        match scope {
            Some(s) => CURRENT_OP.scope(s, fut).await,
            None => fut.await,
        }
    }
}

#[derive(Debug, Clone)]
struct OpScope {
    id: String,
}

#[derive(Debug)]
struct OpState {
    /// The server sessions this operation took from a pool.
    pids: HashSet<(Endpoint, i32)>,
    cancelled: bool,
    running: bool,
    notify: Arc<Notify>,
    since: Instant,
}

impl OpState {
    fn new() -> Self {
        Self {
            pids: HashSet::new(),
            cancelled: false,
            running: false,
            notify: Arc::new(Notify::new()),
            since: Instant::now(),
        }
    }
}

/// The operations of one [`Connections`] and the backend pids each holds.
#[derive(Debug, Default)]
pub(super) struct Ops {
    inner: Mutex<HashMap<String, OpState>>,
}

/// A cancellation of an operation that never started is forgotten after this long.
const PENDING_CANCEL_TTL: Duration = Duration::from_secs(60);

impl Ops {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, OpState>> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Runs `fut` as the operation `op`: [`Ops::cancel`] with the same id ends it with
    /// [`CoreError::Cancelled`] (after its running query was cancelled on the server).
    pub async fn run<T>(
        &self,
        op: &str,
        fut: impl std::future::Future<Output = Result<T>>,
    ) -> Result<T> {
        let notify = self.start(op)?;
        let scope = OpScope { id: op.to_string() };
        let fut = CURRENT_OP.scope(scope, fut);
        tokio::pin!(fut);
        let res = tokio::select! {
            r = &mut fut => r,
            () = notify.notified() => {
                // The server was asked to cancel: let the query end with its error, briefly.
                let _ = tokio::time::timeout(Duration::from_secs(3), &mut fut).await;
                Err(CoreError::Cancelled)
            }
        };
        let cancelled = self.finish(op);
        match res {
            Err(_) if cancelled => Err(CoreError::Cancelled),
            other => other,
        }
    }

    fn start(&self, op: &str) -> Result<Arc<Notify>> {
        if op.is_empty() || op.len() > 200 {
            return Err(CoreError::config(
                "an operation id must be 1 to 200 characters",
            ));
        }
        let mut ops = self.lock();
        let state = ops.entry(op.to_string()).or_insert_with(OpState::new);
        if state.cancelled {
            ops.remove(op);
            return Err(CoreError::Cancelled);
        }
        if state.running {
            return Err(CoreError::config(format!(
                "the operation id `{op}` is already in use by a running operation"
            )));
        }
        state.running = true;
        state.since = Instant::now();
        Ok(state.notify.clone())
    }

    /// Ends an operation; tells whether it was cancelled.
    fn finish(&self, op: &str) -> bool {
        self.lock().remove(op).is_some_and(|s| s.cancelled)
    }

    /// Marks `op` cancelled (also before it starts) and returns the server sessions it holds,
    /// by endpoint.
    pub fn cancel(&self, op: &str) -> HashMap<Endpoint, Vec<i32>> {
        let mut ops = self.lock();
        ops.retain(|_, s| s.running || s.since.elapsed() < PENDING_CANCEL_TTL);
        let state = ops.entry(op.to_string()).or_insert_with(OpState::new);
        state.cancelled = true;
        state.notify.notify_one();
        let mut by_ep: HashMap<Endpoint, Vec<i32>> = HashMap::new();
        for (ep, pid) in state.pids.iter().cloned() {
            by_ep.entry(ep).or_default().push(pid);
        }
        by_ep
    }

    pub fn running(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .lock()
            .iter()
            .filter(|(_, s)| s.running)
            .map(|(id, _)| id.clone())
            .collect();
        ids.sort();
        ids
    }

    fn any_running(&self) -> bool {
        self.lock().values().any(|s| s.running)
    }

    /// Called by the pool when a connection is handed out or opened: records its backend pid
    /// under the current operation, and takes it away from any other operation.
    pub async fn track(&self, conn: &mut PgConnection, ep: &Endpoint) -> Result<(), sqlx::Error> {
        let op = CURRENT_OP.try_with(|s| s.id.clone()).ok();
        if op.is_none() && !self.any_running() {
            return Ok(());
        }
        let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
            .fetch_one(&mut *conn)
            .await?;
        let key = (ep.clone(), pid);
        let mut ops = self.lock();
        for state in ops.values_mut() {
            state.pids.remove(&key);
        }
        if let Some(op) = op
            && let Some(state) = ops.get_mut(&op)
        {
            state.pids.insert(key);
        }
        Ok(())
    }
}

/// Sends `pg_cancel_backend` for `pids` over `conn` (a separate connection to `ep`); returns
/// how many server sessions were signalled.
pub(super) async fn signal(conn: &mut PgConnection, ep: &Endpoint, pids: &[i32]) -> Result<usize> {
    let mut signalled = 0;
    for &pid in pids {
        let ok: Option<bool> = sqlx::query_scalar("SELECT pg_cancel_backend($1)")
            .bind(pid)
            .fetch_one(&mut *conn)
            .await
            .map_err(|e| map_query_error(e, ep))?;
        if ok == Some(true) {
            signalled += 1;
        }
        tracing::debug!(pid, database = %ep.database, ok, "pg_cancel_backend");
    }
    Ok(signalled)
}
