//! Connections: one bounded, lazily created `PgPool` per database, TLS per the profile,
//! timeouts, read-only sessions unless the profile is in write mode, and the classification
//! of every connection failure into an error the user can act on.
//!
//! Every session is started with `default_transaction_read_only=on` in its startup packet
//! (no extra round trip) unless write mode is on, plus `statement_timeout` and
//! `application_name`. Pools live in a map behind an `RwLock`: a pool is cloned out and the
//! guard dropped before any await on the database.
//!
//! Operations ([`Connections::run_op`]) can be cancelled on the server: while an operation runs,
//! every connection it takes from a pool records its backend pid under the operation's id (a
//! task-local scope seen by the pool's `after_connect` and `before_acquire` hooks), and
//! [`Connections::cancel`] sends `pg_cancel_backend` for those pids over a separate connection.
//! That writes nothing, so it works in read-only mode too. The cancelled query fails with
//! SQLSTATE 57014 and the operation with [`CoreError::Cancelled`].

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPoolOptions};
use sqlx::{Connection, Row};
use tokio::sync::{Notify, RwLock};

use crate::diagnose;
use crate::error::{CoreError, Result};
use crate::profile::Profile;
use crate::secrets::Secret;
use crate::tls::TlsSettings;

/// Where one database lives: the profile's server or a plugin override's.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub database: String,
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

/// The connections of one profile.
pub struct Connections {
    profile: Profile,
    write_mode: bool,
    password: Option<Secret>,
    plugin_passwords: HashMap<String, Secret>,
    pools: RwLock<HashMap<Endpoint, PgPool>>,
    ops: Arc<Ops>,
    handles: Mutex<HashMap<std::any::TypeId, Handle>>,
}

/// An opened view of an area (a catalog with its live schema, say) and when it was opened.
type Handle = (Instant, Arc<dyn std::any::Any + Send + Sync>);

/// How long [`Connections::reuse`] keeps an opened view: a schema change (an upgrade of
/// Backstage) is seen after this long at most.
pub const HANDLE_MAX_AGE: Duration = Duration::from_secs(30);

impl std::fmt::Debug for Connections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connections")
            .field("profile", &self.profile.name)
            .field("write_mode", &self.write_mode)
            .finish_non_exhaustive()
    }
}

impl Connections {
    /// `write_mode` is the profile's setting unless the caller turned it on for this run.
    pub fn new(profile: Profile, password: Option<Secret>) -> Arc<Self> {
        let write_mode = profile.write_mode;
        Arc::new(Self {
            profile,
            write_mode,
            password,
            plugin_passwords: HashMap::new(),
            pools: RwLock::new(HashMap::new()),
            ops: Arc::new(Ops::default()),
            handles: Mutex::new(HashMap::new()),
        })
    }

    pub fn with_plugin_passwords(
        profile: Profile,
        password: Option<Secret>,
        plugin_passwords: HashMap<String, Secret>,
    ) -> Arc<Self> {
        let write_mode = profile.write_mode;
        Arc::new(Self {
            profile,
            write_mode,
            password,
            plugin_passwords,
            pools: RwLock::new(HashMap::new()),
            ops: Arc::new(Ops::default()),
            handles: Mutex::new(HashMap::new()),
        })
    }

    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    pub fn write_mode(&self) -> bool {
        self.write_mode
    }

    /// The endpoint of a database on the profile's own server.
    pub fn endpoint(&self, database: &str) -> Endpoint {
        Endpoint {
            host: self.profile.host.clone(),
            port: self.profile.port,
            user: self.profile.user.clone(),
            database: database.to_string(),
        }
    }

    /// The endpoint of a plugin's database, honouring per-plugin overrides.
    pub fn plugin_endpoint(&self, plugin: &str) -> Endpoint {
        let o = self.profile.plugins.get(plugin);
        Endpoint {
            host: o
                .and_then(|o| o.host.clone())
                .unwrap_or_else(|| self.profile.host.clone()),
            port: o.and_then(|o| o.port).unwrap_or(self.profile.port),
            user: o
                .and_then(|o| o.user.clone())
                .unwrap_or_else(|| self.profile.user.clone()),
            database: match self.profile.mode {
                crate::profile::DivisionMode::Database => self.profile.plugin_database(plugin),
                _ => o
                    .and_then(|o| o.database.clone())
                    .unwrap_or_else(|| self.profile.maintenance_database().to_string()),
            },
        }
    }

    fn tls_for(&self, ep: &Endpoint) -> &TlsSettings {
        self.profile
            .plugins
            .iter()
            .find(|(plugin, o)| o.tls.is_some() && self.plugin_endpoint(plugin) == *ep)
            .and_then(|(_, o)| o.tls.as_ref())
            .unwrap_or(&self.profile.tls)
    }

    fn password_for(&self, ep: &Endpoint) -> Option<&Secret> {
        for (plugin, secret) in &self.plugin_passwords {
            if self.plugin_endpoint(plugin) == *ep {
                return Some(secret);
            }
        }
        self.password.as_ref()
    }

    fn options(&self, ep: &Endpoint) -> PgConnectOptions {
        let statement_timeout = format!("{}s", self.profile.pool.statement_timeout_secs);
        let mut opts = PgConnectOptions::new_without_pgpass()
            .host(&ep.host)
            .port(ep.port)
            .username(&ep.user)
            .database(&ep.database)
            .application_name(crate::PRODUCT_NAME);
        if let Some(pw) = self.password_for(ep) {
            opts = opts.password(pw.expose());
        }
        opts = self.tls_for(ep).apply(opts);
        let read_only = if self.write_mode { "off" } else { "on" };
        opts.options([
            ("default_transaction_read_only", read_only),
            ("statement_timeout", statement_timeout.as_str()),
        ])
    }

    fn connect_timeout(&self) -> Duration {
        Duration::from_secs(self.profile.pool.connect_timeout_secs.max(1))
    }

    /// Opens one connection outside any pool, with the connect timeout, and classifies
    /// failures precisely.
    #[tracing::instrument(level = "debug", skip(self), fields(server = %ep.server(), database = %ep.database))]
    pub async fn connect_once(&self, ep: &Endpoint) -> Result<PgConnection> {
        let opts = self.options(ep);
        let timeout = self.connect_timeout();
        let started = Instant::now();
        tracing::debug!(sslmode = %self.tls_for(ep).effective_mode(), read_only = !self.write_mode, "connecting");
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
                let err = self.classify(ep, e).await;
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
                Err(CoreError::Timeout {
                    what: format!("connecting to {}", ep.server()),
                    after: timeout,
                    hint: Some(
                        "the server accepted nothing or did not answer; check the host, port and firewall, \
                         or raise the profile's connect timeout"
                            .to_string(),
                    ),
                })
            }
        }
    }

    /// The pool of a database, created on first use after a checked first connection.
    pub async fn pool(&self, ep: &Endpoint) -> Result<PgPool> {
        if let Some(pool) = self.pools.read().await.get(ep) {
            return Ok(pool.clone());
        }
        // First use: a real connection tells apart every failure before the pool hides it.
        let conn = self.connect_once(ep).await?;
        let _ = conn.close().await;
        let mut pools = self.pools.write().await;
        if let Some(pool) = pools.get(ep) {
            return Ok(pool.clone());
        }
        let (ops_connect, ep_connect) = (self.ops.clone(), ep.clone());
        let (ops_acquire, ep_acquire) = (self.ops.clone(), ep.clone());
        let pool = PgPoolOptions::new()
            .after_connect(move |conn, _meta| {
                let (ops, ep) = (ops_connect.clone(), ep_connect.clone());
                Box::pin(async move { ops.track(conn, &ep).await })
            })
            .before_acquire(move |conn, _meta| {
                let (ops, ep) = (ops_acquire.clone(), ep_acquire.clone());
                Box::pin(async move { ops.track(conn, &ep).await.map(|()| true) })
            })
            .max_connections(self.profile.pool.max_connections)
            .min_connections(0)
            .acquire_timeout(Duration::from_secs(
                self.profile.pool.acquire_timeout_secs.max(1),
            ))
            .idle_timeout(Some(Duration::from_secs(300)))
            .connect_lazy_with(self.options(ep));
        tracing::debug!(server = %ep.server(), database = %ep.database, max = self.profile.pool.max_connections, "pool created");
        pools.insert(ep.clone(), pool.clone());
        Ok(pool)
    }

    /// The pool of a database on the profile's server.
    pub async fn database(&self, database: &str) -> Result<PgPool> {
        self.pool(&self.endpoint(database)).await
    }

    /// Connects to the maintenance database (or the single database) and reports what the
    /// server is.
    pub async fn test(&self) -> Result<ServerInfo> {
        let ep = self.endpoint(self.profile.maintenance_database());
        let started = Instant::now();
        let mut conn = self.connect_once(&ep).await?;
        let connect_ms = started.elapsed().as_millis() as u64;
        let row = sqlx::query(
            "SELECT current_setting('server_version') AS version, \
                    current_setting('server_version_num')::int AS num, \
                    current_user::text AS usr, \
                    current_setting('default_transaction_read_only') = 'on' AS ro, \
                    (SELECT CASE WHEN ssl THEN version || ' ' || cipher END FROM pg_stat_ssl WHERE pid = pg_backend_pid()) AS tls",
        )
        .fetch_one(&mut conn)
        .await
        .map_err(|e| map_query_error(e, &ep))?;
        let _ = conn.close().await;
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

    /// The view of type `T` opened by `open` within the last [`HANDLE_MAX_AGE`], else a new
    /// one. Views such as [`crate::catalog::Catalog`] read the live schema when opened; reusing
    /// them spares those round trips on every page of a list.
    pub async fn reuse<T, F, Fut>(&self, open: F) -> Result<Arc<T>>
    where
        T: std::any::Any + Send + Sync,
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        let key = std::any::TypeId::of::<T>();
        let hit = self
            .handles
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&key)
            .filter(|(at, _)| at.elapsed() < HANDLE_MAX_AGE)
            .map(|(_, h)| h.clone());
        if let Some(t) = hit.and_then(|h| h.downcast::<T>().ok()) {
            return Ok(t);
        }
        let t = Arc::new(open().await?);
        self.handles
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(key, (Instant::now(), t.clone()));
        Ok(t)
    }

    /// Forgets the opened views: the next [`Connections::reuse`] reads the schema again.
    pub fn forget_views(&self) {
        self.handles
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clear();
    }

    /// Runs `fut` as the operation `op`: [`Connections::cancel`] with the same id cancels its
    /// running query on the server. Ids are chosen by the caller and must be unique among the
    /// operations running at the same time.
    pub async fn run_op<T>(
        &self,
        op: &str,
        fut: impl std::future::Future<Output = Result<T>>,
    ) -> Result<T> {
        let notify = self.ops.start(op)?;
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
        let cancelled = self.ops.finish(op);
        match res {
            Err(_) if cancelled => Err(CoreError::Cancelled),
            other => other,
        }
    }

    /// Cancels the operation `op`: its running queries are cancelled on the server
    /// (`pg_cancel_backend`, from a separate connection) and [`Connections::run_op`] returns
    /// [`CoreError::Cancelled`]. An operation that has not started yet is cancelled when it
    /// starts. Returns how many server sessions were signalled.
    #[tracing::instrument(level = "debug", skip(self))]
    pub async fn cancel(&self, op: &str) -> Result<usize> {
        let targets = self.ops.cancel(op);
        let mut by_ep: HashMap<Endpoint, Vec<i32>> = HashMap::new();
        for (ep, pid) in targets {
            by_ep.entry(ep).or_default().push(pid);
        }
        let mut signalled = 0;
        for (ep, pids) in by_ep {
            let mut conn = self.connect_once(&ep).await?;
            for pid in pids {
                let ok: Option<bool> = sqlx::query_scalar("SELECT pg_cancel_backend($1)")
                    .bind(pid)
                    .fetch_one(&mut conn)
                    .await
                    .map_err(|e| map_query_error(e, &ep))?;
                if ok == Some(true) {
                    signalled += 1;
                }
                tracing::debug!(pid, database = %ep.database, ok, "pg_cancel_backend");
            }
            let _ = conn.close().await;
        }
        Ok(signalled)
    }

    /// The ids of the operations running now.
    pub fn running_ops(&self) -> Vec<String> {
        self.ops.running()
    }

    /// Closes every pool (on exit).
    pub async fn close(&self) {
        let pools: Vec<PgPool> = self.pools.write().await.drain().map(|(_, p)| p).collect();
        for p in pools {
            p.close().await;
        }
        tracing::debug!(profile = %self.profile.name, "pools closed");
    }

    async fn classify(&self, ep: &Endpoint, e: sqlx::Error) -> CoreError {
        let tls = self.tls_for(ep).clone();
        let server = ep.server();
        match e {
            sqlx::Error::Tls(inner) => {
                let detail = error_chain(inner.as_ref());
                if detail.contains("does not support TLS") {
                    return CoreError::TlsNotSupported {
                        server,
                        sslmode: tls.effective_mode().to_string(),
                    };
                }
                classify_tls_detail(ep, &tls, detail, self.connect_timeout()).await
            }
            sqlx::Error::Io(io) => {
                let detail = io.to_string();
                if detail.contains("InvalidCertificate")
                    || detail.contains("invalid peer certificate")
                {
                    return classify_tls_detail(ep, &tls, detail, self.connect_timeout()).await;
                }
                CoreError::Unreachable {
                    server,
                    cause: detail,
                }
            }
            other => map_query_error(other, ep),
        }
    }
}

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
struct Ops {
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

    fn cancel(&self, op: &str) -> Vec<(Endpoint, i32)> {
        let mut ops = self.lock();
        ops.retain(|_, s| s.running || s.since.elapsed() < PENDING_CANCEL_TTL);
        let state = ops.entry(op.to_string()).or_insert_with(OpState::new);
        state.cancelled = true;
        state.notify.notify_one();
        state.pids.iter().cloned().collect()
    }

    fn running(&self) -> Vec<String> {
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
    async fn track(&self, conn: &mut PgConnection, ep: &Endpoint) -> Result<(), sqlx::Error> {
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

async fn classify_tls_detail(
    ep: &Endpoint,
    tls: &TlsSettings,
    detail: String,
    timeout: Duration,
) -> CoreError {
    let server = ep.server();
    if detail.contains("NotValidForName") || detail.contains("not valid for name") {
        return CoreError::TlsWrongHost {
            server,
            detail: short_tls(&detail),
        };
    }
    if detail.contains("UnknownIssuer") || detail.contains("BadSignature") {
        let chain = diagnose::fetch_chain(&ep.host, ep.port, timeout).await;
        return diagnose::untrusted(server, tls, short_tls(&detail), chain.ok());
    }
    CoreError::Tls {
        server,
        detail: short_tls(&detail),
    }
}

fn short_tls(detail: &str) -> String {
    detail
        .trim()
        .trim_start_matches("error communicating with database: ")
        .to_string()
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(src) = cur {
        let t = src.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = src.source();
    }
    s
}

/// Maps an error from a query or a connection to the core's error, with what to do next.
pub fn map_query_error(e: sqlx::Error, ep: &Endpoint) -> CoreError {
    match e {
        sqlx::Error::Database(db) => {
            let code = db.code().map(|c| c.to_string());
            let message = db.message().to_string();
            match code.as_deref() {
                Some("28P01") => CoreError::Authentication {
                    user: ep.user.clone(),
                    server: ep.server(),
                    message,
                },
                Some("28000") if message.contains("no encryption") => CoreError::TlsRequired {
                    server: ep.server(),
                    message,
                },
                Some("28000") => CoreError::Authentication {
                    user: ep.user.clone(),
                    server: ep.server(),
                    message: format!("{message} (the server's pg_hba.conf does not let this user in from here)"),
                },
                Some("3D000") => CoreError::NotFound {
                    what: "database",
                    name: ep.database.clone(),
                    hint: Some(format!("it does not exist on {}; `bsi databases` lists the Backstage databases there", ep.server())),
                },
                Some("25006") => CoreError::ReadOnly { message },
                Some("57014") if message.contains("user request") => CoreError::Cancelled,
                // A table or column that was read with the schema is gone (an upgrade or a
                // manual change since): the view degrades; callers read the schema again.
                Some("42P01" | "42703") => CoreError::SchemaDegraded {
                    view: format!("this view of {}", ep.database),
                    reason: format!("{message}; the schema changed since it was read, try again"),
                },
                Some("57014") => CoreError::Timeout {
                    what: "the query".to_string(),
                    after: Duration::ZERO,
                    hint: Some(format!("{message}; the profile's statement timeout stopped it")),
                },
                Some("42501") => CoreError::Database {
                    code,
                    message: format!("{message}; the user `{}` lacks a privilege for this", ep.user),
                },
                _ => CoreError::Database { code, message },
            }
        }
        sqlx::Error::PoolTimedOut => CoreError::Timeout {
            what: format!("waiting for a connection to {} / {}", ep.server(), ep.database),
            after: Duration::ZERO,
            hint: Some("all pooled connections are busy or the server stopped answering; raise pool.max_connections or acquire_timeout_secs".to_string()),
        },
        sqlx::Error::PoolClosed => CoreError::Cancelled,
        sqlx::Error::Io(io) => CoreError::Unreachable {
            server: ep.server(),
            cause: io.to_string(),
        },
        sqlx::Error::Tls(t) => CoreError::Tls {
            server: ep.server(),
            detail: error_chain(t.as_ref()),
        },
        sqlx::Error::RowNotFound => CoreError::not_found("row", ep.database.clone()),
        other => CoreError::Database {
            code: None,
            message: other.to_string(),
        },
    }
}

pub use sqlx::postgres::PgPool;
