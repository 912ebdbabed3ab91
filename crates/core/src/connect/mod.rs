//! Connections: one bounded, lazily created `PgPool` per database, TLS per the profile,
//! timeouts, read-only sessions unless the profile is in write mode, the one write-mode guard
//! ([`Connections::require_write`]), and the classification of every connection failure into an
//! error the user can act on.
//!
//! Every session is started with `default_transaction_read_only=on` in its startup packet
//! (no extra round trip) unless write mode is on, plus `statement_timeout` and
//! `application_name`. Pools live in a map behind an `RwLock`: a pool is cloned out and the
//! guard dropped before any await on the database.
//!
//! Operations ([`Connections::run_op`]) can be cancelled on the server: while an operation runs,
//! every connection it takes from a pool records its backend pid under the operation's id, and
//! [`Connections::cancel`] sends `pg_cancel_backend` for those pids over a separate connection.
//! That writes nothing, so it works in read-only mode too. The cancelled query fails with
//! SQLSTATE 57014 and the operation with [`CoreError::Cancelled`].
//!
//! The rooms, each building only on those listed before it:
//! - `endpoint`: [`Endpoint`], where one database lives;
//! - `classify`: error classification ([`map_query_error`] and connection failures);
//! - `options`: connect options, TLS, timeouts and session settings, one connection opened;
//! - `tunnel`: the SSH tunnel of a profile (the system's `ssh`), started on first use and again
//!   when it has ended;
//! - `cloudsql`: the Cloud SQL connector route (a loopback port forwarded over TLS with an
//!   ephemeral client certificate to the instance);
//! - `route`: which of these a connection goes through, and what they say when it fails;
//! - `cancel`: operations and the server sessions they hold, cancelled on the server;
//! - `health`: stalls a pool hides (a query the network left waiting) and lean mode for a
//!   role at its connection limit;
//! - this file: [`Connections`] (the pools, endpoints, views reused, the write-mode guard) and
//!   [`ServerInfo`].

mod cancel;
mod classify;
mod cloudsql;
mod endpoint;
mod health;
mod options;
mod route;
mod stages;
mod tunnel;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::Connection;
use sqlx::postgres::{PgConnection, PgPoolOptions};
use tokio::sync::RwLock;

use crate::cloudauth::TokenSource;
use crate::error::{CoreError, Result};
use crate::profile::Profile;
use crate::secrets::Secret;
use crate::tls::TlsSettings;

use cancel::Ops;
use cloudsql::Connector;
use health::Health;
use options::{PlainRefused, SessionSettings};
use tunnel::Tunnel;

pub use cancel::in_current_op;
pub use classify::map_query_error;
pub use endpoint::{Endpoint, Timeouts};
pub use sqlx::postgres::PgPool;
pub use stages::{
    ServerInfo, Stage, StageName, StageOutcome, StagedTest, stage_lines, test_profile,
};

/// Whether `e` is a role's connection limit (SQLSTATE 53300 "for role").
fn is_role_limit(e: &CoreError) -> bool {
    matches!(e, CoreError::Database { code: Some(c), message } if c == "53300" && message.contains("connection limit"))
}

/// The connections of one profile.
pub struct Connections {
    profile: Profile,
    write_mode: bool,
    password: Option<Secret>,
    plugin_passwords: HashMap<String, Secret>,
    /// Token authentication: a fresh token is the password of every new connection.
    tokens: Option<Arc<TokenSource>>,
    pools: RwLock<HashMap<Endpoint, PgPool>>,
    ops: Arc<Ops>,
    health: Arc<Health>,
    handles: Mutex<HashMap<std::any::TypeId, Handle>>,
    /// The SSH tunnel every connection goes through, when the profile has one.
    tunnel: Option<Tunnel>,
    /// Servers that refused a plain session under `sslmode=allow`: TLS from then on.
    plain_refused: PlainRefused,
    /// The Cloud SQL connector every connection goes through, on that route.
    cloudsql: Option<Connector>,
    /// Why the connector cannot be made (an instance name missing or malformed).
    cloudsql_error: Option<String>,
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
        Self::with_plugin_passwords(profile, password, HashMap::new())
    }

    pub fn with_plugin_passwords(
        profile: Profile,
        password: Option<Secret>,
        plugin_passwords: HashMap<String, Secret>,
    ) -> Arc<Self> {
        let tokens = TokenSource::for_profile(&profile).map(Arc::new);
        Arc::new(Self::make(profile, password, plugin_passwords, tokens))
    }

    fn make(
        profile: Profile,
        password: Option<Secret>,
        plugin_passwords: HashMap<String, Secret>,
        tokens: Option<Arc<TokenSource>>,
    ) -> Self {
        let write_mode = profile.write_mode;
        let profile_statement_secs = profile.pool.statement_timeout_secs;
        let tunnel = Tunnel::of(&profile);
        let (cloudsql, cloudsql_error) = match Connector::of(&profile, tokens.as_ref()) {
            Ok(c) => (c, None),
            Err(e) => (None, Some(e.to_string())),
        };
        Self {
            tokens,
            profile,
            write_mode,
            password,
            plugin_passwords,
            pools: RwLock::new(HashMap::new()),
            ops: Arc::new(Ops::default()),
            health: Arc::new(Health::new(profile_statement_secs)),
            handles: Mutex::new(HashMap::new()),
            tunnel,
            plain_refused: PlainRefused::default(),
            cloudsql,
            cloudsql_error,
        }
    }

    /// Connections whose passwords are tokens from `tokens` (an environment and clock of the
    /// caller's choosing; [`Connections::new`] uses the process's).
    pub fn with_token_source(profile: Profile, tokens: TokenSource) -> Arc<Self> {
        let tokens = Some(Arc::new(tokens));
        Arc::new(Self::make(profile, None, HashMap::new(), tokens))
    }

    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    pub fn write_mode(&self) -> bool {
        self.write_mode
    }

    /// The typed confirmation of a write: `typed` must be `expected` (a profile's or a
    /// database's name), else a config error asking `to {action}, type {what} `expected``.
    pub fn confirm_typed(typed: &str, expected: &str, action: &str, what: &str) -> Result<()> {
        if typed == expected {
            Ok(())
        } else {
            Err(CoreError::config(format!(
                "to {action}, type {what} `{expected}` to confirm"
            )))
        }
    }

    /// The write-mode guard of every write: `Ok` in write mode, else [`CoreError::ReadOnly`]
    /// saying that `what` writes to the database (for example "applying migrations").
    pub fn require_write(&self, what: &str) -> Result<()> {
        if self.write_mode {
            Ok(())
        } else {
            Err(CoreError::ReadOnly {
                message: format!("{what} writes to the database"),
            })
        }
    }

    /// The endpoint of a database on the profile's own server.
    pub fn endpoint(&self, database: &str) -> Endpoint {
        Endpoint {
            host: self.profile.host.clone(),
            port: self.profile.port,
            user: self.profile.user.clone(),
            database: database.to_string(),
            timeouts: self.timeouts(),
        }
    }

    /// The profile's session timeouts, carried by its endpoints.
    fn timeouts(&self) -> Timeouts {
        Timeouts {
            acquire_secs: self.profile.pool.acquire_timeout_secs.max(1),
            statement_secs: self.profile.pool.statement_timeout_secs,
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
            timeouts: self.timeouts(),
        }
    }

    fn tls_for(&self, ep: &Endpoint) -> &TlsSettings {
        // The connector's own TLS carries the session: PostgreSQL runs plain inside it.
        static INSIDE_CONNECTOR: std::sync::LazyLock<TlsSettings> =
            std::sync::LazyLock::new(|| TlsSettings {
                sslmode: crate::tls::SslMode::Disable,
                ..TlsSettings::default()
            });
        if self.cloudsql.is_some() {
            return &INSIDE_CONNECTOR;
        }
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

    /// A current token for a new connection to `ep` with token authentication (the cached one
    /// while it has more than [`crate::cloudauth::RENEW_BEFORE`] left).
    async fn token_for(&self, ep: &Endpoint) -> Result<Option<Secret>> {
        let Some(tokens) = &self.tokens else {
            return Ok(None);
        };
        tokens.check_tls(self.tls_for(ep))?;
        Box::pin(tokens.token(&ep.host, ep.port, &ep.user))
            .await
            .map(Some)
    }

    /// What a session to `ep` is opened with: its password and TLS, the pool's timeouts, and
    /// read-only unless write mode is on.
    fn session(&self, ep: &Endpoint, via: Option<u16>) -> SessionSettings<'_> {
        SessionSettings {
            password: self.password_for(ep),
            tls: self.tls_for(ep),
            pool: &self.profile.pool,
            write_mode: self.write_mode,
            via,
            tls_after_refusal: self.plain_refused.contains(&ep.server()),
        }
    }

    /// Opens one connection outside any pool, with the connect timeout, and classifies
    /// failures precisely. A role at its connection limit turns on lean mode: the idle
    /// connections of the pools are closed and the connection is tried again until the connect
    /// timeout.
    // Not an `async fn`, so that no wrapper future adds to the size of every caller's.
    pub fn connect_once<'a>(
        &'a self,
        ep: &'a Endpoint,
    ) -> impl std::future::Future<Output = Result<PgConnection>> + Send + 'a {
        // The route's failures so far: a new one names why this connection failed.
        let failures = self.route_failures();
        async move {
            let via = self.route(ep).await?;
            let token = self.token_for(ep).await?;
            let mut session = self.session(ep, via);
            if token.is_some() {
                session.password = token.as_ref();
            }
            let deadline = Instant::now() + session.connect_timeout();
            let mut pause = Duration::from_millis(20);
            loop {
                // Boxed: the classification of a failure is a large future, and this loop
                // would otherwise carry it in every caller's.
                match Box::pin(session.connect_once(ep)).await {
                    Err(e) if is_role_limit(&e) && Instant::now() + pause < deadline => {
                        self.health.set_lean();
                        self.release_idle().await;
                        tokio::time::sleep(pause).await;
                        pause = (pause * 2).min(Duration::from_millis(500));
                    }
                    // `allow`: the server refused plain, so TLS, as libpq tries next.
                    Err(e) if session.plain_was_refused(&e) => {
                        self.plain_refused.insert(ep.server());
                        session.tls_after_refusal = true;
                    }
                    Err(e) => return Err(self.through_route(e, ep, failures).await),
                    other => return other,
                }
            }
        }
    }

    /// Closes the idle connections of every pool (the pools stay usable and open new ones
    /// when needed).
    pub async fn release_idle(&self) {
        let pools: Vec<PgPool> = self.pools.read().await.values().cloned().collect();
        let mut closed = 0;
        for pool in pools {
            while let Some(conn) = pool.try_acquire() {
                let _ = conn.close().await;
                closed += 1;
            }
        }
        tracing::debug!(closed, "idle pooled connections closed");
    }

    /// How many connections are out of their pools now (`None` while the pools are being
    /// changed).
    fn connections_out(&self) -> Option<usize> {
        let pools = self.pools.try_read().ok()?;
        Some(
            pools
                .values()
                .map(|p| (p.size() as usize).saturating_sub(p.num_idle()))
                .sum(),
        )
    }

    /// Runs `fut`, ending it with [`CoreError::Stalled`] when a query of these connections
    /// gets no answer for longer than the statement timeout lets it run (checked every
    /// second). Without a statement timeout, `fut` runs as it is.
    pub async fn watch<T>(&self, fut: impl std::future::Future<Output = Result<T>>) -> Result<T> {
        if self.health.stall_after().is_none() {
            return fut.await;
        }
        tokio::pin!(fut);
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                r = &mut fut => return r,
                _ = tick.tick() => {
                    let out = self.connections_out().unwrap_or(0);
                    if let Some(e) = self.health.stalled(out) {
                        tracing::debug!(error = %e, "operation ended: the network stalled");
                        return Err(e);
                    }
                }
            }
        }
    }

    /// `err` with its cause when a fresh connection tells it: a pool that timed out waiting for
    /// a connection because none could be opened (the role at its connection limit, the server
    /// full or gone) says so rather than that its connections stayed busy.
    pub async fn explain(&self, err: CoreError) -> CoreError {
        let CoreError::PoolTimeout {
            server, database, ..
        } = &err
        else {
            return err;
        };
        let ep = self
            .pools
            .read()
            .await
            .keys()
            .find(|ep| ep.server() == *server && ep.database == *database)
            .cloned();
        let Some(ep) = ep else { return err };
        match self.connect_once(&ep).await {
            Ok(conn) => {
                let _ = conn.close().await;
                err
            }
            Err(cause) => {
                tracing::debug!(%cause, "why the pool timed out");
                cause
            }
        }
    }

    /// The pool of a database, created on first use after a checked first connection.
    pub async fn pool(&self, ep: &Endpoint) -> Result<PgPool> {
        let via = self.route(ep).await?;
        if let Some(pool) = self.pools.read().await.get(ep).cloned() {
            // The pool's next connections sign in with a current token.
            if let Some(token) = self.token_for(ep).await? {
                let mut session = self.session(ep, via);
                session.password = Some(&token);
                pool.set_connect_options(session.options(ep));
            }
            return Ok(pool);
        }
        // First use: a real connection tells apart every failure before the pool hides it.
        let mut conn = self.connect_once(ep).await?;
        let max = self.pool_size_for(&mut conn).await;
        let _ = conn.close().await;
        let mut pools = self.pools.write().await;
        if let Some(pool) = pools.get(ep) {
            return Ok(pool.clone());
        }
        let (ops_connect, ep_connect) = (self.ops.clone(), ep.clone());
        let (ops_acquire, ep_acquire) = (self.ops.clone(), ep.clone());
        let (health_connect, health_acquire, health_release) = (
            self.health.clone(),
            self.health.clone(),
            self.health.clone(),
        );
        let pool = PgPoolOptions::new()
            .after_connect(move |conn, _meta| {
                let (ops, ep) = (ops_connect.clone(), ep_connect.clone());
                health_connect.handed_out(&ep.server());
                Box::pin(async move { ops.track(conn, &ep).await })
            })
            .before_acquire(move |conn, _meta| {
                let (ops, ep) = (ops_acquire.clone(), ep_acquire.clone());
                health_acquire.handed_out(&ep.server());
                Box::pin(async move { ops.track(conn, &ep).await.map(|()| true) })
            })
            .after_release(move |_conn, _meta| {
                let keep = health_release.returned();
                Box::pin(async move { Ok(keep) })
            })
            .max_connections(max)
            .min_connections(0)
            .acquire_timeout(Duration::from_secs(
                self.profile.pool.acquire_timeout_secs.max(1),
            ))
            .idle_timeout(Some(Duration::from_secs(300)))
            .connect_lazy_with(self.session(ep, via).options(ep));
        if let Some(token) = self.token_for(ep).await? {
            let mut session = self.session(ep, via);
            session.password = Some(&token);
            pool.set_connect_options(session.options(ep));
        }
        tracing::debug!(server = %ep.server(), database = %ep.database, max, "pool created");
        pools.insert(ep.clone(), pool.clone());
        Ok(pool)
    }

    /// The size of a new pool: the profile's, but never more than the role's own connection
    /// limit (`rolconnlimit`). A pool larger than what the role may open deadlocks under
    /// concurrent reads: a waiter that is opening a connection keeps retrying against the
    /// limit and never takes the one returned meanwhile. A role allowed fewer connections than
    /// one pool holds also turns on lean mode, so that no pool keeps one idle that another
    /// database needs.
    async fn pool_size_for(&self, conn: &mut PgConnection) -> u32 {
        let configured = self.profile.pool.max_connections.max(1);
        let limit: Option<i32> = sqlx::query_scalar(
            "SELECT rolconnlimit FROM pg_catalog.pg_roles WHERE rolname = current_user",
        )
        .fetch_optional(&mut *conn)
        .await
        .ok()
        .flatten();
        match limit {
            Some(n) if n >= 0 && (n as u32) <= configured => {
                self.health.set_lean();
                tracing::debug!(
                    limit = n,
                    "the role's connection limit sizes the pools; lean mode"
                );
                (n as u32).max(1)
            }
            _ => configured,
        }
    }

    /// The pool of a database on the profile's server.
    pub async fn database(&self, database: &str) -> Result<PgPool> {
        self.pool(&self.endpoint(database)).await
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
    // A plain function returning the operation's future, not an `async fn`: a wrapper would
    // hold `fut` twice, and these futures are large.
    pub fn run_op<'a, T>(
        &'a self,
        op: &'a str,
        fut: impl std::future::Future<Output = Result<T>>,
    ) -> impl std::future::Future<Output = Result<T>> {
        self.ops.run(op, self.watch(fut))
    }

    /// Cancels the operation `op`: its running queries are cancelled on the server
    /// (`pg_cancel_backend`, from a separate connection) and [`Connections::run_op`] returns
    /// [`CoreError::Cancelled`]. An operation that has not started yet is cancelled when it
    /// starts. Returns how many server sessions were signalled.
    #[tracing::instrument(level = "debug", skip(self))]
    pub async fn cancel(&self, op: &str) -> Result<usize> {
        let mut signalled = 0;
        for (ep, pids) in self.ops.cancel(op) {
            let mut conn = self.connect_once(&ep).await?;
            signalled += cancel::signal(&mut conn, &ep, &pids).await?;
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
        if let Some(t) = &self.tunnel {
            t.stop().await;
        }
        if let Some(c) = &self.cloudsql {
            c.stop().await;
        }
        tracing::debug!(profile = %self.profile.name, "pools closed");
    }
}
