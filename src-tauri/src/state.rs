//! The app's state: which profile this window has open, its password for this run, and its
//! connections.
//!
//! A window starts with the launch profile (`--profile NAME` or `BSI_PROFILE`), if any, and can
//! open another at runtime ([`AppState::open`]). The password comes from the caller (kept in
//! memory for this run only, for machines without a usable keyring) or else from the OS keyring
//! (looked up by the core's `Credentials::resolve`).
//! Connections are created lazily and replaced whenever the profile or its write mode changes;
//! the old pools are closed. The `RwLock` guards are never held across a database await.
//!
//! The first screen is read at launch ([`AppState::warm_up`]), while the webview starts: the
//! password, the connections and the overview (which holds the discovery), once. The window's
//! first `app_status` and `overview` take that read instead of making their own.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bsi_core::connect::Connections;
use bsi_core::discovery::Discovery;
use bsi_core::installations::Layout;
use bsi_core::overview::Overview;
use bsi_core::profile::{Profile, ProfileStore};
use bsi_core::secrets::{Credentials, PasswordSources, Secret};
use bsi_core::{CoreError, Result};
use tokio::sync::{OnceCell, RwLock};

/// How long the launch's read stands for the first screen: past this, the window reads afresh.
const WARM_FOR: Duration = Duration::from_secs(30);

/// The first screen read at launch: the connections it was read through and their overview
/// (`None`: it failed; the window's own read then says why).
struct Warm {
    at: Instant,
    read: OnceCell<Option<(Arc<Connections>, Overview)>>,
}

/// What the app was started with.
#[derive(Debug, Clone, Default)]
pub struct Launch {
    pub profile: Option<String>,
}

impl Launch {
    pub fn from_args(args: impl Iterator<Item = String>) -> Self {
        let mut profile = std::env::var("BSI_PROFILE").ok().filter(|p| !p.is_empty());
        let mut args = args.peekable();
        while let Some(a) = args.next() {
            if a == "--profile" {
                profile = args.next();
            } else if let Some(v) = a.strip_prefix("--profile=") {
                profile = Some(v.to_string());
            }
        }
        Self { profile }
    }
}

/// The profile chosen for this window, the password given for this run, if any, and the
/// installation it was switched to for this run, if any.
#[derive(Debug, Clone)]
struct Selection {
    name: String,
    password: Option<Secret>,
    layout: Option<Layout>,
}

pub struct AppState {
    pub launch: Launch,
    /// The profile file; `None`: the OS config folder (`BSI_CONFIG_DIR` overrides it).
    profiles: Option<PathBuf>,
    selection: RwLock<Option<Selection>>,
    conns: RwLock<Option<Arc<Connections>>>,
    warm: Mutex<Option<Arc<Warm>>>,
}

impl AppState {
    pub fn new(launch: Launch) -> Self {
        let selection = launch.profile.clone().map(|name| Selection {
            name,
            password: None,
            layout: None,
        });
        Self {
            launch,
            profiles: None,
            selection: RwLock::new(selection),
            conns: RwLock::new(None),
            warm: Mutex::new(None),
        }
    }

    /// The same with the profiles kept in the file `profiles` (tests, portable set-ups).
    pub fn with_profile_file(launch: Launch, profiles: impl Into<PathBuf>) -> Self {
        Self {
            profiles: Some(profiles.into()),
            ..Self::new(launch)
        }
    }

    /// The profile store of this app.
    pub fn store(&self) -> Result<ProfileStore> {
        match &self.profiles {
            Some(p) => Ok(ProfileStore::at(p.clone())),
            None => ProfileStore::open_default(),
        }
    }

    /// The name of the profile this window has open, if any.
    pub async fn profile_name(&self) -> Option<String> {
        self.selection.read().await.as_ref().map(|s| s.name.clone())
    }

    /// The profile this window has open, read afresh from the profile file, pointed at the
    /// installation chosen for this run, if any.
    pub async fn profile(&self) -> Result<Option<Profile>> {
        let selection = self.selection.read().await.clone();
        match selection {
            None => Ok(None),
            Some(s) => self.selected_profile(&s).map(Some),
        }
    }

    fn selected_profile(&self, s: &Selection) -> Result<Profile> {
        let mut profile = self.store()?.get(&s.name)?;
        if let Some(layout) = &s.layout {
            layout.apply(&mut profile)?;
        }
        Ok(profile)
    }

    /// The installation this run was switched to, if any.
    pub async fn switched(&self) -> Option<Layout> {
        self.selection
            .read()
            .await
            .as_ref()
            .and_then(|s| s.layout.clone())
    }

    /// Points this run of the open profile at another installation on its server (`None`: the
    /// saved layout again); the profile file is not changed. The connections are replaced.
    pub async fn switch_layout(&self, layout: Option<Layout>) -> Result<Profile> {
        let mut guard = self.selection.write().await;
        let selection = guard.as_mut().ok_or_else(|| {
            CoreError::config("no profile is open: open one before choosing an installation")
        })?;
        let mut next = selection.clone();
        next.layout = layout;
        let profile = self.selected_profile(&next)?;
        *selection = next;
        drop(guard);
        self.reset().await;
        Ok(profile)
    }

    /// Opens `name` for this window. `password` is kept in memory for this run only; without
    /// it the OS keyring is asked when the first connection is made. The previous connections
    /// are closed.
    pub async fn open(&self, name: &str, password: Option<Secret>) -> Result<Profile> {
        let profile = self.store()?.get(name)?;
        *self.selection.write().await = Some(Selection {
            name: profile.name.clone(),
            password,
            layout: None,
        });
        self.reset().await;
        Ok(profile)
    }

    /// Forgets the open profile and closes its connections.
    pub async fn close_profile(&self) {
        *self.selection.write().await = None;
        self.reset().await;
    }

    /// Reads the first screen (password, connections, overview) for the launch profile, if
    /// any, so that it is under way while the webview starts. Failures are left to the window's
    /// own calls, which report them.
    pub async fn warm_up(&self) {
        if self.selection.read().await.is_none() {
            return;
        }
        let warm = Arc::new(Warm {
            at: Instant::now(),
            read: OnceCell::new(),
        });
        *self.warm_slot() = Some(warm.clone());
        warm.read.get_or_init(|| self.read_first_screen()).await;
    }

    async fn read_first_screen(&self) -> Option<(Arc<Connections>, Overview)> {
        let conns = self.connections().await.ok()?;
        let overview = conns
            .watch(Box::pin(bsi_core::overview::overview(&conns)))
            .await
            .ok()?;
        Some((conns, overview))
    }

    fn warm_slot(&self) -> std::sync::MutexGuard<'_, Option<Arc<Warm>>> {
        self.warm
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The discovery of the overview read at launch, when it is still young and was read
    /// through the connections open now (waiting for it when it is under way).
    pub async fn first_discovery(&self) -> Option<Discovery> {
        self.first_screen(false, |o| o.discovery.clone()).await
    }

    /// The overview read at launch, on the same terms, for the window to show: later calls
    /// read afresh.
    pub async fn take_first_screen(&self) -> Option<Overview> {
        self.first_screen(true, Overview::clone).await
    }

    async fn first_screen<R>(&self, take: bool, pick: impl FnOnce(&Overview) -> R) -> Option<R> {
        let warm = self.warm_slot().clone()?;
        if warm.at.elapsed() > WARM_FOR {
            return None;
        }
        let (conns, overview) = warm
            .read
            .get_or_init(|| self.read_first_screen())
            .await
            .as_ref()?;
        let now = self.conns.read().await.clone()?;
        if !Arc::ptr_eq(conns, &now) {
            return None;
        }
        let picked = pick(overview);
        if take {
            // Taken: the slot no longer holds it (unless a reset put another there).
            let mut slot = self.warm_slot();
            if slot.as_ref().is_some_and(|w| Arc::ptr_eq(w, &warm)) {
                *slot = None;
            }
        }
        Some(picked)
    }

    /// Closes the connections; the next command opens new ones (after a profile change).
    pub async fn reset(&self) {
        *self.warm_slot() = None;
        let old = self.conns.write().await.take();
        if let Some(c) = old {
            c.close().await;
        }
    }

    /// The connections of the open profile, created on first use.
    pub async fn connections(&self) -> Result<Arc<Connections>> {
        if let Some(c) = self.conns.read().await.as_ref() {
            return Ok(c.clone());
        }
        // Made under the write lock, which `reset` takes too: connections made from the
        // profile as it was before a change (another installation, a new password, write
        // mode) are in place before the change's reset, which closes them, and never after it.
        let mut guard = self.conns.write().await;
        if let Some(c) = guard.as_ref() {
            return Ok(c.clone());
        }
        let selection = self.selection.read().await.clone().ok_or_else(|| {
            CoreError::config(
                "no profile is open: choose one (open_profile), or start the app with --profile NAME",
            )
        })?;
        let profile = self.selected_profile(&selection)?;
        // The password of this run, else the keyring's; a keyring that cannot be used is not
        // an error when a password was given.
        let sources = PasswordSources {
            for_run: selection.password,
            command: profile.password_command.clone(),
            keyring: Some(profile.keyring_accounts()),
            ..PasswordSources::default()
        };
        let creds = Credentials::resolve(sources, None).await?;
        let conns =
            Connections::with_plugin_passwords(profile, creds.password, creds.plugin_passwords);
        Ok(guard.insert(conns).clone())
    }

    /// Runs `fut` with the open profile's connections, as the cancellable operation `op` when
    /// an id is given.
    pub async fn run<T, F, Fut>(&self, op: Option<String>, f: F) -> Result<T>
    where
        F: FnOnce(Arc<Connections>) -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        let conns = self.connections().await?;
        // Boxed: a core read's future is large, and held inline by every wrapper up to the
        // command's (each a stack frame of its size in a debug build), it overflows the 2 MiB
        // stack of a runtime worker thread.
        let fut = Box::pin(f(conns.clone()));
        let res = match op {
            Some(op) => conns.run_op(&op, fut).await,
            None => conns.watch(fut).await,
        };
        // A pool that timed out says why when a fresh connection tells it.
        let res = match res {
            Err(e) => Err(conns.explain(e).await),
            ok => ok,
        };
        if let Err(CoreError::Authentication { .. }) = &res
            && conns.profile().password_command.is_some()
        {
            // A password command's token may have expired: the next action runs it again.
            self.reset_if(&conns).await;
        }
        if let Err(CoreError::SchemaDegraded { .. }) = &res {
            // The next try reads the live schema again (a table may have come back).
            conns.forget_views();
        }
        res
    }

    /// Closes `conns` if they are still the open profile's (and not ones made since).
    async fn reset_if(&self, conns: &Arc<Connections>) {
        let mut guard = self.conns.write().await;
        if guard.as_ref().is_some_and(|c| Arc::ptr_eq(c, conns)) {
            let old = guard.take();
            drop(guard);
            if let Some(c) = old {
                c.close().await;
            }
        }
    }

    /// Cancels the operation `op` of the open profile (also one that has not reached the
    /// connections yet); 0 when no profile is open.
    pub async fn cancel(&self, op: &str) -> Result<usize> {
        let conns = self.conns.read().await.clone();
        match conns {
            Some(c) => c.cancel(op).await,
            None if self.selection.read().await.is_some() => {
                self.connections().await?.cancel(op).await
            }
            None => Ok(0),
        }
    }

    pub async fn close(&self) {
        self.reset().await;
    }
}
