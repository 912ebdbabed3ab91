//! The profile file: TOML in the OS config directory, read whole and written atomically
//! (temporary file in the same directory, fsync, rename).

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::settings::{Profile, validate_name};
use crate::error::{CoreError, ErrorCode, Result};
/// The profile file: `profiles.toml` in the OS config directory.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct ProfileFile {
    #[serde(default, rename = "profile")]
    profiles: Vec<Profile>,
}

/// Reads and writes the profile file.
#[derive(Debug, Clone)]
pub struct ProfileStore {
    path: PathBuf,
}

impl ProfileStore {
    /// The store in the OS config directory (`$BSI_CONFIG_DIR` overrides it). Debug builds use
    /// their own folder so that development never touches a user's real profiles.
    pub fn open_default() -> Result<Self> {
        Ok(Self::at(config_dir()?.join("profiles.toml")))
    }

    pub fn at(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn list(&self) -> Result<Vec<Profile>> {
        Ok(self.read()?.profiles)
    }

    pub fn get(&self, name: &str) -> Result<Profile> {
        self.read()?
            .profiles
            .into_iter()
            .find(|p| p.name == name)
            .ok_or_else(|| CoreError::NotFound {
                what: "profile",
                name: name.to_string(),
                hint: Some("`bsi profile list` shows the saved profiles".to_string()),
            })
    }

    /// The saved profile that adding `name` changes: `None` for a new one. Without `update` an
    /// existing profile is refused (never replaced by accident); with it, a missing one is.
    pub fn for_change(&self, name: &str, update: bool) -> Result<Option<Profile>> {
        validate_name(name)?;
        let existing = match self.get(name) {
            Ok(p) => Some(p),
            Err(e) if e.code() == ErrorCode::NotFound => None,
            Err(e) => return Err(e),
        };
        match (existing, update) {
            (Some(_), false) => Err(already_exists(name)),
            (None, true) => Err(CoreError::not_found("profile", name.to_string())),
            (existing, _) => Ok(existing),
        }
    }

    /// Refuses to replace the saved profile `name` unless `update`: for a profile made whole
    /// from elsewhere (app-config files), which replaces the saved one.
    pub fn check_replace(&self, name: &str, update: bool) -> Result<()> {
        validate_name(name)?;
        if !update && self.get(name).is_ok() {
            return Err(already_exists(name));
        }
        Ok(())
    }

    /// Adds or replaces a profile.
    pub fn save(&self, profile: &Profile) -> Result<()> {
        profile.validate()?;
        let mut file = self.read()?;
        match file.profiles.iter_mut().find(|p| p.name == profile.name) {
            Some(existing) => *existing = profile.clone(),
            None => file.profiles.push(profile.clone()),
        }
        file.profiles.sort_by(|a, b| a.name.cmp(&b.name));
        self.write(&file)
    }

    /// Removes a profile; returns whether it existed.
    pub fn remove(&self, name: &str) -> Result<bool> {
        let mut file = self.read()?;
        let before = file.profiles.len();
        file.profiles.retain(|p| p.name != name);
        if file.profiles.len() == before {
            return Ok(false);
        }
        self.write(&file)?;
        Ok(true)
    }

    fn read(&self) -> Result<ProfileFile> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(ProfileFile::default()),
            Err(e) => return Err(CoreError::io("cannot read", &self.path, e)),
        };
        toml::from_str(&text).map_err(|e| {
            CoreError::config(format!(
                "the profile file {} is not valid: {}; fix it by hand or remove the broken profile",
                self.path.display(),
                e.to_string().trim()
            ))
        })
    }

    fn write(&self, file: &ProfileFile) -> Result<()> {
        let body = toml::to_string_pretty(file)
            .map_err(|e| CoreError::Internal(format!("cannot serialise profiles: {e}")))?;
        let text = format!(
            "# Backstage Inspector connection profiles. Passwords are never stored here: they live\n\
             # in the OS keyring. Edit with care or use `bsi profile add/remove`.\n\n{body}"
        );
        write_atomic(&self.path, text.as_bytes())
    }
}

fn already_exists(name: &str) -> CoreError {
    CoreError::config(format!(
        "profile `{name}` already exists; update it (bsi: --update) or choose another name"
    ))
}

/// The config folder: `$BSI_CONFIG_DIR`, else the OS config directory.
pub fn config_dir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("BSI_CONFIG_DIR").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    let app = if cfg!(debug_assertions) {
        "backstage-inspector-dev"
    } else {
        "backstage-inspector"
    };
    directories::ProjectDirs::from("", "", app)
        .map(|d| d.config_dir().to_path_buf())
        .ok_or_else(|| {
            CoreError::config(
                "cannot find the home directory; set BSI_CONFIG_DIR to a folder for the profiles",
            )
        })
}

/// Writes `bytes` to `path` atomically: a temporary file in the same folder, fsync, rename.
/// A crash leaves either the old file or the new one, never half of one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| CoreError::io("cannot create", dir, e))?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .map_err(|e| CoreError::io("cannot write in", dir, e))?;
    tmp.write_all(bytes)
        .and_then(|_| tmp.as_file().sync_all())
        .map_err(|e| CoreError::io("cannot write", tmp.path().to_path_buf(), e))?;
    tmp.persist(path)
        .map_err(|e| CoreError::io("cannot replace", path, e.error))?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::settings::PluginOverride;

    #[test]
    fn round_trip_and_atomic_replace() {
        let dir = tempfile::tempdir().unwrap();
        let store = ProfileStore::at(dir.path().join("sub/profiles.toml"));
        assert!(store.list().unwrap().is_empty());
        let mut p = Profile::new("prod", "db.example.com", "backstage");
        p.plugins.insert(
            "scaffolder".into(),
            PluginOverride {
                host: Some("other".into()),
                own_password: true,
                ..Default::default()
            },
        );
        store.save(&p).unwrap();
        p.write_mode = true;
        store.save(&p).unwrap();
        let all = store.list().unwrap();
        assert_eq!(all, vec![p.clone()]);
        assert_eq!(
            store.get("prod").unwrap().plugin_database("catalog"),
            "backstage_plugin_catalog"
        );
        assert_eq!(
            std::fs::read_dir(dir.path().join("sub")).unwrap().count(),
            1,
            "no temp file left"
        );
        assert!(store.remove("prod").unwrap());
        assert!(!store.remove("prod").unwrap());
        assert_eq!(
            store.get("prod").unwrap_err().code(),
            crate::ErrorCode::NotFound
        );
    }

    #[test]
    fn broken_file_is_a_clear_error_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("profiles.toml");
        std::fs::write(&path, "[[profile]]\nname = 3\n").unwrap();
        let store = ProfileStore::at(&path);
        let e = store.list().unwrap_err().to_string();
        assert!(
            e.contains("profiles.toml") && e.contains("not valid"),
            "{e}"
        );
        assert!(store.save(&Profile::new("x", "h", "u")).is_err());
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "[[profile]]\nname = 3\n"
        );
    }

    #[test]
    fn changing_needs_update_for_a_saved_profile_and_a_saved_profile_for_update() {
        let dir = tempfile::tempdir().unwrap();
        let store = ProfileStore::at(dir.path().join("profiles.toml"));
        assert_eq!(store.for_change("new", false).unwrap(), None);
        assert_eq!(
            store.for_change("new", true).unwrap_err().code(),
            ErrorCode::NotFound
        );
        assert!(store.for_change("a/b", false).is_err());
        let p = Profile::new("prod", "h", "u");
        store.save(&p).unwrap();
        assert_eq!(
            store.for_change("prod", false).unwrap_err().code(),
            ErrorCode::Config
        );
        assert_eq!(store.for_change("prod", true).unwrap(), Some(p));
        assert!(store.check_replace("prod", false).is_err());
        assert!(store.check_replace("prod", true).is_ok());
        assert!(store.check_replace("other", false).is_ok());
    }
}
