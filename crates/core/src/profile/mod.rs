//! Connection profiles: what a server is, how its Backstage databases are laid out, TLS, pool
//! limits and write mode; the profile file; and the ways to make a profile (libpq strings,
//! `PG*` variables, the fields a user gives; `app-config.yaml` lives in [`crate::appconfig`]).
//!
//! A profile never holds a secret. Passwords go to the OS keyring ([`crate::secrets`]) under
//! the profile's name; the profile file is TOML in the OS config directory, written atomically
//! (temporary file in the same directory, fsync, rename).
//!
//! The rooms, each building only on those listed before it:
//! - `settings`: [`Profile`] and its parts ([`DivisionMode`], [`PoolSettings`],
//!   [`PluginOverride`], [`SshSettings`]), a profile from a parsed connection string, name rules;
//! - `store`: the profile file ([`ProfileStore`]), the config folder, atomic writes;
//! - `patch`: making or changing a profile from user input ([`ProfilePatch`], and the app's
//!   form, [`ProfileInput`]).

mod patch;
mod settings;
mod store;

pub use patch::{ProfileInput, ProfilePatch};
pub use settings::{
    AuthMethod, CloudsqlIpType, CloudsqlRoute, ConnectionType, DEFAULT_MAINTENANCE_DB,
    DEFAULT_PREFIX, DivisionMode, PluginOverride, PoolSettings, Profile, SshSettings,
    validate_name,
};
pub use store::{ProfileStore, config_dir, write_atomic};
